"""Ollama's native API: `POST /api/chat` streamed as JSON lines, a JSON schema in `format`, `/api/tags`.

Ollama also serves OpenAI's Chat Completions (the `ollama/` provider); its own API is the
`ollama-native/` provider. What the native API adds:

- structured output without negotiation guesswork: `format` takes a JSON schema (Ollama
  0.5 and later, compiled to a grammar, so the schema is simplified first as for llama.cpp),
  or `"json"` for any JSON object; an older server answers a schema with HTTP 400 naming
  `format`, and the adapter steps down to `"json"`, then to no `format` at all (the
  schema in the prompt), remembering the step per model;
- `options.num_predict` (the reply cap) and `keep_alive` (how long the server keeps the
  model loaded after the call: a reload costs seconds to minutes on a small machine);
- its own accounting: the last line carries `prompt_eval_count` and `eval_count`;
- a model that is not pulled is a 404; the error then lists the models the server has
  (`GET /api/tags`) and says how to pull the one asked for.

The answer streams, so a call that times out or is cut closes the connection and Ollama
stops generating; the window comes from `POST /api/show` (see `window.py`).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from swarm_core.errors import ProviderError, ProviderUnavailable
from swarm_core.providers.adapter import NegotiatingAdapter
from swarm_core.providers.base import Completion, CompletionRequest, Endpoint, Post
from swarm_core.providers.streaming import json_line, stream_lines
from swarm_core.providers.structured import Format, schema_in_prompt, simplify_schema

__all__ = ["OLLAMA_FORMATS", "OllamaProvider"]

# The native API's ladder: a schema in `format`, then `format: "json"`, then none.
OLLAMA_FORMATS: tuple[Format, ...] = ("json_schema", "json_object", "prompt")
# What Ollama says when it cannot take a `format` (older servers: "json: cannot unmarshal
# object into Go struct field ChatRequest.format of type string"; newer ones name an
# invalid schema or the grammar built from it).
_ABOUT_FORMAT = re.compile(r"\bformat\b|json schema|grammar", re.IGNORECASE)
_TAGS_TIMEOUT_S = 10.0


def _root(endpoint: Endpoint) -> str:
    base = endpoint.base_url.rstrip("/")
    return base.removesuffix("/api")


class OllamaProvider(NegotiatingAdapter):
    """POST {base_url}/api/chat. The constructor does no I/O; `client` gives the shared HTTP client."""

    ladder = OLLAMA_FORMATS
    about = _ABOUT_FORMAT

    async def models(self) -> list[str]:
        """The models the server has pulled (`GET /api/tags`); empty when it does not say."""
        try:
            response = await self._client().get(f"{_root(self.endpoint)}/api/tags", timeout=_TAGS_TIMEOUT_S)
            data = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return []
        listed = data.get("models") if isinstance(data, dict) else None
        names = (m.get("name") or m.get("model") for m in listed or [] if isinstance(m, dict))
        return [str(n) for n in names if n]

    def _body(self, request: CompletionRequest, fmt: Format) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": m.role, "content": m.content} for m in request.messages]
        body: dict[str, Any] = {
            "model": request.model,
            "stream": True,
            "options": {"temperature": request.temperature, "num_predict": request.max_tokens},
        }
        if self.endpoint.keep_alive is not None:
            body["keep_alive"] = self.endpoint.keep_alive
        if request.schema is not None:
            if fmt == "json_schema":
                body["format"] = simplify_schema(request.schema)
            else:
                messages = schema_in_prompt(messages, request.schema)
                if fmt == "json_object":
                    body["format"] = "json"
        body["messages"] = messages
        return body

    async def _send(self, request: CompletionRequest, fmt: Format) -> Completion:
        """One chat answer, streamed as JSON lines; usage from its last line."""
        who = f"{self.endpoint.name} ({self.endpoint.base_url})"
        text: list[str] = []
        last: dict[str, Any] = {}

        def read(line: str) -> bool:
            event = json_line(line, who)
            if event is None:
                return False
            if isinstance(event.get("error"), str):
                # An error after the answer began (the model crashed, ran out of memory).
                raise ProviderUnavailable(f"{who} failed mid-answer: {event['error']}", status=500)
            message = event.get("message")
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                text.append(message["content"])
            if event.get("done") is True:
                last.update(event)
                return True
            return False

        headers = {"content-type": "application/json", **self.endpoint.headers}
        url = f"{_root(self.endpoint)}/api/chat"
        post = Post(url, headers, self._body(request, fmt), request.timeout_s, who)
        try:
            await stream_lines(self._client(), post, read)
        except ProviderError as exc:
            if exc.status == 404:
                raise ProviderError(f"{exc}. {await self._pull_hint(request.model)}", status=404) from exc
            raise
        if not last:
            raise ProviderUnavailable(f"{who} ended its answer without a last line (done)", status=200)
        return Completion(
            text="".join(text),
            data=None,
            model=str(last.get("model") or request.model),
            input_tokens=_count(last.get("prompt_eval_count")),
            output_tokens=_count(last.get("eval_count")),
        )

    async def _pull_hint(self, model: str) -> str:
        names = await self.models()
        have = f"The server has: {', '.join(names)}. " if names else "The server has no models yet. "
        return f"{have}Pull it with `ollama pull {model}`, or name one the server has."


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
