"""The HTTP API (the seed's server mode): runs, reviews, failed jobs, memory, learnings; health and metrics.

`/api/*` needs `Authorization: Bearer $SWARM_API_TOKEN` (with no token configured the API
is off: it fails closed). Authentication comes first: an authenticated client is limited
per token (SWARM_API_RATE_PER_MINUTE), and only failed attempts are counted per address, so
anonymous traffic behind a shared proxy can never lock the token holder out. Request bodies
are capped (SWARM_API_MAX_BODY_BYTES) while they stream in. `/metrics` and the queue depth in
`/readyz` need the token too unless the operator opens them; `/healthz` is always open.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypedDict

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.responses import Response

from app.body_cap import read_capped
from app.metrics import CONTENT_TYPE
from swarm_core import LearningNotFound, RunNotFound, StoreError
from swarm_core.github import pr_key
from swarm_core.render import review_to_dict
from swarm_core.store import LearningStore

__all__ = ["DocsUrls", "RateLimiter", "docs_urls", "router"]

_API_NS = "api"
log = logging.getLogger("swarm.api")


class RateLimiter:
    """A sliding one-minute window per key, for at most `max_keys` keys.

    The table is bounded: past `max_keys`, the key seen longest ago is evicted, so a flood of
    new addresses costs a fixed amount of memory.
    """

    def __init__(self, per_minute: int, *, max_keys: int = 10_000) -> None:
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._hits)

    def allow(self, key: str, now: float | None = None) -> bool:
        """Record a hit; False when the key is over its budget."""
        t = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
                while len(self._hits) > self.max_keys:
                    self._hits.popitem(last=False)
            else:
                self._hits.move_to_end(key)
            while hits and hits[0] <= t - 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return False
            hits.append(t)
            return True


def _token(request: Request) -> str:
    settings = request.app.state.settings
    return str(settings.api_token.get_secret_value()) if settings.api_token else ""


def _authenticated(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "").encode("utf-8", "surrogateescape")
    return bool(token) and hmac.compare_digest(given, f"Bearer {token}".encode())


def _limited(request: Request, key: str) -> None:
    limiter: RateLimiter = request.app.state.limiter
    if not limiter.allow(key):
        raise HTTPException(
            429, f"rate limit: {limiter.per_minute} requests per minute", headers={"Retry-After": "60"}
        )


def _guard(request: Request) -> None:
    """Authenticate, then count the request against the token's (or a failing address's) limit."""
    token = _token(request)
    if not token:
        raise HTTPException(403, "the API is off: set SWARM_API_TOKEN to turn it on")
    if _authenticated(request, token):
        # Keyed by a digest: the limiter's table never holds the token itself.
        _limited(request, "token:" + hashlib.sha256(token.encode()).hexdigest()[:16])
        return
    client = request.client.host if request.client else "unknown"
    _limited(request, "failed:" + client)
    raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})


def _metrics_guard(request: Request) -> None:
    """`/metrics` names installations: it needs the token unless SWARM_METRICS_PUBLIC opens it."""
    if not request.app.state.settings.metrics_public:
        _guard(request)


class _CappedRequest(Request):
    """A request whose body is read with a running byte count and refused past the API's cap."""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            cap: int = self.app.state.settings.api_max_body_bytes
            body = await read_capped(self, cap)
            if body is None:
                raise HTTPException(413, f"request body over {cap} bytes (SWARM_API_MAX_BODY_BYTES)")
            self._body = body
        return self._body


class _CappedRoute(APIRoute):
    """FastAPI reads a body before it solves dependencies: the cap must hold in that read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def capped(request: Request) -> Response:
            return await handler(_CappedRequest(request.scope, request.receive))

        return capped


class DocsUrls(TypedDict):
    """FastAPI's arguments for its documentation pages."""

    docs_url: str | None
    redoc_url: str | None
    openapi_url: str | None


def docs_urls(settings: Any) -> DocsUrls:
    """FastAPI's docs_url, redoc_url and openapi_url: off unless SWARM_API_DOCS turns them on."""
    if settings.api_docs:
        return {"docs_url": "/docs", "redoc_url": "/redoc", "openapi_url": "/openapi.json"}
    return {"docs_url": None, "redoc_url": None, "openapi_url": None}


# Identifiers in paths: bounded by their columns, and no NUL or control characters (Postgres
# refuses NUL in text; it was a 500).
RunId = Annotated[str, Path(max_length=32, pattern=r"^[\w.-]+$")]
MemoryKey = Annotated[str, Path(max_length=512, pattern=r"^[^\x00-\x1f\x7f]+$")]

router = APIRouter()
api = APIRouter(prefix="/api", dependencies=[Depends(_guard)], route_class=_CappedRoute)


class ReviewRequest(BaseModel):
    """Ask for a review of a pull request in a repository the App is installed on."""

    repo: str = Field(pattern=r"^[\w.-]+/[\w.-]+$", max_length=256)
    pr: int = Field(gt=0, le=2**31 - 1)


class MemoryValue(BaseModel):
    """A swarm memory value with an optional TTL."""

    value: Any
    ttl: float | None = Field(default=None, gt=0)


@api.get("/runs")
async def list_runs(request: Request, limit: int = 20) -> list[dict[str, Any]]:
    """The newest runs."""
    rows = await asyncio.to_thread(request.app.state.store.list_runs, max(1, min(limit, 500)))
    return [request.app.state.redactor.data(r.to_dict()) for r in rows]


