"""A fake OSV API on loopback: `POST /v1/querybatch` and `GET /v1/vulns/{id}` from recorded answers.

What it serves comes from tests/fixtures/osv (real OSV answers and records; see the
fixtures README): a querybatch answer is split into one result per query it answered,
keyed by (ecosystem, name, version), so any batch of known queries gets exactly the
results OSV gave them; an unknown query gets `{}`, what OSV answers for a version with
no known vulnerability. Like OSV it refuses a batch of more than 1,000 queries, and a
query without a package or version, with HTTP 400; an unknown record id gets OSV's 404.

Faults are injected per request: `fail` (status codes to answer first, e.g. 503, 429),
`hang` (seconds to wait before answering: a client with a shorter timeout gives up),
`garbage` (a body that is not JSON), `page_size` (results longer than this are cut into
pages with a `next_page_token`, as OSV pages long answers). Every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["OSV_FIXTURES", "FakeOSV", "Request"]

OSV_FIXTURES = Path(__file__).parent.parent / "fixtures" / "osv"
_BATCH_LIMIT = 1000
_NOT_FOUND = {"code": 5, "message": "Bug not found."}

# Which queries each recorded querybatch answer answered, in order (None: a query not served,
# such as the docs sample's commit query and its jinja2 query, whose records are not all here).
RECORDED_QUERIES: dict[str, list[tuple[str, str, str] | None]] = {
    "querybatch-lodash-express.json": [("npm", "lodash", "4.17.19"), ("npm", "express", "4.17.1")],
    "querybatch-docs-sample.json": [("PyPI", "mlflow", "0.4.0"), None, None],
}


@dataclass(frozen=True)
class Request:
    """One request the fake received."""

    method: str
    path: str
    body: Any


class FakeOSV:
    """The fake server; use as a context manager, its API root is `url`."""

    def __init__(self) -> None:
        self.results: dict[tuple[str, str, str], dict[str, Any]] = {}
        for name, queries in RECORDED_QUERIES.items():
            answer = json.loads((OSV_FIXTURES / name).read_text(encoding="utf-8"))
            for query, result in zip(queries, answer["results"], strict=True):
                if query is not None:
                    self.results[query] = result
        self.records = {p.stem: p.read_bytes() for p in (OSV_FIXTURES / "vulns").glob("*.json")}
        self.requests: list[Request] = []
        self.fail: deque[int] = deque()
        self.hang = 0.0
        self.garbage = False
        self.page_size: int | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The API root to configure (`analyzers.vulnerabilities.url`)."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def batches(self) -> list[list[dict[str, Any]]]:
        """The queries of every querybatch request, in order."""
        return [r.body["queries"] for r in self.requests if r.path == "/v1/querybatch"]

    def __enter__(self) -> FakeOSV:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                fake._handle(self, "GET", None)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                fake._handle(self, "POST", body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # -- answers ----------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str, body: Any) -> None:
        with self._lock:
            self.requests.append(Request(method, handler.path, body))
            status = self.fail.popleft() if self.fail else 200
        if self.hang:
            time.sleep(self.hang)
        if status != 200:
            return self._send(handler, status, {"code": 14, "message": "unavailable"})
        if self.garbage:
            return self._send_raw(handler, 200, b'{"results": [{"vulns": [{"id": "GHSA-')
        if method == "POST" and handler.path == "/v1/querybatch":
            return self._querybatch(handler, body)
        if method == "GET" and handler.path.startswith("/v1/vulns/"):
            record = self.records.get(handler.path.removeprefix("/v1/vulns/"))
            if record is None:
                return self._send(handler, 404, _NOT_FOUND)
            return self._send_raw(handler, 200, record)
        return self._send(handler, 404, {"code": 5, "message": "Not Found"})

    def _querybatch(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        queries = body.get("queries") if isinstance(body, dict) else None
        if not isinstance(queries, list) or len(queries) > _BATCH_LIMIT:
            return self._send(handler, 400, {"code": 3, "message": "Too many queries."})
        results = []
        for query in queries:
            package = query.get("package") if isinstance(query, dict) else None
            if not isinstance(package, dict) or not query.get("version"):
                return self._send(handler, 400, {"code": 3, "message": "Invalid query."})
            key = (package.get("ecosystem"), package.get("name"), query["version"])
            result = dict(self.results.get(key, {}))  # type: ignore[arg-type]
            results.append(self._page(result, query.get("page_token")))
        return self._send(handler, 200, {"results": results})

    def _page(self, result: dict[str, Any], token: Any) -> dict[str, Any]:
        vulns = result.get("vulns", [])
        if self.page_size is None or not vulns:
            return result
        start = int(token) if isinstance(token, str) and token.isdigit() else 0
        page: dict[str, Any] = {"vulns": vulns[start : start + self.page_size]}
        if start + self.page_size < len(vulns):
            page["next_page_token"] = str(start + self.page_size)
        return page

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        FakeOSV._send_raw(handler, status, json.dumps(body).encode())

    @staticmethod
    def _send_raw(handler: BaseHTTPRequestHandler, status: int, data: bytes) -> None:
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
