"""OpenAI-compatible Chat Completions: OpenAI, OpenRouter, DeepSeek, Groq, Gemini and the local servers."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from swarm_core.errors import ProviderError
from swarm_core.providers.base import Completion, CompletionRequest, Endpoint, send
from swarm_core.providers.streaming import stream_chat
from swarm_core.providers.structured import (
    FORMATS,
    Format,
    is_format_refusal,
    response_format,
    simplify_schema,
)

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


class OpenAIProvider:
    """POST {base_url}/chat/completions. The constructor does no I/O; `client` gives the shared HTTP client.

    Structured output is negotiated per model (see `structured.py`): the adapter starts at
    the endpoint's first format and steps down the ladder when the server refuses one,
    remembering the step for the model, so a refusal costs one request per model and run.
    """

    def __init__(self, endpoint: Endpoint, client: Callable[[], httpx.AsyncClient]) -> None:
        self.endpoint = endpoint
        self._client = client
        self._formats: dict[str, Format] = {}
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def output_format(self, model: str) -> Format:
        """The structured-output format this adapter uses (or will try first) for `model`."""
        return self._formats.get(model, self.endpoint.first_format)

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", **self.endpoint.headers}
        if self.endpoint.api_key is not None:
            headers["authorization"] = f"Bearer {self.endpoint.api_key.get_secret_value()}"
        return headers

    def _body(self, request: CompletionRequest, fmt: Format) -> dict[str, Any]:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        if request.schema is not None and fmt in ("json_object", "prompt") and messages:
            # Without a schema the server can enforce, the model reads it (simplified: the
            # limits are checked afterwards by pydantic and only cost the model attention).
            schema = json.dumps(simplify_schema(request.schema), separators=(",", ":"))
            messages[-1] = {
                **messages[-1],
                "content": f"{messages[-1]['content']}\n\nAnswer with one JSON object matching "
                f"this JSON schema:\n{schema}",
            }
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

    def _slot(self) -> asyncio.Semaphore | None:
        """The endpoint's request slots in the running loop (a pool may outlive one loop)."""
        if self.endpoint.concurrency is None:
            return None
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.endpoint.concurrency))
        return self._slots[1]

    async def complete(self, request: CompletionRequest) -> Completion:
        """One chat completion; usage read from the reply when the server gives it.

        A local endpoint's limits apply here: at most `concurrency` requests in flight (the
        wait for a slot is not part of the call's timeout), its output-token cap and timeout.

        Raises:
            ProviderError: the server failed, or refused every structured-output format.
        """
        ep = self.endpoint
        if ep.max_output_tokens is not None and request.max_tokens > ep.max_output_tokens:
            request = dataclasses.replace(request, max_tokens=ep.max_output_tokens)
        if ep.timeout_s is not None:
            request = dataclasses.replace(request, timeout_s=ep.timeout_s)
        slot = self._slot()
        if slot is None:
            return await self._complete(request)
        async with slot:
            return await self._complete(request)

    async def _complete(self, request: CompletionRequest) -> Completion:
        url = self.endpoint.base_url.rstrip("/") + "/chat/completions"
        who = f"{self.endpoint.name} ({self.endpoint.base_url})"
        fmt = self.output_format(request.model)
        while True:
            started = time.perf_counter()
            # Local servers stream, so that a call given up on stops generating there.
            post = stream_chat if self.endpoint.local else send
            try:
                data = await post(
                    self._client(),
                    url,
                    headers=self._headers(),
                    body=self._body(request, fmt),
                    timeout_s=request.timeout_s,
                    who=who,
                )
                break
            except ProviderError as exc:
                if _OVERFLOW.search(str(exc)) and exc.status is not None and 400 <= exc.status < 500:
                    raise ProviderError(f"{exc} {_overflow_hint(self.endpoint)}", status=exc.status) from exc
                if request.schema is None or fmt == "prompt" or not is_format_refusal(exc):
                    raise
                if request.on_refused is not None:
                    request.on_refused(exc, time.perf_counter() - started)
                fmt = self._formats[request.model] = FORMATS[FORMATS.index(fmt) + 1]
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
