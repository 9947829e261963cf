"""The HTTP API (the seed's server mode): runs, reviews, swarm memory; health, readiness and metrics.

`/api/*` needs `Authorization: Bearer $SWARM_API_TOKEN` (with no token configured the API
is off: it fails closed) and allows 100 requests a minute per client address.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
import time
from collections import deque
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.metrics import CONTENT_TYPE
from swarm_core.errors import RunNotFound, StoreError
from swarm_core.github.events import pr_key
from swarm_core.render.json import review_to_dict
from swarm_core.store.schema import deliveries

__all__ = ["RateLimiter", "router"]

_API_NS = "api"


class RateLimiter:
    """A sliding one-minute window per key."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        """Record a hit; False when the key is over its budget."""
        t = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= t - 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return False
            hits.append(t)
            return True


def _guard(request: Request) -> None:
    settings = request.app.state.settings
    client = request.client.host if request.client else "unknown"
    if not request.app.state.limiter.allow(client):
        raise HTTPException(429, "rate limit: 100 requests per minute", headers={"Retry-After": "60"})
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    if not token:
        raise HTTPException(403, "the API is off: set SWARM_API_TOKEN to turn it on")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})


router = APIRouter()
api = APIRouter(prefix="/api", dependencies=[Depends(_guard)])


class ReviewRequest(BaseModel):
    """Ask for a review of a pull request in a repository the App is installed on."""

    repo: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    pr: int = Field(gt=0)


class MemoryValue(BaseModel):
    """A swarm memory value with an optional TTL."""

    value: Any
    ttl: float | None = Field(default=None, gt=0)


@api.get("/runs")
async def list_runs(request: Request, limit: int = 20) -> list[dict[str, Any]]:
    """The newest runs."""
    rows = await asyncio.to_thread(request.app.state.store.list_runs, max(1, min(limit, 500)))
    return [r.to_dict() for r in rows]


@api.get("/runs/{run_id}")
async def get_run(request: Request, run_id: str) -> dict[str, Any]:
    """One run: the review (findings) or, for an agents run, its results; evidence and cost."""
    store = request.app.state.store
    try:
        stored = await asyncio.to_thread(store.get_run, run_id)
        exchanges = await asyncio.to_thread(store.get_evidence, stored.summary.id)
    except RunNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    head: dict[str, Any]
    if stored.review is None:
        head = {"kind": stored.summary.kind, "run": stored.document, "cost": stored.document.get("usage", {})}
    else:
        head = {"review": review_to_dict(stored.review), "cost": stored.review.usage.to_dict()}
    return {
        **head,
        "evidence": [
            {
                "kind": e.kind,
                "lane": e.lane,
                "model": e.model,
                "prompt_hash": e.prompt_hash,
                "usage": e.usage.to_dict(),
                "latency_s": e.latency_s,
                "outcome": e.outcome,
                "reason": e.reason,
            }
            for e in exchanges
        ],
    }


@api.post("/reviews", status_code=202)
async def request_review(request: Request, body: ReviewRequest) -> dict[str, Any]:
    """Queue a review of a pull request (the installation is known from the repository's deliveries)."""
    store = request.app.state.store

    def installation() -> int | None:
        query = (
            sa.select(deliveries.c.installation_id)
            .where(deliveries.c.repo == body.repo, deliveries.c.installation_id.is_not(None))
            .order_by(deliveries.c.received_at.desc())
            .limit(1)
        )
        with store.engine.connect() as conn:
            value = conn.execute(query).scalar()
        return int(value) if value is not None else None

    inst = await asyncio.to_thread(installation)
    if inst is None:
        raise HTTPException(
            404, f"swarm has received no webhook from {body.repo}: is the App installed there?"
        )
    payload = {"installation_id": inst, "repo": body.repo, "number": body.pr, "trigger": "api", "rerun": True}
    job_id = await asyncio.to_thread(
        request.app.state.queue.enqueue, "review", pr_key(body.repo, body.pr), payload, installation_id=inst
    )
    if request.app.state.wake is not None:
        request.app.state.wake.set()
    return {"job": job_id}


@api.get("/memory/{key:path}")
async def memory_get(request: Request, key: str) -> dict[str, Any]:
    """A swarm memory value."""
    entry = await request.app.state.memory.get(_API_NS, key)
    if entry is None:
        raise HTTPException(404, f"no memory key {key!r}")
    return {"key": key, "value": entry.value, "created_at": entry.created_at, "expires_at": entry.expires_at}


@api.put("/memory/{key:path}")
async def memory_put(request: Request, key: str, body: MemoryValue) -> dict[str, Any]:
    """Store a swarm memory value."""
    await request.app.state.memory.set(_API_NS, key, body.value, ttl=body.ttl, created_by="api")
    return {"key": key, "stored": True}


@api.delete("/memory/{key:path}")
async def memory_delete(request: Request, key: str) -> dict[str, Any]:
    """Remove a swarm memory value."""
    return {"key": key, "deleted": await request.app.state.memory.delete(_API_NS, key)}


class AgentIn(BaseModel):
    """An agent spawned at run time (POST /api/agents)."""

    name: str = Field(pattern=r"^[\w.-]+$", max_length=60)
    role: str = Field(min_length=1, max_length=4000)
    backend: str = "llm"
    model: str | None = None
    tools: list[str] = Field(default_factory=list)


class ExecuteIn(BaseModel):
    """POST /api/execute."""

    task: str = Field(min_length=1, max_length=20_000)
    agents: list[str] = Field(min_length=1, max_length=20)
    mode: str = Field(default="parallel", pattern="^(parallel|sequential|hierarchical)$")
    coordinator: str | None = None


def _spawned(request: Request) -> dict[str, Any]:
    spawned: dict[str, Any] = request.app.state.agents
    return spawned


def _agent_config(request: Request) -> Any:
    from swarm_core.config import SwarmConfig, merge

    extra = [a.model_dump() for a in _spawned(request).values()]
    return merge(SwarmConfig(), {"agents": extra}) if extra else SwarmConfig()


@api.get("/agents")
async def list_agents(request: Request) -> list[dict[str, str]]:
    """The built-in agents and those spawned through the API, with the model each would use."""
    from swarm_core.agents import agent_table
    from swarm_core.router import Router, load_table

    config = _agent_config(request)
    pool = request.app.state.settings.provider_keys().pool()
    router = Router(load_table(), config.models, pool.available, default=request.app.state.settings.model)
    return [
        {**row, "spawned": str(row["name"] in _spawned(request)).lower()}
        for row in agent_table(config, router)
    ]


@api.post("/agents", status_code=201)
async def spawn_agent(request: Request, body: AgentIn) -> dict[str, Any]:
    """Define an agent for this server's lifetime."""
    if body.backend not in ("llm", "opencode"):
        raise HTTPException(422, "backend must be llm or opencode")
    _spawned(request)[body.name] = body
    return {"agent": body.name, "created": True}


@api.delete("/agents/{name}")
async def delete_agent(request: Request, name: str) -> dict[str, Any]:
    """Remove an agent spawned through the API (built-in agents cannot be removed)."""
    if _spawned(request).pop(name, None) is None:
        raise HTTPException(404, f"no spawned agent {name!r}")
    return {"agent": name, "deleted": True}


@api.post("/execute")
async def execute(request: Request, body: ExecuteIn) -> dict[str, Any]:
    """Run a task on agents; the run is stored. Returns its id, status, cost and each
    agent's result, status, time, tokens and cost."""
    from swarm_core.agents import OpenCode, run_agents
    from swarm_core.errors import SwarmError

    settings = request.app.state.settings
    config = _agent_config(request)
    pool = settings.provider_keys().pool()
    password = settings.opencode_password
    opencode = OpenCode(config.opencode_url, password=password.get_secret_value() if password else None)
    try:
        run = await run_agents(
            body.task,
            body.agents,
            config,
            pool,
            model=request.app.state.settings.model,
            mode=body.mode,
            coordinator=body.coordinator,
            opencode=opencode,
        )
    except SwarmError as exc:
        raise HTTPException(422, str(exc)) from None
    finally:
        await opencode.aclose()
    await asyncio.to_thread(run.save, request.app.state.store, body.agents)
    return run.to_dict()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> dict[str, Any]:
    """The database answers."""
    try:
        depth = await asyncio.to_thread(request.app.state.queue.depth)
    except StoreError as exc:
        raise HTTPException(503, f"database unavailable: {exc}") from None
    return {"status": "ready", "queue": depth}


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: deliveries, jobs and their latency, queue depth and wait, model spend."""
    body = await asyncio.to_thread(request.app.state.metrics.render)  # it reads the database
    return Response(body, media_type=CONTENT_TYPE)


router.include_router(api)
