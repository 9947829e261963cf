"""The App: `create_app(settings)` builds the FastAPI application with its store, queue and workers."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from app import api, webhooks
from app.delivery_writer import DeliveryWriter
from app.metrics import Metrics
from app.redaction import redactor_for
from app.settings import Settings
from app.worker import Worker, worker_pool
from swarm_core import (
    ChangeSet,
    ConfigError,
    Redactor,
    Review,
    SwarmConfig,
    __version__,
    build_engine,
    configure_logging,
    merge,
    open_memory,
)
from swarm_core.github import GitHubClient, Markers, Services, key_from_secret
from swarm_core.store import SqlAdvisoryCache, SqlRunStore, open_store, read_backlog, sqlite_url
from swarm_core.store.queue import Job, JobQueue

__all__ = ["build_metrics", "build_services", "create_app", "job_recorder", "open_database"]


def _data_dir(settings: Settings) -> Path:
    if settings.data_dir is None:
        import platformdirs

        return Path(platformdirs.user_data_dir("swarm", appauthor=False))
    return settings.data_dir.expanduser()


def open_database(settings: Settings) -> SqlRunStore:
    """The store at SWARM_DATABASE_URL, or the embedded SQLite file under SWARM_DATA_DIR."""
    if settings.database_url:
        return open_store(settings.database_url)
    return open_store(sqlite_url(_data_dir(settings)))


class _InstallationClients:
    """One GitHub client per installation, made on first use; PyGithub refreshes its token."""

    def __init__(self, settings: Settings, redactor: Redactor) -> None:
        self._settings = settings
        self._redactor = redactor  # everything the clients write passes it
        self.cache: dict[int, GitHubClient] = {}
        self._markers: Markers | None = None

    def markers(self) -> Markers:
        """The App's marker key (from the webhook secret) and its bot's login, asked of GitHub once."""
        if self._markers is None:
            s = self._settings
            if s.github_app_id is None:
                raise ConfigError("GITHUB_APP_ID is not set")
            slug = (
                s.github_app_slug
                or GitHubClient.for_app(s.github_app_id, s.private_key(), s.github_api_url).app_slug()
            )
            secret = s.github_webhook_secret.get_secret_value() if s.github_webhook_secret else ""
            self._markers = Markers(key_from_secret(secret), f"{slug}[bot]")
        return self._markers

    def __call__(self, installation_id: int | None) -> GitHubClient:
        if installation_id is None:
            raise ValueError("the job has no installation id")
        if installation_id not in self.cache:
            if self._settings.github_app_id is None:
                raise ConfigError("GITHUB_APP_ID is not set")
            self.cache[installation_id] = GitHubClient.for_installation(
                self._settings.github_app_id,
                self._settings.private_key(),
                installation_id,
                self._settings.github_api_url,
                defer_after_s=self._settings.github_wait_seconds,
                redactor=self._redactor,
            )
        return self.cache[installation_id]


def build_services(settings: Settings, store: SqlRunStore, queue: JobQueue) -> Services:
    """Real services: App installation clients and the engine, with swarm memory in Redis
    (SWARM_REDIS_URL) or the database.

    Both `swarm serve` and `swarm worker` start here, so this is also where the process's
    logging is set up (SWARM_LOG_FORMAT, secrets redacted).
    """
    configure_logging(settings.log_format, secrets=settings.secrets(), level=settings.log_level)
    redactor = redactor_for(settings)
    clients = _InstallationClients(settings, redactor)
    memory = open_memory(settings.redis_url, store.engine)
    engine = build_engine(
        settings.provider_keys(),
        model=settings.model,
        memory=memory,
        advisory_cache=SqlAdvisoryCache(store.engine),
    )
    osv = {"analyzers": {"vulnerabilities": {"url": settings.osv_url}}}

    async def review(config: SwarmConfig, change: ChangeSet, *, models: bool = True) -> Review:
        config = merge(config, osv)  # the operator's OSV endpoint, whatever the repository says
        # Redacted before it is stored or posted: a provider's error text may quote its key.
        return redactor.review(await engine.review(config, change, models=models))

    return Services(
        clients=clients,
        store=store,
        queue=queue,
        review=review,
        state=memory,
        council=engine.council,
        specify=engine.specify,
        ask=engine.ask,
        describe=engine.describe,
        cache_dir=_data_dir(settings) / "checkouts",
        budget=settings.budget(),
        client_cache=clients.cache,
        markers=clients.markers,
        check_on_failure=settings.check_on_failure,
    )


def build_metrics(store: SqlRunStore, services: Services) -> Metrics:
    """This process's metrics: jobs it finishes, and the queue and spend read from `store`."""
    return Metrics(
        backlog=lambda: read_backlog(store.engine, time.time()),
        spend=lambda: store.cost_summary("model"),
        rate_remaining=_rates(services.client_cache),
    )


def job_recorder(metrics: Metrics) -> Callable[[Job, float, str], None]:
    """A worker's `on_done`: each finished job counted by kind and outcome, its latency observed."""

    def done(job: Job, seconds: float, outcome: str) -> None:
        metrics.job_finished(job.kind, outcome, seconds)

    return done


def create_app(
    settings: Settings,
    *,
    store: SqlRunStore | None = None,
    services: Services | None = None,
    workers: int = 1,
    poll_s: float = 1.0,
) -> FastAPI:
    """The App. With `workers` > 0 it runs in-process workers, so one process is a complete install."""
    store = store if store is not None else open_database(settings)
    queue = JobQueue(store.engine)
    services = services if services is not None else build_services(settings, store, queue)
    metrics = build_metrics(store, services)
    stop = asyncio.Event()
    intake = DeliveryWriter(queue)
    pool = worker_pool(queue, services, settings, workers, poll_s=poll_s, on_done=job_recorder(metrics))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything loaded at start-up lives as long as the process: move it out of the
        # garbage collector's generations so full collections stay short under load.
        gc.collect()
        gc.freeze()
        # Requests allocate many short-lived objects; collect the young generation less often.
        gc.set_threshold(20_000, 20, 20)
        stop.clear()
        tasks = [asyncio.create_task(w.run(stop), name=w.name) for w in pool]
        try:
            yield
        finally:
            await intake.close()
            stop.set()
            for w in pool:
                w.wake.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await services.state.aclose()
            store.close()

    app = FastAPI(title="swarm", version=__version__, lifespan=lifespan, **api.docs_urls(settings))
    app.state.settings = settings
    app.state.redactor = redactor_for(settings)
    app.state.store = store
    app.state.queue = queue
    app.state.intake = intake
    app.state.services = services
    app.state.memory = services.state
    app.state.metrics = metrics
    app.state.limiter = api.RateLimiter(settings.api_rate_per_minute)
    app.state.workers = pool
    app.state.agents = {}  # agents spawned through POST /api/agents, for this process's lifetime
    app.state.wake = _Wake(pool) if pool else None
    app.router.routes.append(webhooks.ROUTE)
    app.include_router(api.router)
    return app


class _Wake:
    """Wakes the in-process workers when a job is enqueued (they also poll)."""

    def __init__(self, workers: list[Worker]) -> None:
        self._workers = workers

    def set(self) -> None:
        for w in self._workers:
            w.wake.set()


def _rates(cache: Mapping[int, GitHubClient]) -> Callable[[], dict[int, Any]]:
    def read() -> dict[int, Any]:
        return {inst: c.rate_remaining for inst, c in cache.items() if c.rate_remaining is not None}

    return read
