"""The worker under faults: lost leases stop the handler, heartbeats survive a dropped connection,
waits are releases, and every failed job leaves one log record with its traceback and ids."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.settings import load_settings
from app.worker import Worker
from swarm_core.errors import GitHubRateLimited, RetryLater, StoreError
from swarm_core.store.queue import DONE, FAILED, QUEUED, RUNNING, Job, JobQueue


class Slow:
    """A handler that runs `seconds` and notes whether it was cancelled."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = threading.Event()
        self.cancelled = False

    async def __call__(self, job: Job, services: Any) -> dict[str, Any]:
        self.started.set()
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return {"slept": self.seconds}


def _outcomes(worker: Worker) -> list[str]:
    seen: list[str] = []
    worker.on_done = lambda job, elapsed, outcome: seen.append(outcome)
    return seen


def test_default_lease_is_a_minute_with_a_heartbeat_every_quarter(tmp_path: Path) -> None:
    worker = Worker(JobQueue(sa.create_engine("sqlite://")), None)  # type: ignore[arg-type]
    assert (worker.lease_s, worker.beat_s) == (60.0, 15.0)
    assert load_settings({"SWARM_DATA_DIR": str(tmp_path)}).lease_seconds == 60.0


def test_a_lost_lease_cancels_the_running_handler(engine: sa.Engine) -> None:
    queue = JobQueue(engine)
    job_id = queue.enqueue("review", "pr:o/r#1", {})
    handler = Slow(5.0)
    worker = Worker(queue, None, name="w1", lease_s=0.6, heartbeat_s=0.1, handler=handler)  # type: ignore[arg-type]
    outcomes = _outcomes(worker)

    async def main() -> None:
        running = asyncio.create_task(worker.run_once())
        await asyncio.to_thread(handler.started.wait, 5)
        with engine.begin() as conn:  # what a second worker does once it took the job over
            conn.execute(sa.text("UPDATE jobs SET lease_owner = 'w2' WHERE id = :id"), {"id": job_id})
        await asyncio.wait_for(running, 2.0)  # not the handler's 5 s

    asyncio.run(main())
    job = queue.get(job_id)
    assert handler.cancelled and outcomes == ["lease lost"]
    assert job is not None and (job.status, job.lease_owner) == (RUNNING, "w2")  # w1 recorded nothing


class FlakyQueue(JobQueue):
    """Heartbeats fail the first `failures` times, as when the database connection drops."""

    def __init__(self, engine: sa.Engine, failures: int) -> None:
        super().__init__(engine)
        self.failures = failures

    def heartbeat(self, job_id: str, worker: str, lease_s: float = 60.0) -> bool:
        if self.failures > 0:
            self.failures -= 1
            raise StoreError("job queue: cannot extend a lease: server closed the connection unexpectedly")
        return super().heartbeat(job_id, worker, lease_s)


def test_a_failed_heartbeat_is_logged_and_retried_before_the_lease_is_given_up(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    queue = FlakyQueue(engine, failures=2)
    job_id = queue.enqueue("review", "pr:o/r#1", {})
    handler = Slow(1.2)
    worker = Worker(queue, None, name="w1", lease_s=0.8, heartbeat_s=0.2, handler=handler)  # type: ignore[arg-type]
    outcomes = _outcomes(worker)
    with caplog.at_level(logging.WARNING, logger="swarm.worker"):
        asyncio.run(worker.run_once())
    failed = [r for r in caplog.records if r.getMessage().startswith(f"job {job_id}: heartbeat failed")]
    assert len(failed) == 2 and all(r.exc_info and r.exc_info[0] is StoreError for r in failed)
    assert outcomes == ["done"] and not handler.cancelled
    assert queue.get(job_id).status == DONE  # type: ignore[union-attr]

    # A heartbeat that never comes back: the handler stops before the lease runs out.
    caplog.clear()
    queue.failures = 1000
    stuck = queue.enqueue("review", "pr:o/r#2", {})
    handler = Slow(5.0)
    worker.handler = handler
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="swarm.worker"):
        asyncio.run(worker.run_once())
    assert time.monotonic() - started < 2.0 and handler.cancelled  # not the handler's 5 s
    assert outcomes[-1] == "lease lost"
    assert caplog.records[-1].getMessage() == f"job {stuck}: stopping it, its lease could not be renewed"


