"""Agents on any backend (the seed's AgentManager): a role, a model, tools and limits, run on a task.

Backends:
- `llm` (default): the providers, router and guardrails of the lanes;
- `opencode`: an `opencode serve` instance over its HTTP API. One session per agent and
  task; the agent's model and system prompt go with the message; tools are the agent's
  whitelist (none means read-only); the server's event stream (`GET /event`) is followed
  for progress (steps, tool calls, text) while the task runs; the final message and its
  token and cost figures are read back; the session is aborted if still busy and deleted
  on success, failure and cancellation. Connection errors are retried with backoff, the
  event stream reconnects by itself, the server's health is checked before use and while
  a task runs (a server that stops answering fails the task instead of hanging it), and
  OPENCODE_SERVER_PASSWORD is sent as HTTP basic auth.

A run (`run_agents`) returns an ExecRun: every agent's result plus the evidence of its
model work (the LLM backend's calls; one record per OpenCode task), ready for the run store.

The six lanes and the council members are built-in agents that `agents:` in the config
can override by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict

from swarm_core.analyzers.secrets import redact_text
from swarm_core.config import AgentConfig, SwarmConfig
from swarm_core.errors import LimitReached, ModelSelectionError, ProviderError, SwarmError
from swarm_core.guardrails import Guard
from swarm_core.lanes import LANE_FOCUS
from swarm_core.model_calls import ModelCaller
from swarm_core.models import Exchange, Lane, Usage
from swarm_core.providers import Message, ProviderPool
from swarm_core.router import ModelTable, Router, Selection, load_table
from swarm_core.store.runs import RunStore

__all__ = [
    "AgentEvent",
    "AgentResult",
    "ExecRun",
    "OpenCode",
    "agent_table",
    "built_in_agents",
    "run_agents",
]

_READ_ONLY = {"write": False, "edit": False, "bash": False, "patch": False, "webfetch": False}


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")
    result: str


@dataclass
class AgentResult:
    """One agent's outcome on a task."""

    name: str
    backend: str
    status: Literal["ok", "failed", "cut"]
    output: str = ""
    duration_s: float = 0.0
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "name": self.name,
            "backend": self.backend,
            "status": self.status,
            "output": self.output,
            "duration_s": round(self.duration_s, 3),
            "usage": self.usage.to_dict(),
            "model": self.model,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """Progress of one agent: `kind` is start, step, tool, text, error or done."""

    agent: str
    kind: str
    detail: str = ""


ProgressFn = Callable[[AgentEvent], None]


