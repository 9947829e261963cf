"""OpenAI-compatible Chat Completions: OpenAI, OpenRouter, DeepSeek, Groq, Gemini and the local servers."""

from __future__ import annotations

import re
from typing import Any

from swarm_core.errors import ProviderError
from swarm_core.providers.adapter import NegotiatingAdapter
from swarm_core.providers.base import Completion, CompletionRequest, Endpoint, Post, send
from swarm_core.providers.streaming import stream_chat
from swarm_core.providers.structured import Format, response_format, schema_in_prompt

__all__ = ["OpenAIProvider"]

# What servers say when a request does not fit the model's window (llama.cpp: "requested
# 22870 tokens ... context window of 8192"; vLLM and OpenAI: "maximum context length").
_OVERFLOW = re.compile(r"context (?:length|window|size)|exceeds? .*context|n_ctx|too many tokens", re.I)


def _overflow_hint(endpoint: Endpoint) -> str:
    """The settings that make a request fit: the chunk, the reply cap, the server's window."""
    cap = f"{endpoint.name.upper()}_MAX_TOKENS" if endpoint.local else "llm.max_output_tokens"
    server = " or start the server with a larger window (llama.cpp --n_ctx / -c, Ollama num_ctx)"
    return (
        "The prompt and reply do not fit the model's context window: lower llm.chunk_tokens "
        f"(the diff's share of a prompt) or the reply cap ({cap})" + (server if endpoint.local else "") + "."
    )


class OpenAIProvider(NegotiatingAdapter):
    """POST {base_url}/chat/completions. The constructor does no I/O; `client` gives the shared HTTP client.

    Structured output is negotiated per model (see `structured.py`): the adapter starts at
    the endpoint's first format and steps down the ladder when the server refuses one,
    remembering the step for the model, so a refusal costs one request per model and run.
    """

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", **self.endpoint.headers}
        if self.endpoint.api_key is not None:
            headers["authorization"] = f"Bearer {self.endpoint.api_key.get_secret_value()}"
        return headers

    def _body(self, request: CompletionRequest, fmt: Format) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": m.role, "content": m.content} for m in request.messages]
        if request.schema is not None and fmt in ("json_object", "prompt"):
            messages = schema_in_prompt(messages, request.schema)  # no schema the server enforces
        body: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "temperature": request.temperature,
        }
        # OpenAI's newer models take max_completion_tokens; compatible servers take max_tokens.
        key = "max_completion_tokens" if self.endpoint.name == "openai" else "max_tokens"
        body[key] = request.max_tokens
        if request.schema is not None:
            field = response_format(fmt, request.schema_name, request.schema, strict=self.endpoint.strict)
            if field is not None:
                body["response_format"] = field
        return body

    async def _send(self, request: CompletionRequest, fmt: Format) -> Completion:
        url = self.endpoint.base_url.rstrip("/") + "/chat/completions"
        who = f"{self.endpoint.name} ({self.endpoint.base_url})"
        # Local servers stream, so that a call given up on stops generating there.
        post = Post(url, self._headers(), self._body(request, fmt), request.timeout_s, who)
        try:
            data = await (stream_chat if self.endpoint.local else send)(self._client(), post)
        except ProviderError as exc:
            if _OVERFLOW.search(str(exc)) and exc.status is not None and 400 <= exc.status < 500:
                raise ProviderError(f"{exc} {_overflow_hint(self.endpoint)}", status=exc.status) from exc
            raise
        return _completion(data, request.model, who)


def _completion(data: dict[str, Any], model: str, who: str) -> Completion:
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ProviderError(f"{who} answered without choices")
    message = choices[0].get("message") or {}
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):  # some servers return content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    raw_usage = data.get("usage")
    usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    details = usage.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    return Completion(
        text=content if isinstance(content, str) else "",
        data=None,
        model=str(data.get("model") or model),
        input_tokens=_int(usage.get("prompt_tokens")),
        output_tokens=_int(usage.get("completion_tokens")),
        cached_tokens=_int(details.get("cached_tokens")) or 0,
    )


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and value >= 0 else None
