"""OpenAI-compatible Chat Completions: OpenAI, OpenRouter, DeepSeek, Groq, Gemini, Ollama, vLLM, llama.cpp."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from swarm_core.errors import ProviderError
from swarm_core.providers.base import Completion, CompletionRequest, Endpoint, send

__all__ = ["OpenAIProvider"]


class OpenAIProvider:
    """POST {base_url}/chat/completions. The constructor does no I/O; `client` gives the shared HTTP client.

    Structured output uses `response_format: json_schema` when the endpoint supports it;
    a server that rejects the field (400) is asked again without it, and remembered.
    """

    def __init__(self, endpoint: Endpoint, client: Callable[[], httpx.AsyncClient]) -> None:
        self.endpoint = endpoint
        self._client = client
        self._structured = endpoint.structured

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", **self.endpoint.headers}
        if self.endpoint.api_key is not None:
            headers["authorization"] = f"Bearer {self.endpoint.api_key.get_secret_value()}"
        return headers

    def _body(self, request: CompletionRequest, structured: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": request.temperature,
        }
        # OpenAI's newer models take max_completion_tokens; compatible servers take max_tokens.
        key = "max_completion_tokens" if self.endpoint.name == "openai" else "max_tokens"
        body[key] = request.max_tokens
        if request.schema is not None and structured:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": request.schema, "strict": False},
            }
        return body

    async def complete(self, request: CompletionRequest) -> Completion:
        """One chat completion; usage read from the reply when the server gives it."""
        url = self.endpoint.base_url.rstrip("/") + "/chat/completions"
        who = f"{self.endpoint.name} ({self.endpoint.base_url})"
        structured = self._structured and request.schema is not None
        while True:
            try:
                data = await send(
                    self._client(),
                    url,
                    headers=self._headers(),
                    body=self._body(request, structured),
                    timeout_s=request.timeout_s,
                    who=who,
                )
                break
            except ProviderError as exc:
                if not (structured and exc.status == 400):
                    raise
                structured = self._structured = False
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