@dataclass
class ExecRun:
    """A task run on agents (`swarm exec`, `POST /api/execute`), as stored and printed."""

    task: str
    mode: str
    results: list[AgentResult]
    exchanges: list[Exchange] = field(default_factory=list)
    duration_s: float = 0.0
    run_id: str = ""

    @property
    def status(self) -> Literal["ok", "partial", "failed"]:
        """ok when every agent finished, failed when none did, else partial."""
        ok = sum(r.status == "ok" for r in self.results)
        if ok == len(self.results):
            return "ok"
        return "failed" if ok == 0 else "partial"

    @property
    def usage(self) -> Usage:
        total = Usage()
        for r in self.results:
            total = total + r.usage
        return total

    def counts(self) -> dict[str, int]:
        """How many agents ended in each status."""
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def save(self, store: RunStore, agents: Sequence[str]) -> str:
        """Store the run (kind "exec") with its evidence; sets and returns `run_id`."""
        self.run_id = store.save_document(
            "exec",
            source=f"agents {','.join(agents)}: {self.task[:200]}",
            status=self.status,
            duration_s=self.duration_s,
            document=self.to_dict(),
            exchanges=self.exchanges,
            counts=self.counts(),
        )
        return self.run_id

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (what the store keeps and the API returns)."""
        return {
            "run_id": self.run_id,
            "task": self.task,
            "mode": self.mode,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "usage": self.usage.to_dict(),
            "results": [r.to_dict() for r in self.results],
        }


def built_in_agents(config: SwarmConfig) -> dict[str, AgentConfig]:
    """The lanes and council members as agents, then `agents:` from the config (same name overrides)."""
    agents: dict[str, AgentConfig] = {}
    for lane in Lane:
        agents[lane.value] = AgentConfig(
            name=lane.value, role=f"You review code changes through one lens: {LANE_FOCUS[lane]}."
        )
    for member in config.council.members:
        agents[member.name] = AgentConfig(name=member.name, role=member.role, model=member.model)
    for agent in config.agents:
        agents[agent.name] = agent
    return agents


def agent_table(config: SwarmConfig, router: Router) -> list[dict[str, str]]:
    """Each agent, its backend, and the model the router would pick and why (`swarm agents list`)."""
    rows = []
    for agent in built_in_agents(config).values():
        try:
            sel = _selection(agent, router)
            model, why = sel.model, sel.reason
        except ModelSelectionError as exc:
            model, why = "-", str(exc)
        rows.append({"name": agent.name, "backend": agent.backend, "model": model, "reason": why})
    return rows


def _selection(agent: AgentConfig, router: Router) -> Selection:
    if agent.model:
        return Selection(agent.model, f"agents.{agent.name}.model", 0.0, 0)
    if agent.min_quality is not None:
        policy = router.policy.model_copy(update={"min_quality": agent.min_quality})
        router = Router(router.table, policy, router.available, default=router.default)
    return router.select("reviewer", mode=agent.mode)


class OpenCode:
    """A client of `opencode serve`. The constructor does no I/O.

    Args:
        base_url: the server, e.g. http://127.0.0.1:4096.
        password: OPENCODE_SERVER_PASSWORD (HTTP basic auth, user `opencode`).
        retries, backoff_s: connection errors are retried `retries` times, backoff doubling.
        watch_s: while a task runs, the server's health is checked this often; two failed
            checks in a row fail the task (a stopped server would otherwise hang it until
            the agent's timeout).
    """

    def __init__(
        self,
        base_url: str,
        *,
        password: str | None = None,
        retries: int = 3,
        backoff_s: float = 0.5,
        watch_s: float = 5.0,
    ) -> None:
        auth = httpx.BasicAuth("opencode", password) if password else None
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), auth=auth, timeout=30)
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
        for attempt in range(self.retries):
            try:
                response = await self._client.request(method, path, timeout=timeout, **kwargs)
            except httpx.TransportError as exc:
                if attempt + 1 >= self.retries:
                    raise ProviderError(f"opencode at {self.base_url} is unreachable: {exc}") from None
                await asyncio.sleep(self.backoff_s * 2**attempt)  # reconnect with backoff
                continue
            if response.status_code >= 400:
                raise ProviderError(
                    f"opencode answered {response.status_code} to {method} {path}: {response.text[:200]}"
                )
            return response
        raise ProviderError(f"opencode at {self.base_url} is unreachable")

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
        reconnects with backoff as long as a task is watching, else at the next task.
        """
        delay = self.backoff_s
        while True:
            await self._wanted.wait()
            try:
                async with self._client.stream(
                    "GET",
                    "/event",
                    # No compression: a compressed stream arrives in blocks, not event by event.
                    headers={"accept": "text/event-stream", "accept-encoding": "identity"},
                    timeout=httpx.Timeout(10, read=None),
                ) as response:
                    if response.status_code != 200:
                        raise httpx.HTTPStatusError(
                            "event stream", request=response.request, response=response
                        )
                    self._connected.set()
                    delay = self.backoff_s
                    data: list[str] = []
                    async for line in response.aiter_lines():
                        if line.startswith("data:"):
                            data.append(line[5:].lstrip())
                        elif not line and data:
                            self._dispatch("\n".join(data))
                            data = []
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


async def _run_llm(
    agent: AgentConfig, task: str, router: Router, caller: ModelCaller, on_event: ProgressFn | None
) -> AgentResult:
    started = time.perf_counter()
    try:
        sel = _selection(agent, router)
        if on_event is not None:
            on_event(AgentEvent(agent.name, "start", sel.model))
        reply, model, _ = await caller.ask(
            kind="agent",
            lane=agent.name,
            selection=sel,
            messages=[
                Message("system", agent.role + '\nReply with JSON: {"result": "..."}.'),
                Message("user", task),
            ],
            schema=_Reply,
            temperature=agent.temperature,
            max_tokens=agent.max_tokens,
        )
    except LimitReached as exc:
        return AgentResult(agent.name, "llm", "cut", duration_s=time.perf_counter() - started, error=str(exc))
    except (ProviderError, ModelSelectionError) as exc:
        return AgentResult(
            agent.name, "llm", "failed", duration_s=time.perf_counter() - started, error=str(exc)
        )
    used = Usage()
    for exchange in caller.exchanges:  # this agent's own calls (agents share the caller)
        if exchange.lane == agent.name:
            used = used + exchange.usage
    return AgentResult(agent.name, "llm", "ok", reply.result, time.perf_counter() - started, used, model)


async def _run_opencode(
    agent: AgentConfig, task: str, router: Router, opencode: OpenCode, on_event: ProgressFn | None
) -> AgentResult:
    started = time.perf_counter()
    model = ""
    try:
        sel = _selection(agent, router)
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


def _evidence(result: AgentResult, task: str, redact: Callable[[str], str]) -> Exchange:
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


async def run_agents(
    task: str,
    names: Sequence[str],
    config: SwarmConfig,
    pool: ProviderPool,
    *,
    model: str | None = None,
    mode: str = "parallel",
    coordinator: str | None = None,
    table: ModelTable | None = None,
    opencode: OpenCode | None = None,
    on_event: ProgressFn | None = None,
) -> ExecRun:
    """Run a task on agents: parallel (default), sequential (each sees the previous results) or
    hierarchical (the coordinator splits the task first, then the others run in parallel).

    Returns the results in the order of `names` (the coordinator first), with the evidence.

    Raises:
        SwarmError: an unknown agent name.
    """
    agents = built_in_agents(config)
    unknown = [n for n in names if n not in agents]
    if unknown:
        raise SwarmError(f"unknown agent {unknown[0]!r}; `swarm agents list` shows them")
    started = time.perf_counter()
    table = table if table is not None else load_table()
    router = Router(table, config.models, pool.available, default=model)

    def redact(text: str) -> str:
        return redact_text(text, pool.secrets()) if pool.secrets() else text

    caller = ModelCaller(
        pool,
        table,
        Guard(config.llm.limits),
        redact=redact,
        timeout_s=config.llm.limits.call_timeout_seconds,
    )
    own_opencode = opencode is None and any(agents[n].backend == "opencode" for n in names)
    if own_opencode:
        opencode = OpenCode(config.opencode_url)

    async def one(name: str, text: str) -> AgentResult:
        agent = agents[name]
        if agent.backend == "opencode":
            assert opencode is not None
            result = await _run_opencode(agent, text, router, opencode, on_event)
            evidence.append(_evidence(result, text, redact))
        else:
            result = await _run_llm(agent, text, router, caller, on_event)
        if on_event is not None:
            on_event(AgentEvent(name, "done", result.status))
        return result

    evidence: list[Exchange] = []
    try:
        if mode == "sequential":
            results: list[AgentResult] = []
            context = task
            for name in names:
                result = await one(name, context)
                results.append(result)
                if result.status == "ok":
                    context = f"{task}\n\nResult of {name}:\n{result.output}"
        elif mode == "hierarchical" and coordinator:
            lead = await one(
                coordinator,
                f"Split this task for the agents {', '.join(names)} and give each its part:\n{task}",
            )
            rest = [n for n in names if n != coordinator]
            others = await asyncio.gather(
                *(one(n, f"{task}\n\nYour lead says:\n{lead.output}") for n in rest)
            )
            results = [lead, *others]
        else:
            results = list(await asyncio.gather(*(one(n, task) for n in names)))
    finally:
        await pool.aclose()
        if own_opencode and opencode is not None:
            await opencode.aclose()
    exchanges = [*caller.exchanges, *evidence]
    return ExecRun(task, mode, results, exchanges, time.perf_counter() - started)
