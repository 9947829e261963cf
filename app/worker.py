"""Workers: claim a job (with a lease), keep the lease alive, run it, record the outcome.

`except Exception` sits here on purpose: a job is one of swarm's three error boundaries.
A failing job is retried with backoff when the failure can pass (rate limits, 5xx, a
database hiccup) and failed for good when it cannot (no access, no such pull request).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from swarm_core.errors import GitHubError, StoreError
from swarm_core.github.handlers import Services, handle_job
from swarm_core.logs import current_ids, pop_ids, push_ids
from swarm_core.store.queue import Job, JobQueue

__all__ = ["Worker", "retryable", "worker_pool"]

log = logging.getLogger("swarm.worker")


def retryable(exc: BaseException) -> bool:
    """Whether a failed job should run again later."""
    if isinstance(exc, GitHubError):
        return exc.retryable or exc.status == 401  # 401: an expired token; a new one is minted
    # A malformed job (ValueError, KeyError, TypeError) will not get better; anything else may.
    return not isinstance(exc, ValueError | KeyError | TypeError)


class Worker:
    """One worker loop. Several may run in one process and many processes on one database."""

    def __init__(
        self,
        queue: JobQueue,
        services: Services,
        *,
        name: str | None = None,
        lease_s: float = 600.0,
        per_installation: int = 4,
        poll_s: float = 1.0,
        on_done: Callable[[Job, float, str], None] | None = None,
        handler: Callable[[Job, Services], Awaitable[dict[str, Any]]] = handle_job,
    ) -> None:
        self.handler = handler
        self.queue = queue
        self.services = services
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_s = lease_s
        self.per_installation = per_installation
        self.poll_s = poll_s
        self.on_done = on_done
        self.wake = asyncio.Event()

    async def run_once(self) -> Job | None:
        """Claim and run one job; None when there was nothing to do."""
        job = await asyncio.to_thread(
            self.queue.claim, self.name, lease_s=self.lease_s, per_installation=self.per_installation
        )
        if job is None:
            return None
        await self.process(job)
        return job

    async def _heartbeat(self, job: Job) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            alive = await asyncio.to_thread(self.queue.heartbeat, job.id, self.name, self.lease_s)
            if not alive:
                log.warning("job %s: lease lost to another worker", job.id)
                return

    async def process(self, job: Job) -> None:
        """Run a claimed job and record done, retry or failed."""
        started = time.perf_counter()
        ids = push_ids(job_id=job.id, job_kind=job.kind, delivery_id=job.payload.get("delivery"))
        beat = asyncio.create_task(self._heartbeat(job))
        outcome = "done"
        try:
            result: dict[str, Any] = await self.handler(job, self.services)
        except Exception as exc:  # boundary: one job's failure never stops the worker
            again = retryable(exc)
            message = f"{type(exc).__name__}: {exc}"
            try:
                status = await asyncio.to_thread(self.queue.fail, job.id, self.name, message, retry=again)
            except StoreError as store_exc:
                status = f"unrecorded ({store_exc})"  # the lease expires and the job runs again
            outcome = str(status)
            # One record per failure, with the traceback and the job's (and run's) ids.
            level = logging.ERROR if status == "failed" else logging.WARNING
            log.log(
                level,
                "job %s (%s) failed, now %s: %s",
                job.id,
                job.kind,
                status,
                message,
                exc_info=exc,
                extra=current_ids(),
            )
        else:
            await asyncio.to_thread(self.queue.complete, job.id, self.name, result)
        finally:
            pop_ids(ids)
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
        if self.on_done is not None:
            self.on_done(job, time.perf_counter() - started, outcome)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; sleep `poll_s` (or until woken) when the queue is empty."""
        while not stop.is_set():
            try:
                job = await self.run_once()
            except StoreError as exc:
                log.warning("worker %s: %s", self.name, exc)
                job = None
            if job is None:
                self.wake.clear()
                waiters = [asyncio.create_task(self.wake.wait()), asyncio.create_task(stop.wait())]
                await asyncio.wait(waiters, timeout=self.poll_s, return_when=asyncio.FIRST_COMPLETED)
                for w in waiters:
                    w.cancel()
                await asyncio.gather(*waiters, return_exceptions=True)


def worker_pool(
    queue: JobQueue,
    services: Services,
    settings: Any,
    count: int,
    *,
    poll_s: float = 1.0,
    on_done: Callable[[Job, float, str], None] | None = None,
) -> list[Worker]:
    """`count` workers with the settings' lease and per-installation cap."""
    return [
        Worker(
            queue,
            services,
            lease_s=settings.lease_seconds,
            per_installation=settings.per_installation,
            poll_s=poll_s,
            on_done=on_done,
        )
        for _ in range(count)
    ]
