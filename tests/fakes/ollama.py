"""A fake Ollama server on loopback speaking Ollama's native API (`/api/chat`, `/api/tags`, `/api/show`).

Modelled on Ollama's API reference (github.com/ollama/ollama, docs/api.md, MIT licence):

- `POST /api/chat` streams JSON lines by default: one object per piece of the answer,
  `{"model", "created_at", "message": {"role": "assistant", "content": ...}, "done": false}`,
  then a last one with `"done": true`, `done_reason` and the counts `prompt_eval_count`
  (input tokens) and `eval_count` (output tokens); `"stream": false` answers one object.
  `format` is `"json"` or a JSON schema; `options.num_predict` caps the reply;
- a model that is not pulled is HTTP 404 `{"error": "model \"x\" not found, try pulling it first"}`;
- `GET /api/tags` lists the pulled models; `POST /api/show` gives a model's `parameters`
  (a Modelfile's `num_ctx 8192` lines) and `model_info` (`<arch>.context_length`).

`formats` is what the server takes in `format`: a server before Ollama 0.5 took only
`"json"` and answered a schema with HTTP 400 "json: cannot unmarshal object into Go struct
field ChatRequest.format of type string"; refusing `"json"` too (HTTP 400 "invalid format")
exercises the last step of the adapter's ladder. Replies are scripted as for FakeLLM (per
kind and lane, read from the prompt); a Reply with `error` and status 200 fails mid-answer
with an `{"error": ...}` line, as Ollama does when a runner dies.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.llm import FakeLLM, Recorded, Reply, _classify, _texts

__all__ = ["SCHEMA_REFUSED", "FakeOllama"]

SCHEMA_REFUSED = "json: cannot unmarshal object into Go struct field ChatRequest.format of type string"
_CREATED = "2024-12-06T00:48:09.983619Z"


class FakeOllama(FakeLLM):
    """Start with `with FakeOllama() as ollama:`; `ollama.root` is the server's root URL (no /v1)."""

    def __init__(
        self,
        *,
        models: dict[str, int] | None = None,
        num_ctx: dict[str, int] | None = None,
        formats: frozenset[str] = frozenset({"schema", "json"}),
    ) -> None:
        super().__init__(key=None)
        self.models = models if models is not None else {"qwen2.5-coder:7b": 32768}
        self.num_ctx = num_ctx or {}
        self.accepted = formats

    @property
    def root(self) -> str:
        """The server's root URL, as OLLAMA_HOST names it."""
        return f"http://127.0.0.1:{self.port}"

    def _get(self, h: BaseHTTPRequestHandler) -> None:
        if h.path != "/api/tags":
            return self._send(h, 404, {"error": f"no route {h.path}"})
        listed = [
            {
                "name": name,
                "model": name,
                "modified_at": _CREATED,
                "size": 4_683_087_332,
                "digest": f"{abs(hash(name)):064x}"[:64],
                "details": {"format": "gguf", "family": "qwen2", "parameter_size": "7.6B"},
            }
            for name in self.models
        ]
        return self._send(h, 200, {"models": listed})

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        body = json.loads(h.rfile.read(int(h.headers.get("content-length") or 0)) or b"{}")
        model = str(body.get("model") or "")
        if h.path == "/api/show":
            if model not in self.models:
                return self._send(h, 404, {"error": f"model '{model}' not found"})
            params = f'num_ctx {self.num_ctx[model]}\nstop "<|im_end|>"' if model in self.num_ctx else ""
            return self._send(
                h,
                200,
                {
                    "modelfile": f"FROM {model}",
                    "parameters": params,
                    "template": "{{ .Prompt }}",
                    "details": {"format": "gguf", "family": "qwen2"},
                    "model_info": {
                        "general.architecture": "qwen2",
                        "qwen2.context_length": self.models[model],
                    },
                },
            )
        if h.path != "/api/chat":
            return self._send(h, 404, {"error": f"no route {h.path}"})
        texts = _texts(body, "openai")
        kind, lane = _classify(texts[-1] if texts else "")
        req = Recorded(
            "ollama", h.path, dict(h.headers), body, kind, lane, texts[-1] if texts else "", "\n".join(texts)
        )
        with self._lock:
            self.requests.append(req)
        if model not in self.models:
            return self._send(h, 404, {"error": f'model "{model}" not found, try pulling it first'})
        fmt = body.get("format")
        if isinstance(fmt, dict) and "schema" not in self.accepted:
            return self._send(h, 400, {"error": SCHEMA_REFUSED})
        if fmt == "json" and "json" not in self.accepted:
            return self._send(h, 400, {"error": 'invalid format: "json"'})
        reply = self._next(req)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            return self._send(h, reply.status, {"error": reply.error or f"injected {reply.status}"})
        text = reply.text if reply.text is not None else json.dumps(reply.content)
        last = {
            "model": model,
            "created_at": _CREATED,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "total_duration": 2_254_970_291,
            "load_duration": 574_751_416,
            "prompt_eval_count": sum(len(t) for t in texts) // 4,
            "prompt_eval_duration": 1_502_000_000,
            "eval_count": len(text) // 4,
            "eval_duration": 175_000_000,
        }
        if body.get("stream") is False:
            return self._send(h, 200, {**last, "message": {"role": "assistant", "content": text}})
        return self._stream_lines(h, model, text, last, reply)

    def _stream_lines(
        self, h: BaseHTTPRequestHandler, model: str, text: str, last: dict[str, Any], reply: Reply
    ) -> None:
        pieces = [
            {
                "model": model,
                "created_at": _CREATED,
                "message": {"role": "assistant", "content": text[i : i + 40]},
                "done": False,
            }
            for i in range(0, len(text), 40)
        ]
        lines = [*pieces, {"error": reply.error} if reply.error else last]
        self._trickle(
            h,
            "application/x-ndjson",
            [json.dumps(line).encode() + b"\n" for line in lines],
            reply.chunk_delay,
        )
