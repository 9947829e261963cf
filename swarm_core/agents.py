"""Agents on any backend (the seed's AgentManager): a role, a model, tools and limits, run on a task.

Backends:
- `llm` (default): the providers, router and guardrails of the lanes;
- `opencode`: an `opencode serve` instance over its HTTP API. One session per agent and
  task; the agent's model and system prompt go with the message; tools are the agent's
  whitelist (none means read-only); token and cost figures are read back; the session is
  deleted on success, failure and cancellation. Connection errors are retried with
  backoff, the server's health is checked before use, and OPENCODE_SERVER_PASSWORD is sent
  as HTTP basic auth.

The six lanes and the council members are built-in agents that `agents:` in the config
can override by name.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict

from swarm_core.analyzers.secrets import redact_text
from swarm_core.config import AgentConfig, SwarmConfig
from swarm_core.errors import LimitReached, ModelSelectionError, ProviderError, SwarmError
from swarm_core.guardrails import Guard
from swarm_core.lanes import LANE_FOCUS
from swarm_core.llm import ModelCaller
from swarm_core.models import Lane, Usage
from swarm_core.providers import Message, ProviderPool
from swarm_core.router import ModelTable, Router, Selection, load_table

__all__ = ["AgentResult", "OpenCode", "agent_table", "built_in_agents", "run_agents"]

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
    return router.select("reviewer", mode=agent.mode)


class OpenCode:
    """A client of `opencode serve`. The constructor does no I/O."""

    def __init__(
        self, base_url: str, *, password: str | None = None, retries: int = 3, backoff_s: float = 0.5
    ) -> None:
        auth = httpx.BasicAuth("opencode", password) if password else None
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), auth=auth, timeout=30)
        self.base_url = base_url
        self.retries = retries
        self.backoff_s = backoff_s
        self._healthy_until = 0.0
        self._cleanup: set[asyncio.Task[None]] = set()

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

    async def run(self, agent: AgentConfig, model: str, task: str) -> tuple[str, Usage]:
        """One task in a fresh session, deleted afterwards whatever happens."""
        if "/" not in model:
            raise ModelSelectionError(
                f"opencode model {model!r} must be providerID/modelID as opencode names them"
            )
        sid = await self._create(agent.name)
        try:
            tools = dict.fromkeys(agent.tools, True) if agent.tools else dict(_READ_ONLY)
            body = {
                "model": {"providerID": model.split("/", 1)[0], "modelID": model.split("/", 1)[1]},
                "system": agent.role,
                "tools": tools,
                "parts": [{"type": "text", "text": task}],
            }
            data = (
                await self._call("POST", f"/session/{sid}/message", json=body, timeout=agent.timeout_seconds)
            ).json()
        finally:
            # Deleting the session does not delay the answer; `aclose` waits for it.
            deletion = asyncio.create_task(self._delete(sid))
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

    async def _create(self, name: str) -> str:
        return str((await self._call("POST", "/session", json={"title": f"swarm:{name}"})).json()["id"])

    async def _delete(self, sid: str) -> None:
        try:
            await self._call("DELETE", f"/session/{sid}", timeout=10)
        except ProviderError:
            self._healthy_until = 0.0  # the server is gone; `cleanup` removes the session later

    async def aclose(self) -> None:
        """Wait for pending session deletions, then close the HTTP client."""
        await asyncio.gather(*self._cleanup, return_exceptions=True)
        await self._client.aclose()


async def _run_llm(agent: AgentConfig, task: str, router: Router, caller: ModelCaller) -> AgentResult:
    started = time.perf_counter()
    try:
        sel = _selection(agent, router)
        reply, model, _ = await caller.ask(
            kind="agent",
            lane=agent.name,
            selection=sel,
            messages=[
                Message("system", agent.role + '\nReply with JSON: {"result": "..."}.'),
                Message("user", task),
            ],
            schema=_Reply,
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


async def _run_opencode(agent: AgentConfig, task: str, router: Router, opencode: OpenCode) -> AgentResult:
    started = time.perf_counter()
    try:
        sel = _selection(agent, router)
        await opencode.health()
        text, usage = await asyncio.wait_for(opencode.run(agent, sel.model, task), agent.timeout_seconds)
    except (ProviderError, ModelSelectionError, TimeoutError) as exc:
        return AgentResult(
            agent.name,
            "opencode",
            "failed",
            duration_s=time.perf_counter() - started,
            error=f"{type(exc).__name__}: {exc}",
        )
    return AgentResult(agent.name, "opencode", "ok", text, time.perf_counter() - started, usage, sel.model)


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
) -> list[AgentResult]:
    """Run a task on agents: parallel (default), sequential (each sees the previous results) or
    hierarchical (the coordinator splits the task first, then the others run in parallel).

    Raises:
        SwarmError: an unknown agent name.
    """
    agents = built_in_agents(config)
    unknown = [n for n in names if n not in agents]
    if unknown:
        raise SwarmError(f"unknown agent {unknown[0]!r}; `swarm agents list` shows them")
    table = table if table is not None else load_table()
    router = Router(table, config.models, pool.available, default=model)
    caller = ModelCaller(
        pool,
        table,
        Guard(config.llm.limits),
        redact=lambda s: redact_text(s, pool.secrets()) if pool.secrets() else s,
        timeout_s=config.llm.limits.call_timeout_seconds,
    )
    own_opencode = opencode is None and any(agents[n].backend == "opencode" for n in names)
    if own_opencode:
        opencode = OpenCode(config.opencode_url)

    async def one(name: str, text: str) -> AgentResult:
        agent = agents[name]
        if agent.backend == "opencode":
            assert opencode is not None
            return await _run_opencode(agent, text, router, opencode)
        return await _run_llm(agent, text, router, caller)

    try:
        if mode == "sequential":
            results: list[AgentResult] = []
            context = task
            for name in names:
                result = await one(name, context)
                results.append(result)
                if result.status == "ok":
                    context = f"{task}\n\nResult of {name}:\n{result.output}"
            return results
        if mode == "hierarchical" and coordinator:
            lead = await one(
                coordinator,
                f"Split this task for the agents {', '.join(names)} and give each its part:\n{task}",
            )
            rest = [n for n in names if n != coordinator]
            others = await asyncio.gather(
                *(one(n, f"{task}\n\nYour lead says:\n{lead.output}") for n in rest)
            )
            return [lead, *others]
        return list(await asyncio.gather(*(one(n, task) for n in names)))
    finally:
        await pool.aclose()
        if own_opencode and opencode is not None:
            await opencode.aclose()