def test_heartbeats_survive_a_terminated_postgres_connection(url: str, engine: sa.Engine) -> None:
    """pg_terminate_backend used to end a job's heartbeats silently: a second worker then ran it too."""
    if not url.startswith("postgresql"):
        pytest.skip("Postgres only: pg_terminate_backend")
    queue = JobQueue(engine)
    job_id = queue.enqueue("review", "pr:o/r#1", {})
    handler = Slow(3.0)
    worker = Worker(queue, None, name="w1", lease_s=1.5, heartbeat_s=0.3, handler=handler)  # type: ignore[arg-type]
    outcomes = _outcomes(worker)
    rival_engine = sa.create_engine(url)
    rival = JobQueue(rival_engine)
    taken: list[Job] = []

    def drop_and_compete() -> None:
        handler.started.wait(5)
        time.sleep(0.3)  # the worker's pooled connection has served a heartbeat
        with rival_engine.connect() as conn:
            killed = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
        assert killed
        rival_engine.dispose()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            try:
                job = rival.claim("w2", lease_s=30)
            except StoreError:
                continue
            if job is not None:
                taken.append(job)
            time.sleep(0.1)

    thread = threading.Thread(target=drop_and_compete)
    thread.start()
    asyncio.run(worker.run_once())
    thread.join()
    rival_engine.dispose()
    job = queue.get(job_id)
    assert taken == [] and outcomes == ["done"]
    assert job is not None and (job.status, job.attempts) == (DONE, 1)


def _run_failing(queue: JobQueue, exc: Exception) -> tuple[Job, list[str]]:
    async def handler(job: Job, services: Any) -> dict[str, Any]:
        raise exc

    worker = Worker(queue, None, name="w1", handler=handler)  # type: ignore[arg-type]
    outcomes = _outcomes(worker)
    job = asyncio.run(worker.run_once())
    assert job is not None
    after = queue.get(job.id)
    assert after is not None
    return after, outcomes


def test_a_job_that_must_wait_is_released_with_a_not_before_time(engine: sa.Engine) -> None:
    queue = JobQueue(engine)
    queue.enqueue("review", "pr:o/r#1", {})
    before = time.time()
    job, outcomes = _run_failing(queue, RetryLater("GitHub asked to wait", after_s=120))
    assert (job.status, job.attempts, job.error) == (QUEUED, 0, "RetryLater: GitHub asked to wait")
    assert before + 120 <= job.run_after <= time.time() + 120 and outcomes == ["waiting"]

    queue.enqueue("review", "pr:o/r#2", {})
    limited = GitHubRateLimited("secondary rate limit", status=403, retry_after=90)
    job, outcomes = _run_failing(queue, limited)
    assert (job.status, job.attempts) == (QUEUED, 0) and job.run_after >= before + 90
    assert outcomes == ["waiting"]


def test_every_failed_job_logs_one_record_with_its_traceback_and_ids(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    queue = JobQueue(engine)
    delivery = queue.record_delivery(
        hook_id="1",
        guid="d6f0-delivery",
        event="pull_request",
        action="opened",
        installation_id=3,
        repo="o/r",
        job=("review", "pr:o/r#1", {"number": 1}, True),
        outcome="queued: review",
    )
    with caplog.at_level(logging.INFO, logger="swarm.worker"):
        job, outcomes = _run_failing(queue, KeyError("head"))
    assert job.id == delivery.job_id and (job.status, outcomes) == (FAILED, ["failed"])
    (record,) = [r for r in caplog.records if r.name == "swarm.worker"]
    assert record.levelno == logging.ERROR and record.exc_info and record.exc_info[0] is KeyError
    assert (record.job_id, record.delivery_id) == (job.id, "d6f0-delivery")  # type: ignore[attr-defined]
    assert record.getMessage() == (
        f"job {job.id} (review, delivery d6f0-delivery, attempt 1 of 5) failed, now failed: KeyError: 'head'"
    )
