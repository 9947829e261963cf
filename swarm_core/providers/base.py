"""The provider seam: request and reply types, and the one function that turns HTTP answers into errors."""

from __future__ import annotations

import dataclasses
import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from swarm_core.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from swarm_core.providers.structured import Format
from swarm_core.redact import Redactor

__all__ = [
    "Completion",
    "CompletionRequest",
    "Endpoint",
    "Message",
    "Post",
    "Provider",
    "decipher_response",
    "local_limits",
    "retry_after_seconds",
    "send",
    "summarize",
]

# Anthropic answers 529 when overloaded; 503 is overload elsewhere. Both are transient.
_OVERLOADED = frozenset({429, 503, 529})


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message. `cache` marks the end of a prefix the provider may cache."""

    role: str
    content: str
    cache: bool = False


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """What a lane asks a model.

    `schema` is a JSON schema for the reply: providers that support structured output
    are held to it; the caller parses and validates the reply either way. `on_refused` is
    told of every request a server refused for its structured-output format (the adapter
    then asks again), so the caller's evidence holds every request the server saw.
    """

    model: str
    messages: tuple[Message, ...]
    schema: dict[str, Any] | None = None
    schema_name: str = "result"
    max_tokens: int = 4096
    temperature: float = 0.0
    timeout_s: float = 120.0
    on_refused: Callable[[ProviderError, float], None] | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """A model's reply. `data` is set when the provider returned structured output directly.

    Token counts are None when the provider reported none (the caller estimates them).
    """

    text: str
    data: dict[str, Any] | None
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int = 0


@dataclass(frozen=True)
class Endpoint:
    """Where a provider lives and how to authenticate; the key never appears in repr or logs.

    `first_format` is where structured-output negotiation starts; `strict` asks for strict
    JSON schema (OpenAI). A `local` server serves one model on this machine: `concurrency`
    requests at a time (None: no limit), replies capped at `max_output_tokens`, and each
    call given `timeout_s` once it holds a slot (None: the run's settings).
    """

    name: str
    kind: str  # "openai" (Chat Completions), "anthropic" (Messages) or "ollama" (Ollama's /api/chat)
    base_url: str
    api_key: SecretStr | None = None
    structured: bool = True
    key_env: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    configured: bool = False
    first_format: Format = "json_schema"
    strict: bool = False
    local: bool = False
    concurrency: int | None = None
    max_output_tokens: int | None = None
    timeout_s: float | None = None
    keep_alive: str | int | None = None  # Ollama's native API: how long the server keeps the model loaded

    @property
    def has_key(self) -> bool:
        """True when a key is set (or the endpoint needs none, like a local Ollama)."""
        return self.api_key is not None or not self.key_env

    @property
    def usable(self) -> bool:
        """True when the operator set this provider up: a key, or a base URL for a keyless local server.

        The router only chooses among usable providers; a model named explicitly is
        tried whenever it has the key it needs.
        """
        return self.api_key is not None or (not self.key_env and self.configured)


def local_limits(endpoint: Endpoint, request: CompletionRequest) -> CompletionRequest:
    """`request` within a local endpoint's reply cap and with its call timeout (unchanged elsewhere)."""
    if endpoint.max_output_tokens is not None and request.max_tokens > endpoint.max_output_tokens:
        request = dataclasses.replace(request, max_tokens=endpoint.max_output_tokens)
    if endpoint.timeout_s is not None:
        request = dataclasses.replace(request, timeout_s=endpoint.timeout_s)
    return request


@dataclass(frozen=True, slots=True)
class Post:
    """One JSON POST to a provider: where, with what, within how long, and who to name in errors."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    timeout_s: float
    who: str


class Provider(Protocol):
    """An LLM adapter: one async method (the seam tests fake at the HTTP level)."""

    endpoint: Endpoint

    async def complete(self, request: CompletionRequest) -> Completion:
        """Send one request; raise a ProviderError subclass on failure."""
        ...


def retry_after_seconds(headers: httpx.Headers, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, `Retry-After` (seconds or HTTP date) or a reset header."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value).timestamp()
            except (TypeError, ValueError, IndexError):
                return None
            return max(0.0, when - (time.time() if now is None else now))
    return None


# An error body is kept whole in the exception (and so in redacted evidence); this bound
# only stops a server that answers with a page of HTML from filling the store.
_DETAIL_CHARS = 4000


def _detail(response: httpx.Response) -> str:
    """The provider's own error message; never the request (it may carry a key)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:_DETAIL_CHARS]
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or err.get("type") or "")[:_DETAIL_CHARS]
    if isinstance(err, str):
        return err[:_DETAIL_CHARS]
    if isinstance(body, dict) and isinstance(body.get("detail"), str):  # FastAPI-based servers
        return str(body["detail"])[:_DETAIL_CHARS]
    return ""


def summarize(message: str, limit: int = 200) -> str:
    """`message` on one line, cut at a word boundary within `limit` characters, for people to read."""
    flat = " ".join(message.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def _sent_key_removed(response: httpx.Response, detail: str) -> str:
    """`detail` without the key the request carried: some servers echo it in their error text."""
    try:
        headers = response.request.headers
    except RuntimeError:  # a response built without a request (tests)
        return Redactor().text(detail)
    sent = (headers.get("authorization", "").removeprefix("Bearer ").strip(), headers.get("x-api-key", ""))
    return Redactor(sent).text(detail)


def decipher_response(response: httpx.Response, who: str) -> None:
    """Raise the typed error for a failed HTTP answer; return for a 2xx.

    Raises:
        ProviderAuthError: 401 or 403.
        ProviderRateLimited: 429, 503 or 529 (transient; `retry_after` set when given).
        ProviderUnavailable: any other 5xx.
        ProviderError: any other non-2xx answer (not retryable).
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = _sent_key_removed(response, _detail(response))
    msg = f"{who} answered HTTP {status}" + (f": {detail}" if detail else "")
    if status in (401, 403):
        raise ProviderAuthError(msg + " (check the API key)", status=status)
    if status in _OVERLOADED:
        raise ProviderRateLimited(msg, status=status, retry_after=retry_after_seconds(response.headers))
    if status >= 500:
        raise ProviderUnavailable(msg, status=status, retry_after=retry_after_seconds(response.headers))
    if status in (408, 409):
        raise ProviderUnavailable(msg, status=status)
    raise ProviderError(msg, status=status)


async def send(client: httpx.AsyncClient, post: Post) -> dict[str, Any]:
    """POST JSON and return the decoded reply; every failure becomes a ProviderError."""
    who, timeout_s = post.who, post.timeout_s
    try:
        response = await client.post(post.url, headers=post.headers, json=post.body, timeout=timeout_s)
    except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
        # The server had the request and was working on it: the same request would take as
        # long again, so it is not retried in full (a connect timeout stays retryable).
        timeout = ProviderTimeout(f"{who} did not answer within {timeout_s:g} s")
        timeout.retryable = False
        raise timeout from exc
    except httpx.TimeoutException:
        raise ProviderTimeout(f"{who} did not answer within {timeout_s:g} s") from None
    except httpx.TransportError as exc:
        raise ProviderTimeout(f"cannot reach {who}: {type(exc).__name__}: {exc}") from None
    decipher_response(response, who)
    try:
        data = response.json()
    except ValueError:
        raise ProviderUnavailable(f"{who} answered with a body that is not JSON", status=200) from None
    if not isinstance(data, dict):
        raise ProviderUnavailable(f"{who} answered with JSON that is not an object", status=200)
    return data