@api.get("/runs/{run_id}")
async def get_run(request: Request, run_id: RunId) -> dict[str, Any]:
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
    answer = {
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
    # Runs stored before redaction existed (or by another face) still never leave with a key.
    redacted: dict[str, Any] = request.app.state.redactor.data(answer)
    return redacted


@api.post("/reviews", status_code=202)
async def request_review(request: Request, body: ReviewRequest) -> dict[str, Any]:
    """Queue a review of a pull request (the installation is known from the repository's deliveries)."""
    inst = await asyncio.to_thread(request.app.state.queue.installation_of, body.repo)
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


@api.get("/jobs/failed")
async def failed_jobs(request: Request, limit: int = 50) -> list[dict[str, Any]]:
    """The dead letters: jobs failed for good, newest first, each with the reason it was given up for."""
    jobs = await asyncio.to_thread(request.app.state.queue.failed_jobs, max(1, min(limit, 500)))
    # A reason quotes an exception's text, which may quote a token or a key.
    return [request.app.state.redactor.data(job.dead_letter()) for job in jobs]


@api.get("/memory/{key:path}")
async def memory_get(request: Request, key: MemoryKey) -> dict[str, Any]:
    """A swarm memory value."""
    entry = await request.app.state.memory.get(_API_NS, key)
    if entry is None:
        raise HTTPException(404, f"no memory key {key!r}")
    return {"key": key, "value": entry.value, "created_at": entry.created_at, "expires_at": entry.expires_at}


@api.put("/memory/{key:path}")
async def memory_put(request: Request, key: MemoryKey, body: MemoryValue) -> dict[str, Any]:
    """Store a swarm memory value."""
    await request.app.state.memory.set(_API_NS, key, body.value, ttl=body.ttl, created_by="api")
    return {"key": key, "stored": True}


@api.delete("/memory/{key:path}")
async def memory_delete(request: Request, key: MemoryKey) -> dict[str, Any]:
    """Remove a swarm memory value."""
    return {"key": key, "deleted": await request.app.state.memory.delete(_API_NS, key)}


@api.get("/learnings")
async def list_learnings(
    request: Request, repo: str | None = None, installation_id: int | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """The team's learnings, newest first, narrowed by repository ("" for the installation tier),
    installation and status (active, quarantined, forgotten)."""
    store = LearningStore(request.app.state.store.engine)
    try:
        rows = await asyncio.to_thread(
            store.list_learnings, installation_id=installation_id, repo=repo, status=status
        )
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return [request.app.state.redactor.data(lr.to_dict()) for lr in rows]


@api.delete("/learnings/{learning_id}")
async def forget_learning(
    request: Request, learning_id: Annotated[int, Path(gt=0, le=2**31 - 1)]
) -> dict[str, Any]:
    """Forget a learning: reviews stop using it, and the feedback it came from is not captured again."""
    store = LearningStore(request.app.state.store.engine)
    try:
        learning = await asyncio.to_thread(store.forget, learning_id)
    except LearningNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    forgotten: dict[str, Any] = request.app.state.redactor.data(learning.to_dict())
    return forgotten


class AgentIn(BaseModel):
    """An agent spawned at run time (POST /api/agents)."""

    name: str = Field(pattern=r"^[\w.-]+$", max_length=60)
    role: str = Field(min_length=1, max_length=4000)
    backend: str = Field(default="llm", max_length=32)
    model: str | None = Field(default=None, max_length=200)
    tools: list[str] = Field(default_factory=list, max_length=50)


class ExecuteIn(BaseModel):
    """POST /api/execute."""

    task: str = Field(min_length=1, max_length=20_000)
    agents: list[Annotated[str, Field(max_length=60)]] = Field(min_length=1, max_length=20)
    mode: str = Field(default="parallel", pattern="^(parallel|sequential|hierarchical)$")
    coordinator: str | None = Field(default=None, max_length=60)


def _spawned(request: Request) -> dict[str, Any]:
    spawned: dict[str, Any] = request.app.state.agents
    return spawned


def _agent_config(request: Request) -> Any:
    from swarm_core import SwarmConfig, merge

    extra = [a.model_dump() for a in _spawned(request).values()]
    return merge(SwarmConfig(), {"agents": extra}) if extra else SwarmConfig()


@api.get("/agents")
async def list_agents(request: Request) -> list[dict[str, str]]:
    """The built-in agents and those spawned through the API, with the model each would use."""
    from swarm_core import Router, load_table
    from swarm_core.agents import agent_table

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
    from swarm_core import SwarmError
    from swarm_core.agents import OpenCode, run_agents

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
    answer: dict[str, Any] = request.app.state.redactor.data(run.to_dict())
    return answer


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> dict[str, Any]:
    """The database answers; the queue depth only for the token holder (or with metrics opened)."""
    try:
        depth = await asyncio.to_thread(request.app.state.queue.depth)
    except StoreError as exc:
        log.warning("readiness check: %s", exc)
        raise HTTPException(503, "database unavailable") from None
    if request.app.state.settings.metrics_public or _authenticated(request, _token(request)):
        return {"status": "ready", "queue": depth}
    return {"status": "ready"}


@router.get("/metrics", response_class=Response, dependencies=[Depends(_metrics_guard)])
async def metrics(request: Request) -> Response:
    """Prometheus metrics: deliveries, jobs and their latency, queue depth and wait, model spend."""
    body = await asyncio.to_thread(request.app.state.metrics.render)  # it reads the database
    return Response(body, media_type=CONTENT_TYPE)


router.include_router(api)
