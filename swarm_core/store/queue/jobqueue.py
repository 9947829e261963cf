"""JobQueue: the one interface the App, the worker and the CLI use, on SQLite or Postgres.

Each method is one transaction; what it does lives with the idea it belongs to: claim and
lease (`leases`), the delivery log (`deliveries`), supersede (`supersede`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from swarm_core.errors import StoreError
from swarm_core.store.database import first_line
from swarm_core.store.queue import deliveries as log
from swarm_core.store.queue import leases
from swarm_core.store.queue.records import (
    DONE,
    FAILED,
    QUEUED,
    Delivery,
    Job,
    fit_worker_name,
    job_from_row,
)
from swarm_core.store.queue.supersede import newer_exists, supersede_queued
from swarm_core.store.schema import deliveries, jobs

__all__ = ["DEFAULT_HEARTBEAT_S", "DEFAULT_LEASE_S", "JobQueue"]

# A crash is noticed when its lease runs out: a short lease kept alive by a heartbeat gets
# a dead worker's job running again within about a minute (it was 600 s).
DEFAULT_LEASE_S = 60.0
DEFAULT_HEARTBEAT_S = 15.0


class JobQueue:
    """Jobs and deliveries on a SQLAlchemy engine (tables made by the store's migrations).

    Worker names longer than the lease column holds are shortened with a hash of the
    whole name (`fit_worker_name`), the same way in every method.

    Args:
        engine: SQLite or Postgres.
        clock: wall-clock seconds (tests pass a fake).
        backoff_s: first retry delay; doubled per attempt.
        reap_every_s: how often a claim also fails the jobs whose last attempt's lease ran out.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float] = time.time,
        backoff_s: float = 5.0,
        reap_every_s: float = 10.0,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._backoff = backoff_s
        self._pg = engine.dialect.name == "postgresql"
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reap_every = reap_every_s
        self._next_reap = 0.0

    def now(self) -> float:
        """The queue's clock (what `release` times and `run_after` are measured on)."""
        return self._clock()

    def _tx(self, what: str, fn: Callable[[Connection], Any], *, reconnect: bool = False) -> Any:
        """Run `fn` in one transaction; with `reconnect`, once more if the connection was lost.

        A dropped connection (a restarted or failed-over database, an idle connection cut by a
        proxy) invalidates the pool, so the second try runs on a fresh connection.
        """
        try:
            with self._engine.begin() as conn:
                return fn(conn)
        except DBAPIError as exc:
            if reconnect and exc.connection_invalidated:
                return self._tx(what, fn)
            raise StoreError(f"job queue: cannot {what}: {first_line(exc)}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"job queue: cannot {what}: {first_line(exc)}") from exc

    # enqueue ------------------------------------------------------------------
    def enqueue(
        self,
        kind: str,
        key: str,
        payload: dict[str, Any],
        *,
        installation_id: int | None = None,
        supersede: bool = False,
        max_attempts: int = 5,
    ) -> str:
        """Add a job; with `supersede`, queued jobs of the same kind and key are marked superseded."""

        def work(conn: Connection) -> str:
            now = self._clock()
            if supersede:
                supersede_queued(conn, kind, key, now)
            job_id = uuid.uuid4().hex
            conn.execute(
                jobs.insert().values(
                    id=job_id,
                    kind=kind,
                    key=key,
                    installation_id=installation_id,
                    payload=json.dumps(payload, separators=(",", ":")),
                    status=QUEUED,
                    attempts=0,
                    max_attempts=max_attempts,
                    run_after=now,
                    created_at=now,
                    updated_at=now,
                    error="",
                    result="",
                )
            )
            return job_id

        return str(self._tx("enqueue", work))

    def record_delivery(
        self,
        *,
        hook_id: str,
        guid: str,
        event: str,
        action: str,
        installation_id: int | None,
        repo: str,
        job: tuple[str, str, dict[str, Any], bool] | None,
        outcome: str,
    ) -> Delivery:
        """Record a delivery and enqueue its job (kind, key, payload, supersede) atomically.

        A delivery seen before is not recorded again and enqueues nothing; the first record
        is returned with `duplicate=True`.
        """
        args = {
            "hook_id": hook_id,
            "guid": guid,
            "event": event,
            "action": action,
            "installation_id": installation_id,
            "repo": repo,
            "job": job,
            "outcome": outcome,
        }
        return self.record_deliveries([args])[0]

    def record_deliveries(self, items: list[dict[str, Any]]) -> list[Delivery]:
        """Record many deliveries (the arguments of `record_delivery`) in ONE transaction.

        Group commit: the webhook receiver batches concurrent deliveries so the database
        syncs once per batch, and the batch costs a few statements, not a few per delivery.
        A delivery seen before (in an earlier batch or earlier in this one) is a duplicate;
        of several new jobs with one key in a batch, all but the newest are superseded.
        """
        what = "record deliveries"
        if len({(i["hook_id"], i["guid"]) for i in items}) == len(items):
            try:
                if self._pg:
                    try:
                        return log.record_batch_pg(self._autocommit, items, self._clock())
                    except SQLAlchemyError as exc:
                        raise StoreError(f"job queue: cannot {what}: {first_line(exc)}") from exc
                return list(self._tx(what, lambda c: log.record_batch_fast(c, items, self._clock())))
            except log.SeenBefore:
                pass  # rolled back; the general path sorts out the redeliveries
        return list(self._tx(what, lambda c: log.record_batch(c, items, self._clock(), pg=self._pg)))

    # claim and lease ------------------------------------------------------------
    def claim(
        self,
        worker: str,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        per_installation: int = 4,
        kinds: tuple[str, ...] = (),
    ) -> Job | None:
        """Take the oldest runnable job, or None (see `leases.claim` for what is runnable).

        Every `reap_every_s` a claim also fails for good the jobs whose last allowed attempt
        lost its lease (`failed_jobs` lists them with the reason).
        """
        name = fit_worker_name(worker)

        def work(conn: Connection) -> Job | None:
            now = self._clock()
            if now >= self._next_reap:
                self._next_reap = now + self._reap_every
                leases.reap_expired(conn, now)
            return leases.claim(
                conn, name, now, lease_s=lease_s, per_installation=per_installation, kinds=kinds, pg=self._pg
            )

        job: Job | None = self._tx("claim a job", work)
        return job

    def reap_expired(self) -> list[str]:
        """Fail for good the jobs whose last allowed attempt lost its lease; returns their ids."""
        return list(self._tx("fail expired jobs", lambda c: leases.reap_expired(c, self._clock())))

    def heartbeat(self, job_id: str, worker: str, lease_s: float = DEFAULT_LEASE_S) -> bool:
        """Extend the lease; False when the job is no longer this worker's (it must stop).

        A lost connection is retried once on a fresh one before StoreError is raised.
        """
        name = fit_worker_name(worker)
        return bool(
            self._tx(
                "extend a lease",
                lambda c: leases.extend(c, job_id, name, self._clock() + lease_s),
                reconnect=True,
            )
        )

    # outcomes ---------------------------------------------------------------------
    def complete(self, job_id: str, worker: str, result: dict[str, Any] | None = None) -> bool:
        """Mark done; False when the lease was lost meanwhile (another worker has the job)."""
        now = self._clock()
        text = json.dumps(result or {})
        mine = leases.owned(job_id, fit_worker_name(worker))
        return bool(
            self._tx(
                "complete a job",
                lambda c: (
                    c.execute(
                        jobs.update()
                        .where(mine)
                        .values(
                            status=DONE, lease_owner=None, lease_expires=None, result=text, updated_at=now
                        )
                    ).rowcount
                ),
            )
        )

    def fail(self, job_id: str, worker: str, error: str, *, retry: bool = True) -> str | None:
        """Record a failed attempt: back to the queue with backoff, or FAILED for good.

        Returns the new status, or None when the lease was lost meanwhile.
        """
        mine = leases.owned(job_id, fit_worker_name(worker))

        def work(conn: Connection) -> str | None:
            row = conn.execute(sa.select(jobs).where(mine)).one_or_none()
            if row is None:
                return None
            now = self._clock()
            again = retry and row.attempts < row.max_attempts
            status = QUEUED if again else FAILED
            delay = self._backoff * (2 ** max(0, row.attempts - 1))
            conn.execute(
                jobs.update()
                .where(mine)
                .values(
                    status=status,
                    lease_owner=None,
                    lease_expires=None,
                    run_after=now + delay if again else row.run_after,
                    error=error[:2000],
                    updated_at=now,
                )
            )
            return status

        result: str | None = self._tx("fail a job", work)
        return result

    def release(self, job_id: str, worker: str, not_before: float, reason: str = "") -> bool:
        """Give a job back to wait until `not_before` (the queue's clock); False if the lease was lost.

        For a job that must wait (a rate limit's Retry-After): no worker sleeps through it, and
        the attempt is not counted, since waiting is not the job failing.
        """
        mine = leases.owned(job_id, fit_worker_name(worker))
        now = self._clock()
        return bool(
            self._tx(
                "release a job",
                lambda c: (
                    c.execute(
                        jobs.update()
                        .where(mine)
                        .values(
                            status=QUEUED,
                            lease_owner=None,
                            lease_expires=None,
                            attempts=jobs.c.attempts - 1,
                            run_after=max(now, not_before),
                            error=reason[:2000],
                            updated_at=now,
                        )
                    ).rowcount
                ),
            )
        )

    # inspection -------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        """A job by id."""
        row = self._tx(
            "read a job", lambda c: c.execute(sa.select(jobs).where(jobs.c.id == job_id)).one_or_none()
        )
        return None if row is None else job_from_row(row)

    def failed_jobs(self, limit: int = 50) -> list[Job]:
        """The dead letters: jobs failed for good, newest first, each with the reason in `error`."""
        rows = self._tx(
            "read failed jobs",
            lambda c: c.execute(
                sa.select(jobs).where(jobs.c.status == FAILED).order_by(jobs.c.updated_at.desc()).limit(limit)
            ).all(),
        )
        return [job_from_row(r) for r in rows]

    def superseded(self, job_id: str, key: str) -> bool:
        """True when a newer job of the same kind and key has been enqueued since this one."""
        return bool(self._tx("check for newer jobs", lambda c: newer_exists(c, job_id, key)))

    def delivery_of(self, job_id: str) -> str | None:
        """The GUID of the webhook delivery that enqueued a job (None for API and CLI jobs).

        For logs of failures only: deliveries are not indexed by job, so this reads the table.
        """
        guid = self._tx(
            "read a job's delivery",
            lambda c: c.execute(
                sa.select(deliveries.c.guid).where(deliveries.c.job_id == job_id).limit(1)
            ).scalar(),
        )
        return None if guid is None else str(guid)

    def installation_of(self, repo: str) -> int | None:
        """The App installation that last sent a webhook from `repo` (None when none has).

        An API client names a repository; the job needs the installation whose token can
        read it, and the delivery log is where swarm learnt it.
        """
        value = self._tx(
            "read a repository's installation",
            lambda c: c.execute(
                sa.select(deliveries.c.installation_id)
                .where(deliveries.c.repo == repo, deliveries.c.installation_id.is_not(None))
                .order_by(deliveries.c.received_at.desc())
                .limit(1)
            ).scalar(),
        )
        return None if value is None else int(value)

    def depth(self) -> dict[str, int]:
        """Jobs per status."""
        rows = self._tx(
            "count jobs",
            lambda c: c.execute(sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)).all(),
        )
        return {status: int(n) for status, n in rows}

    def deliveries(self, limit: int = 50) -> list[Delivery]:
        """The newest recorded deliveries."""
        rows = self._tx(
            "read deliveries",
            lambda c: c.execute(
                sa.select(deliveries).order_by(deliveries.c.received_at.desc()).limit(limit)
            ).all(),
        )
        return [
            Delivery(r.hook_id, r.guid, r.event, r.action, r.installation_id, r.repo, r.outcome, r.job_id)
            for r in rows
        ]
