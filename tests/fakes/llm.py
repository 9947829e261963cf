"""A fake LLM server on loopback speaking OpenAI Chat Completions and Anthropic Messages.

Replies are scripted per (kind, lane): kind is what the request is for, read from the
prompt the way a model would read it ("lane", "reviewer", "critic", "coordinator",
"repair"); lane is the lane name for lane calls. A script entry is a Reply or a callable
returning one. Latency, HTTP errors, Retry-After, garbage and hangs are injected by the
Reply. Every request is recorded for assertions, and a wrong API key gets a 401, as the
real services answer.

`formats` makes it refuse structured-output fields the way real servers do: with
`LLAMA_CPP_PYTHON` it answers `response_format: json_schema` with the HTTP 500 body
llama-cpp-python 0.3.36 sends (tests/fixtures/llama-cpp/json_schema_refused.json), and a
`json_object` schema carrying length limits with llama.cpp's "failed to parse grammar".
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["LLAMA_CPP_PYTHON", "FakeLLM", "Recorded", "Reply", "lane_reply"]

# The response_format types llama-cpp-python's server accepts ("text" is no field at all).
LLAMA_CPP_PYTHON = frozenset({"text", "json_object"})
_REFUSED = Path(__file__).parent.parent / "fixtures" / "llama-cpp" / "json_schema_refused.json"
# Keywords llama.cpp's grammar compiler turns into too many rules for the lane schema.
_GRAMMAR_BREAKERS = ('"maxLength"', '"minLength"', '"pattern"')

_LANE = re.compile(r"# Your task: the ([a-z-]+) lane")


@dataclass
class Reply:
    """One scripted answer.

    `content` is JSON-encoded into the reply text (or the Anthropic tool input); `text`
    sends raw text instead (garbage, fenced JSON). `status` != 200 sends an error body,
    with `error` as its message when given (some servers quote the key they refused).
    `delay` sleeps before answering; `hang` never answers (the client times out);
    `drop` closes the connection without an answer. `chunk_delay` streams a streaming
    answer in pieces, this many seconds apart (a model that is still writing).
    """

    content: Any = None
    text: str | None = None
    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: tuple[int, int, int] | None = None  # input, output, cached; None = computed
    omit_usage: bool = False
    hang: bool = False
    drop: bool = False
    chunk_delay: float = 0.0


@dataclass(frozen=True)
class Recorded:
    """A request the fake received."""

    api: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    kind: str
    lane: str
    last_user: str
    prompt: str


Script = Reply | Callable[["Recorded"], Reply]


def lane_reply(*findings: dict[str, Any], notes: list[dict[str, str]] | None = None, **extra: Any) -> Reply:
    """A lane answer with the given findings."""
    return Reply({"findings": list(findings), "notes": notes or [], "summary": "", **extra})


_COUNCIL = re.compile(r"# Council: your position as ([\w-]+)")
_REBUTTAL = re.compile(r"# Council rebuttal as ([\w-]+)")


def _classify(last: str) -> tuple[str, str]:
    m = _LANE.search(last)
    if m:
        return "lane", m.group(1)
    m = _COUNCIL.search(last)
    if m:
        return "council", m.group(1)
    m = _REBUTTAL.search(last)
    if m:
        return "rebuttal", m.group(1)
    if "# Council moderator" in last:
        return "moderator", ""
    for heading, kind in (
        ("# Your task: specify the fix", "issue-spec"),
        ("# Your task: propose a patch", "issue-trace"),
        ("# Your task: propose a reproduction test", "issue-repro"),
        ("# Your task: answer a question about a pull request", "ask"),
        ("# Your task: describe the change", "describe"),
    ):
        if heading in last:
            return kind, ""
    if "Your previous reply could not be used" in last:
        return "repair", ""
    if "# Your task: verify findings" in last:
        return "reviewer", ""
    if "# Your task: challenge severe findings" in last:
        return "critic", ""
    if "# Your task: coordinate the lanes" in last:
        return "coordinator", ""
    return "other", ""


def _confirm_all(req: Recorded) -> Reply:
    ids = [int(n) for n in re.findall(r"## Finding (\d+):", req.last_user)]
    verdict = "CONFIRMED" if req.kind == "reviewer" else "UPHELD"
    return Reply({"judgements": [{"id": i, "verdict": verdict, "reason": "checked"} for i in ids]})


class FakeLLM:
    """Start with `with FakeLLM() as llm:`; `llm.url` is the OpenAI base URL, `llm.anthropic_url` Anthropic's."""

    def __init__(
        self,
        *,
        key: str | None = "sk-test-key",
        latency: float = 0.0,
        prefix_cache: bool = False,
        formats: frozenset[str] | None = None,
        n_ctx: int | None = None,
    ) -> None:
        self.key = key
        # Set: answers like llama.cpp's llama-server, with its window at GET /props and its
        # tokenizer at POST /tokenize (one token per 3 characters).
        self.n_ctx = n_ctx
        self.formats = formats  # None: every response_format is accepted
        self.latency = latency
        # Like OpenAI's automatic caching: a repeated message prefix of >= 1024 tokens is
        # reported as cached input (at message granularity).
        self.prefix_cache = prefix_cache
        self._seen_prefixes: set[int] = set()
        self.requests: list[Recorded] = []
        self.abandoned = 0  # streamed answers stopped because the client closed the stream
        self._scripts: dict[tuple[str, str], deque[Script]] = defaultdict(deque)
        self._defaults: dict[tuple[str, str], Script] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # scripting -----------------------------------------------------------------
    def script(self, kind: str, lane: str = "", *replies: Script) -> None:
        """Queue replies for (kind, lane); used in order, then the default applies."""
        with self._lock:
            self._scripts[(kind, lane)].extend(replies)

    def default(self, kind: str, lane: str, reply: Script) -> None:
        """The reply for (kind, lane) once its queue is empty."""
        with self._lock:
            self._defaults[(kind, lane)] = reply

    def _next(self, req: Recorded) -> Reply:
        with self._lock:
            for key in ((req.kind, req.lane), (req.kind, "")):
                queue = self._scripts.get(key)
                if queue:
                    item = queue.popleft()
                    break
            else:
                item = self._defaults.get((req.kind, req.lane)) or self._defaults.get((req.kind, ""))
        if item is None:
            if req.kind in ("reviewer", "critic"):
                return _confirm_all(req)
            if req.kind == "coordinator":
                return Reply({"focus": {}, "summary": "a change"})
            if req.kind == "council":
                return Reply(
                    {"stance": "FOR", "position": "Do it.", "arguments": ["simple"], "confidence": 0.7}
                )
            if req.kind == "rebuttal":
                return Reply(
                    {"response": "MAINTAIN", "stance": "AGAINST", "argument": "still", "confidence": 0.6}
                )
            if req.kind == "ask":
                return Reply({"answer": "The lock is taken once, in `restart` (svc.py line 9)."})
            if req.kind == "describe":
                return Reply({"summary": "Adds restart().", "files": [], "risks": [], "flow_changed": False})
            if req.kind == "moderator":
                return Reply(
                    {"verdict": "FOR", "recommendation": "Go ahead.", "rationale": ["r"], "dissent": []}
                )
            return lane_reply()
        return item(req) if callable(item) else item

    def calls(self, kind: str | None = None, lane: str | None = None) -> list[Recorded]:
        """Recorded requests, filtered."""
        return [
            r for r in self.requests if (kind is None or r.kind == kind) and (lane is None or r.lane == lane)
        ]

    # server --------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """OpenAI-compatible base URL (…/v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        """Anthropic base URL (the client appends /v1/messages)."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeLLM:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes; without this, Nagle's algorithm
                # and delayed ACKs add ~40 ms to every reply, as with any naive server.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._get(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def _get(self, h: BaseHTTPRequestHandler) -> None:
        if self.n_ctx is not None and h.path == "/props":
            return self._send(h, 200, {"default_generation_settings": {"n_ctx": self.n_ctx}})
        return self._send(h, 404, {"error": {"message": f"no route {h.path}"}})

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(length)
        api = "anthropic" if h.path.endswith("/v1/messages") else "openai"
        if self.n_ctx is not None and h.path == "/tokenize":
            content = json.loads(raw).get("content", "")
            return self._send(h, 200, {"tokens": list(range((len(content) + 2) // 3))})
        if h.path not in ("/v1/chat/completions", "/v1/messages"):
            return self._send(h, 404, {"error": {"message": f"no route {h.path}"}})
        try:
            body = json.loads(raw)
        except ValueError:
            return self._send(h, 400, {"error": {"message": "body is not JSON"}})
        given = (
            h.headers.get("x-api-key")
            if api == "anthropic"
            else (h.headers.get("authorization") or "").removeprefix("Bearer ")
        )
        if self.key is not None and given != self.key:  # None: a keyless local server
            return self._send(
                h, 401, {"error": {"type": "authentication_error", "message": "invalid x-api-key"}}
            )
        if api == "anthropic" and h.headers.get("anthropic-version") != "2023-06-01":
            return self._send(h, 400, {"error": {"message": "anthropic-version header required"}})
        texts = _texts(body, api)
        last_user = texts[-1] if texts else ""
        kind, lane = _classify(last_user)
        req = Recorded(api, h.path, dict(h.headers), body, kind, lane, last_user, "\n".join(texts))
        with self._lock:
            self.requests.append(req)
        refusal = self._refusal(body) if api == "openai" else None
        if refusal is not None:
            return self._send(h, *refusal)
        reply = self._next(req)
        if self.latency or reply.delay:
            time.sleep(self.latency + reply.delay)
        if reply.hang:
            time.sleep(30)
            return None
        if reply.drop:
            h.close_connection = True
            h.connection.close()
            return None
        if reply.status != 200:
            return self._send(
                h,
                reply.status,
                {"error": {"message": reply.error or f"injected {reply.status}"}},
                reply.headers,
            )
        text = reply.text if reply.text is not None else json.dumps(reply.content)
        prompt_tokens = sum(len(t) for t in texts) // 4
        in_tok, out_tok, cached = reply.usage or (
            prompt_tokens,
            len(text) // 4,
            self._cached(str(body.get("model")), texts),
        )
        if api == "openai" and body.get("stream"):
            usage = None if reply.omit_usage else (in_tok, out_tok, cached)
            return self._stream(h, body, text, usage, reply.chunk_delay)
        if api == "openai":
            payload: dict[str, Any] = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
            }
            if not reply.omit_usage:
                payload["usage"] = {
                    "prompt_tokens": in_tok,
                    "completion_tokens": out_tok,
                    "total_tokens": in_tok + out_tok,
                    "prompt_tokens_details": {"cached_tokens": cached},
                }
        else:
            tools = body.get("tools")
            if tools and reply.text is None:
                block: dict[str, Any] = {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": tools[0]["name"],
                    "input": reply.content,
                }
            else:
                block = {"type": "text", "text": text}
            payload = {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": body.get("model"),
                "content": [block],
                "stop_reason": "tool_use" if block["type"] == "tool_use" else "end_turn",
            }
            if not reply.omit_usage:
                payload["usage"] = {
                    "input_tokens": in_tok - cached,
                    "output_tokens": out_tok,
                    "cache_read_input_tokens": cached,
                    "cache_creation_input_tokens": 0,
                }
        return self._send(h, 200, payload, reply.headers)

    def _stream(
        self,
        h: BaseHTTPRequestHandler,
        body: dict[str, Any],
        text: str,
        usage: tuple[int, int, int] | None,
        chunk_delay: float = 0.0,
    ) -> None:
        """An OpenAI streaming answer (server-sent events), as SDK clients such as OpenCode's ask for."""
        base = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "model": body.get("model"),
            "created": int(time.time()),
        }
        chunks = [
            {
                **base,
                "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                ],
            },
            *(
                {
                    **base,
                    "choices": [{"index": 0, "delta": {"content": text[i : i + 40]}, "finish_reason": None}],
                }
                for i in range(0, len(text), 40)
            ),
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
        if usage is not None:
            in_tok, out_tok, cached = usage
            chunks.append(
                {
                    **base,
                    "choices": [],
                    "usage": {
                        "prompt_tokens": in_tok,
                        "completion_tokens": out_tok,
                        "total_tokens": in_tok + out_tok,
                        "prompt_tokens_details": {"cached_tokens": cached},
                    },
                }
            )
        if chunk_delay:
            pieces = [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]
            return self._trickle(h, "text/event-stream", pieces, chunk_delay)
        data = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        raw = data.encode()
        h.send_response(200)
        h.send_header("content-type", "text/event-stream")
        h.send_header("content-length", str(len(raw)))
        h.end_headers()
        try:
            h.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            with self._lock:
                self.abandoned += 1

    def _trickle(
        self, h: BaseHTTPRequestHandler, content_type: str, pieces: list[bytes], delay: float
    ) -> None:
        """Piece by piece, `delay` seconds apart, then close (no content-length): a model still writing.

        A write to a closed connection ends the generation, as llama.cpp's servers and Ollama
        do for a streamed request whose client went away; `abandoned` counts them.
        """
        h.send_response(200)
        h.send_header("content-type", content_type)
        h.send_header("connection", "close")
        h.end_headers()
        try:
            for piece in pieces:
                h.wfile.write(piece)
                h.wfile.flush()
                time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            with self._lock:
                self.abandoned += 1
        h.close_connection = True

    def _refusal(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """The answer of a server that does not take this response_format, or None."""
        if self.formats is None:
            return None
        fmt = body.get("response_format")
        kind = fmt.get("type") if isinstance(fmt, dict) else "text"
        if kind not in self.formats:
            return 500, json.loads(_REFUSED.read_text())
        schema = fmt.get("schema") if isinstance(fmt, dict) else None
        if schema is not None and any(k in json.dumps(schema) for k in _GRAMMAR_BREAKERS):
            return 500, {"error": {"message": "failed to parse grammar", "type": "internal_server_error"}}
        return None

    def _cached(self, model: str, texts: list[str]) -> int:
        if not self.prefix_cache:
            return 0
        keys = [hash((model, *texts[:k])) for k in range(1, len(texts))]  # a cache per model
        with self._lock:
            hit = max((k for k, key in enumerate(keys, 1) if key in self._seen_prefixes), default=0)
            self._seen_prefixes.update(keys)
        tokens = sum(len(t) for t in texts[:hit]) // 4
        return tokens if tokens >= 1024 else 0

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        try:
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on the call (timed out or cut), as clients do


def _texts(body: dict[str, Any], api: str) -> list[str]:
    """Every message text in order (system first); the last one is the last user turn."""
    out: list[str] = []
    if api == "anthropic":
        for block in body.get("system") or []:
            out.append(block.get("text", ""))
        for m in body.get("messages", []):
            for block in m.get("content", []):
                if isinstance(block, dict):
                    out.append(block.get("text", ""))
    else:
        for m in body.get("messages", []):
            out.append(m.get("content") or "")
    return out


def main() -> None:
    """Serve in a process of its own (benchmarks): `python -m tests.fakes.llm --latency 0.5 [--finding JSON]`."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--finding", help="JSON of one finding every lane returns")
    parser.add_argument("--prefix-cache", action="store_true")
    args = parser.parse_args()
    with FakeLLM(latency=args.latency, prefix_cache=args.prefix_cache) as fake:
        if args.finding:
            fake.default("lane", "", lane_reply(json.loads(args.finding)))
        print(fake.url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin


if __name__ == "__main__":
    main()
