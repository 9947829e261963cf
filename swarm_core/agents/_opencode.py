"""A client of `opencode serve` over its HTTP API, and its events as agent progress.

One session per agent and task; the agent's model and system prompt go with the message;
tools are the agent's whitelist (none means read-only); the server's event stream
(`GET /event`, parsed by httpx-sse) is followed for progress (steps, tool calls, text) while
the task runs; the final message and its token and cost figures are read back; the session
is aborted if still busy and deleted on success, failure and cancellation. Connection errors
are retried with backoff (tenacity), the event stream reconnects by itself, the server's
health is checked before use and while a task runs (a server that stops answering fails the
task instead of hanging it), and OPENCODE_SERVER_PASSWORD is sent as HTTP basic auth.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from httpx_sse import aconnect_sse
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from swarm_core.agents._results import AgentEvent, AgentResult, ProgressFn
from swarm_core.agents._roster import selection
from swarm_core.config import AgentConfig
from swarm_core.errors import ModelSelectionError, ProviderError
from swarm_core.models import Exchange, Usage
from swarm_core.router import Router

__all__ = ["OpenCode", "run_opencode", "task_evidence"]

_READ_ONLY = {"write": False, "edit": False, "bash": False, "patch": False, "webfetch": False}


class OpenCode:
    """A client of `opencode serve`. The constructor does no I/O.

    Args:
        base_url: the server, e.g. http://127.0.0.1:4096.
        password: OPENCODE_SERVER_PASSWORD (HTTP basic auth, user `opencode`).
        retries, backoff_s: connection errors are retried `retries` times, backoff doubling.
        watch_s: while a task runs, the server's health is checked this often; two failed
            checks in a row fail the task (a stopped server would otherwise hang it until
            the agent's timeout).
        transport: an httpx transport in place of the network (tests).
    """

    def __init__(
        self,
        base_url: str,
        *,
        password: str | None = None,
        retries: int = 3,
        backoff_s: float = 0.5,
        watch_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        auth = httpx.BasicAuth("opencode", password) if password else None
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), auth=auth, timeout=30, transport=transport
        )
        self.base_url = base_url
        self.retries = retries
        self.backoff_s = backoff_s
        self.watch_s = watch_s
        self._healthy_until = 0.0
        self._cleanup: set[asyncio.Task[None]] = set()
        # Event stream: one connection per client, events dispatched by session id.
        self._watchers: dict[str, Callable[[dict[str, Any]], None]] = {}
        self._stream: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._wanted = asyncio.Event()
        self.stream_errors = 0

    async def _call(self, method: str, path: str, *, timeout: float = 30.0, **kwargs: Any) -> httpx.Response:
        """One request; a connection error is retried `retries` times, the backoff doubling."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, self.retries)),
            wait=wait_exponential(multiplier=self.backoff_s),
            retry=retry_if_exception_type(httpx.TransportError),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    response = await self._client.request(method, path, timeout=timeout, **kwargs)
        except httpx.TransportError as exc:
            raise ProviderError(f"opencode at {self.base_url} is unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise ProviderError(
                f"opencode answered {response.status_code} to {method} {path}: {response.text[:200]}"
            )
        return response

    async def health(self) -> None:
        """Raise ProviderError unless the server answers its health check (cached for 10 s)."""
        if time.monotonic() < self._healthy_until:
            return
        await self._call("GET", "/global/health", timeout=5)
        self._healthy_until = time.monotonic() + 10.0

    async def sessions(self) -> list[dict[str, Any]]:
        """The server's sessions."""
        data = (await self._call("GET", "/session")).json()
        return data if isinstance(data, list) else []

    async def cleanup(self, prefix: str = "swarm:") -> int:
        """Delete sessions swarm left behind (a crash mid-task); returns how many."""
        n = 0
        for s in await self.sessions():
            if str(s.get("title", "")).startswith(prefix):
                await self._call("DELETE", f"/session/{s['id']}")
                n += 1
        return n

    async def run(
        self, agent: AgentConfig, model: str, task: str, on_event: ProgressFn | None = None
    ) -> tuple[str, Usage]:
        """One task in a fresh session, deleted afterwards whatever happens.

        Raises:
            ModelSelectionError: the model is not `providerID/modelID`.
            ProviderError: the server failed, reported an error, or stopped answering.
        """
        if "/" not in model:
            raise ModelSelectionError(
                f"opencode model {model!r} must be providerID/modelID as opencode names them"
            )
        sid = await self._create(agent.name)
        finished = False
        self._follow(sid, _progress(agent.name, on_event))
        try:
            if self._stream is not None and not self._connected.is_set():
                # Progress from the first event on: give the stream a moment to connect.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._connected.wait(), 1.0)
            tools = dict.fromkeys(agent.tools, True) if agent.tools else dict(_READ_ONLY)
            body = {
                "model": {"providerID": model.split("/", 1)[0], "modelID": model.split("/", 1)[1]},
                "system": agent.role,
                "tools": tools,
                "parts": [{"type": "text", "text": task}],
            }
            send = asyncio.ensure_future(
                self._call("POST", f"/session/{sid}/message", json=body, timeout=agent.timeout_seconds)
            )
            data = (await self._watch(send)).json()
            finished = True
        finally:
            self._watchers.pop(sid, None)
            # Aborting and deleting the session does not delay the answer; `aclose` waits for it.
            deletion = asyncio.create_task(self._delete(sid, abort=not finished))
            self._cleanup.add(deletion)
            deletion.add_done_callback(self._cleanup.discard)
        info = data.get("info") or {}
        if info.get("error"):
            raise ProviderError(f"opencode: {str(info['error'])[:300]}")
        text = "".join(p.get("text", "") for p in data.get("parts", []) if p.get("type") == "text")
        tokens = info.get("tokens") or {}
        cache = tokens.get("cache") or {}
        usage = Usage(
            1,
            int(tokens.get("input") or 0) + int(cache.get("read") or 0),
            int(tokens.get("output") or 0),
            int(cache.get("read") or 0),
            float(info.get("cost") or 0.0),
        )
        return text, usage

    async def _watch(self, send: asyncio.Future[httpx.Response]) -> httpx.Response:
        """Wait for the message while checking the server's health every `watch_s` seconds."""
        misses = 0
        while True:
            done, _ = await asyncio.wait({send}, timeout=self.watch_s)
            if done:
                return send.result()
            try:
                await self._client.get("/global/health", timeout=max(1.0, self.watch_s))
                misses = 0
            except httpx.HTTPError:
                misses += 1
                if misses >= 2:
                    send.cancel()
                    self._healthy_until = 0.0
                    raise ProviderError(
                        f"opencode at {self.base_url} stopped answering its health check mid-task"
                    ) from None

    def _follow(self, sid: str, handler: Callable[[dict[str, Any]], None]) -> None:
        self._watchers[sid] = handler
        self._wanted.set()
        if self._stream is None or self._stream.done():
            self._connected.clear()
            self._stream = asyncio.create_task(self._events(), name="opencode-events")

    async def _events(self) -> None:
        """Follow `GET /event` until `aclose`, one connection for every task of this client.

        It stays open between tasks (reconnecting per task cost 40 ms each); when it drops it
        reconnects with backoff as long as a task is watching, else at the next task. This loop
        is ours, not tenacity's: it never gives up, and between tasks it waits for the next
        one instead of for a delay. httpx-sse parses the stream.
        """
        delay = self.backoff_s
        while True:
            await self._wanted.wait()
            try:
                async with aconnect_sse(
                    self._client,
                    "GET",
                    "/event",
                    # No compression: a compressed stream arrives in blocks, not event by event.
                    headers={"accept-encoding": "identity"},
                    timeout=httpx.Timeout(10, read=None),
                ) as source:
                    source.response.raise_for_status()
                    self._connected.set()
                    delay = self.backoff_s
                    async for event in source.aiter_sse():
                        if event.data:
                            self._dispatch(event.data)
            except httpx.HTTPError:
                self.stream_errors += 1
            self._connected.clear()
            if self._watchers:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                self._wanted.clear()

    def _dispatch(self, data: str) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            return
        props = event.get("properties") if isinstance(event, dict) else None
        if not isinstance(props, dict):
            return
        sid = props.get("sessionID")
        for inner in ("part", "info"):
            nested = props.get(inner)
            if not sid and isinstance(nested, dict):
                sid = nested.get("sessionID")
        handler = self._watchers.get(str(sid)) if sid else None
        if handler is not None:
            handler(event)

    async def _create(self, name: str) -> str:
        return str((await self._call("POST", "/session", json={"title": f"swarm:{name}"})).json()["id"])

    async def _delete(self, sid: str, *, abort: bool = False) -> None:
        try:
            if abort:  # cancelled or failed mid-task: stop the model work first
                await self._call("POST", f"/session/{sid}/abort", timeout=10)
            await self._call("DELETE", f"/session/{sid}", timeout=10)
        except ProviderError:
            self._healthy_until = 0.0  # the server is gone; `cleanup` removes the session later

    async def aclose(self) -> None:
        """Wait for pending session deletions, stop the event stream, close the HTTP client."""
        await asyncio.gather(*self._cleanup, return_exceptions=True)
        self._watchers.clear()
        if self._stream is not None:
            self._stream.cancel()
            await asyncio.gather(self._stream, return_exceptions=True)
        await self._client.aclose()


def _progress(agent: str, on_event: ProgressFn | None) -> Callable[[dict[str, Any]], None]:
    """OpenCode's events of one session → AgentEvents (steps, tool calls, first text, errors)."""
    seen: set[str] = set()

    def handle(event: dict[str, Any]) -> None:
        if on_event is None:
            return
        kind = event.get("type")
        props = event.get("properties") or {}
        if kind == "message.part.updated":
            part = props.get("part") or {}
            ptype = part.get("type")
            if ptype == "step-start":
                on_event(AgentEvent(agent, "step", "thinking"))
            elif ptype == "tool":
                status = (part.get("state") or {}).get("status", "")
                key = f"{part.get('callID') or part.get('id')}:{status}"
                if key not in seen:
                    seen.add(key)
                    on_event(AgentEvent(agent, "tool", f"{part.get('tool', '?')} {status}".strip()))
        elif kind == "message.part.delta" and "text" not in seen:
            seen.add("text")
            on_event(AgentEvent(agent, "text", "writing"))
        elif kind == "session.error":
            error = props.get("error") or {}
            detail = error.get("name") if isinstance(error, dict) else str(error)
            on_event(AgentEvent(agent, "error", str(detail)[:200]))

    return handle


async def run_opencode(
    agent: AgentConfig, task: str, router: Router, opencode: OpenCode, on_event: ProgressFn | None
) -> AgentResult:
    """Run one agent on the server; a failure, a stopped server or the timeout is a failed result."""
    started = time.perf_counter()
    model = ""
    try:
        sel = selection(agent, router)
        model = sel.model
        await opencode.health()
        if on_event is not None:
            on_event(AgentEvent(agent.name, "start", model))
        text, usage = await asyncio.wait_for(
            opencode.run(agent, model, task, on_event), agent.timeout_seconds
        )
    except (ProviderError, ModelSelectionError, TimeoutError) as exc:
        return AgentResult(
            agent.name,
            "opencode",
            "failed",
            duration_s=time.perf_counter() - started,
            model=model,
            error=f"{type(exc).__name__}: {exc}",
        )
    return AgentResult(agent.name, "opencode", "ok", text, time.perf_counter() - started, usage, model)


def task_evidence(result: AgentResult, task: str, redact: Callable[[str], str]) -> Exchange:
    """The record of an OpenCode task (its model calls happen inside OpenCode)."""
    return Exchange(
        kind="agent",
        lane=result.name,
        model=result.model,
        prompt_hash=hashlib.sha256(task.encode()).hexdigest()[:12],
        usage=result.usage,
        latency_s=result.duration_s,
        outcome="ok" if result.status == "ok" else result.status,
        request=redact(task)[-4000:],
        response=redact(result.output)[:8000],
        reason=result.error[:500],
    )
