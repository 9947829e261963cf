"""Anthropic Messages API: structured output by a forced tool call, prompt caching of the shared prefix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from swarm_core.errors import ProviderError
from swarm_core.providers.base import Completion, CompletionRequest, Endpoint, Post, send

__all__ = ["ANTHROPIC_VERSION", "AnthropicProvider"]

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicProvider:
    """POST {base_url}/v1/messages. The constructor does no I/O."""

    def __init__(self, endpoint: Endpoint, client: Callable[[], httpx.AsyncClient]) -> None:
        self.endpoint = endpoint
        self._client = client

    def _headers(self) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
            **self.endpoint.headers,
        }
        if self.endpoint.api_key is not None:
            headers["x-api-key"] = self.endpoint.api_key.get_secret_value()
        return headers

    def _body(self, request: CompletionRequest) -> dict[str, Any]:
        system: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        for m in request.messages:
            block: dict[str, Any] = {"type": "text", "text": m.content}
            if m.cache:
                block["cache_control"] = {"type": "ephemeral"}
            if m.role == "system":
                system.append(block)
            elif messages and messages[-1]["role"] == m.role:
                messages[-1]["content"].append(block)  # the API wants roles to alternate
            else:
                messages.append({"role": m.role, "content": [block]})
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "messages": messages,
        }
        if system:
            body["system"] = system
        if request.schema is not None and self.endpoint.structured:
            body["tools"] = [
                {
                    "name": request.schema_name,
                    "description": "Report the result in this exact structure.",
                    "input_schema": request.schema,
                }
            ]
            body["tool_choice"] = {"type": "tool", "name": request.schema_name}
        return body

    async def complete(self, request: CompletionRequest) -> Completion:
        """One message; a forced tool call's input becomes `Completion.data`."""
        url = self.endpoint.base_url.rstrip("/") + "/v1/messages"
        who = f"{self.endpoint.name} ({self.endpoint.base_url})"
        post = Post(url, self._headers(), self._body(request), request.timeout_s, who)
        data = await send(self._client(), post)
        content = data.get("content")
        if not isinstance(content, list):
            raise ProviderError(f"{who} answered without content")
        text = "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
        tool = next(
            (b.get("input") for b in content if isinstance(b, dict) and b.get("type") == "tool_use"),
            None,
        )
        raw_usage = data.get("usage")
        usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
        cached = usage.get("cache_read_input_tokens")
        written = usage.get("cache_creation_input_tokens")
        uncached = usage.get("input_tokens")
        # Anthropic's input_tokens excludes cache reads and writes; swarm counts all input.
        total_in = None
        if isinstance(uncached, int):
            total_in = uncached + (cached if isinstance(cached, int) else 0)
            total_in += written if isinstance(written, int) else 0
        out = usage.get("output_tokens")
        return Completion(
            text=text,
            data=tool if isinstance(tool, dict) else None,
            model=str(data.get("model") or request.model),
            input_tokens=total_in,
            output_tokens=out if isinstance(out, int) else None,
            cached_tokens=cached if isinstance(cached, int) else 0,
        )
