"""Workers: claim a job (with a lease), keep the lease alive, run it, record the outcome.

`except Exception` sits here on purpose: a job is one of swarm's three error boundaries.
A failing job is retried with backoff when the failure can pass (rate limits, 5xx, a
database hiccup) and failed for good when it cannot (no access, no such pull request).
A job that must wait (`RetryLater`, a GitHub rate limit with Retry-After) goes back to the
queue with a not-before time: no worker sleeps through a wait.

The handler runs as its own task beside a heartbeat. When the heartbeat learns that the
lease is gone (another worker took the job after it expired), or cannot renew it before it
runs out, the handler is cancelled: one job never runs on two workers at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from swarm_core import GitHubError, GitHubRateLimited, RetryLater, StoreError, current_ids, pop_ids, push_ids
from swarm_core.github import Services, conclude_failed_job, handle_job
from swarm_core.store.queue import DEFAULT_LEASE_S, FAILED, Job, JobQueue, fit_worker_name

__all__ = ["Worker", "retryable", "worker_pool"]

log = logging.getLogger("swarm.worker")


def retryable(exc: BaseException) -> bool:
    """Whether a failed job should run again later."""
    if isinstance(exc, GitHubError):
        return exc.retryable or exc.status == 401  # 401: an expired token; a new one is minted
    # A malformed job (ValueError, KeyError, TypeError) will not get better; anything else may.
    return not isinstance(exc, ValueError | KeyError | TypeError)


def wait_for(exc: BaseException) -> float | None:
    """Seconds a job must wait before it can go on, when the failure says so; else None."""
    if isinstance(exc, RetryLater):
        return exc.after_s
    if isinstance(exc, GitHubRateLimited) and exc.retry_after is not None:
        return exc.retry_after
    return None


class Worker:
    """One worker loop. Several may run in one process and many processes on one database.

    Args:
        lease_s: how long a claim holds a job without a heartbeat; a crashed worker's job
            runs again after at most this long.
        heartbeat_s: how often the lease is renewed (default: a quarter of the lease, so
            three heartbeats may fail before the lease is at risk).
    """

    def __init__(
        self,
        queue: JobQueue,
        services: Services,
        *,
        name: str | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        heartbeat_s: float | None = None,
        per_installation: int = 4,
        poll_s: float = 1.0,
        on_done: Callable[[Job, float, str], None] | None = None,
        handler: Callable[[Job, Services], Awaitable[dict[str, Any]]] = handle_job,
        gave_up: Callable[[Job, Services, str], Awaitable[Any]] | None = None,
    ) -> None:
        self.handler = handler
        # Called once a job is failed for good. It belongs with the handler: the default
        # handler's closes the job's check run; another handler brings its own, or none.
        self.gave_up = gave_up if gave_up is not None or handler is not handle_job else conclude_failed_job
        self.queue = queue
        self.services = services
        self.name = fit_worker_name(name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
        self.lease_s = lease_s
        self.heartbeat_s = heartbeat_s
        self.per_installation = per_installation
        self.poll_s = poll_s
        self.on_done = on_done
        self.wake = asyncio.Event()

    @property
    def beat_s(self) -> float:
        """Seconds between heartbeats."""
        return self.heartbeat_s if self.heartbeat_s is not None else self.lease_s / 4

    async def run_once(self) -> Job | None:
        """Claim and run one job; None when there was nothing to do."""
        job = await asyncio.to_thread(
            self.queue.claim, self.name, lease_s=self.lease_s, per_installation=self.per_installation
        )
        if job is None:
            return None
        await self.process(job)
        return job

    async def _keep_lease(self, job: Job, work: asyncio.Task[dict[str, Any]], lost: list[str]) -> None:
        """Renew the lease until cancelled; cancel `work` (saying why in `lost`) once it is gone.

        A failed renewal (a dropped connection, a database restart) is logged and tried
        again, on a fresh connection, as long as the lease has time left.
        """
        held_until = time.monotonic() + self.lease_s
        delay = self.beat_s
        while True:
            await asyncio.sleep(delay)
            asked = time.monotonic()
            try:
                alive = await asyncio.to_thread(self.queue.heartbeat, job.id, self.name, self.lease_s)
            except StoreError:
                retry_s = max(0.05, self.beat_s / 3)
                left = held_until - time.monotonic()
                log.warning(
                    "job %s: heartbeat failed, %.1f s of lease left",
                    job.id,
                    left,
                    exc_info=True,
                    extra={"job_id": job.id, "worker": self.name},
                )
                if left > 2 * retry_s:
                    delay = retry_s
                    continue
                lost.append("its lease could not be renewed")
            else:
                if alive:
                    held_until, delay = asked + self.lease_s, self.beat_s
                    continue
                lost.append("another worker holds its lease")
            log.warning(
                "job %s: stopping it, %s", job.id, lost[0], extra={"job_id": job.id, "worker": self.name}
            )
            work.cancel()
            return

    async def process(self, job: Job) -> None:
        """Run a claimed job and record done, retry, wait or failed."""
        started = time.perf_counter()
        # Set before the handler's task is made, so every record it logs carries the job's ids.
        ids = push_ids(job_id=job.id, job_kind=job.kind, delivery_id=job.payload.get("delivery"))

        async def handle() -> dict[str, Any]:
            return await self.handler(job, self.services)

        # The handler's own context: ids it binds (the stored run's) are read back from it when it fails.
        context = contextvars.copy_context()
        work = asyncio.create_task(handle(), name=f"swarm-job-{job.id}", context=context)
        lost: list[str] = []
        keeper = asyncio.create_task(self._keep_lease(job, work, lost), name=f"swarm-lease-{job.id}")
        outcome = "done"
        try:
            result: dict[str, Any] = await work
        except asyncio.CancelledError:
            if not lost:
                raise  # the worker itself is being stopped
            outcome = "lease lost"  # the job is another worker's now: record nothing
        except Exception as exc:  # boundary: one job's failure never stops the worker
            outcome = await self._failed(job, exc, context)
        else:
            await asyncio.to_thread(self.queue.complete, job.id, self.name, result)
        finally:
            pop_ids(ids)
            keeper.cancel()
            work.cancel()
            await asyncio.gather(keeper, work, return_exceptions=True)
        if self.on_done is not None:
            self.on_done(job, time.perf_counter() - started, outcome)

    async def _failed(self, job: Job, exc: Exception, context: contextvars.Context) -> str:
        """Record a failed attempt (or a wait), log it once with the traceback and the ids.

        Returns the outcome, one of a few words (it labels a metric): queued, failed,
        waiting, lease lost or unrecorded.
        """
        after = wait_for(exc)
        message = f"{type(exc).__name__}: {exc}"
        detail = ""
        try:
            if after is not None:
                not_before = self.queue.now() + after
                kept = await asyncio.to_thread(self.queue.release, job.id, self.name, not_before, message)
                outcome, detail = ("waiting", f" {after:.0f} s") if kept else ("lease lost", "")
            else:
                status = await asyncio.to_thread(
                    self.queue.fail, job.id, self.name, message, retry=retryable(exc)
                )
                outcome = status if status is not None else "lease lost"
        except StoreError as store_exc:
            # Nothing recorded: the lease runs out and the job runs again (or is failed for good).
            outcome, detail = "unrecorded", f" ({store_exc})"
        delivery = job.payload.get("delivery")
        if delivery is None:
            try:
                delivery = await asyncio.to_thread(self.queue.delivery_of, job.id)
            except StoreError:
                delivery = None
        ids = {**context.run(current_ids), "job_id": job.id, "delivery_id": delivery, "worker": self.name}
        if outcome == "waiting":
            log.info(
                "job %s (%s, delivery %s) must wait, now waiting%s: %s",
                job.id,
                job.kind,
                delivery,
                detail,
                message,
                extra=ids,
            )
            return outcome
        log.log(
            logging.ERROR if outcome == "failed" else logging.WARNING,
            "job %s (%s, delivery %s, attempt %d of %d) failed, now %s%s: %s",
            job.id,
            job.kind,
            delivery,
            job.attempts,
            job.max_attempts,
            outcome,
            detail,
            message,
            exc_info=exc,
            extra=ids,
        )
        if outcome == FAILED:  # after the record: closing the check run may take GitHub's time
            await self._give_up(job, message)
        return outcome

    async def _give_up(self, job: Job, reason: str) -> None:
        if self.gave_up is None:
            return
        try:
            await self.gave_up(job, self.services, reason)
        except Exception:  # boundary: the job is failed already; this is the last word on it
            log.warning(
                "job %s: could not close its check run", job.id, exc_info=True, extra={"job_id": job.id}
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; sleep `poll_s` (or until woken) when the queue is empty."""
        while not stop.is_set():
            try:
                job = await self.run_once()
            except StoreError as exc:
                log.warning("worker %s: %s", self.name, exc, exc_info=True)
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
    """`count` workers with the settings' lease (a heartbeat every quarter of it) and per-installation cap."""
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
