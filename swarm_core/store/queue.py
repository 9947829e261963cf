"""The durable job queue and the delivery log (DESIGN §6): SQLite by default, Postgres at scale.

- A job is claimed with a lease; a worker that dies loses its lease and the job runs again.
  On Postgres candidates are read with `FOR UPDATE SKIP LOCKED`; everywhere the claim
  itself is a conditional UPDATE, so two workers never hold one job at the same time.
- Jobs with one key (a pull request) run one at a time, and a newer job supersedes the
  queued ones with its key (a new push replaces a review nobody started yet).
- At most `per_installation` jobs of one installation run at once. A claim checks the cap
  again after taking its job, under SQLite's write lock or, on Postgres, an advisory lock
  per installation, so workers claiming at the same instant cannot overshoot it.
- A failed attempt is retried with exponential backoff until `max_attempts`.
- Recording a webhook delivery and enqueueing its job happen in one transaction, keyed
  by (hook id, delivery GUID): a redelivery is recognised and enqueues nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from swarm_core.errors import StoreError
from swarm_core.store.schema import deliveries, jobs

__all__ = [
    "DONE",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "SUPERSEDED",
    "Delivery",
    "Job",
    "JobQueue",
    "SeenBefore",
    "Statement",
    "plan_fast_batch",
]

QUEUED, RUNNING, DONE, FAILED, SUPERSEDED = "queued", "running", "done", "failed", "superseded"


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed (or inspected) job."""

    id: str
    kind: str
    key: str
    installation_id: int | None
    payload: dict[str, Any]
    status: str
    attempts: int
    max_attempts: int
    lease_owner: str | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    """A webhook delivery as recorded: `duplicate` when it had been accepted before."""

    hook_id: str
    guid: str
    event: str
    action: str
    installation_id: int | None
    repo: str
    outcome: str
    job_id: str | None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Statement:
    """One pre-written statement of a fast batch; `expect`: the row count it must report."""

    sql: str
    params: Any
    many: bool = False
    expect: int | None = None


def plan_fast_batch(
    items: list[dict[str, Any]], now: float, *, pg: bool
) -> tuple[list[Delivery], list[Statement]]:
    """The statements that record a batch of new deliveries and their jobs (pure).

    Postgres: ONE statement, the multi-row insert of the deliveries, the supersede and the
    job insert as data-modifying CTEs, meant to run autocommitted (one round trip); a
    duplicate delivery makes it fail with a unique violation. SQLite: executemany and one
    UPDATE per key, in the caller's transaction, with the row count to `expect`.
    """
    rows: list[tuple[Any, ...]] = []
    out: list[Delivery] = []
    newest: dict[tuple[str, str], str] = {}
    for item in items:
        job_id = uuid.uuid4().hex if item["job"] is not None else None
        rows.append(
            (
                item["hook_id"],
                item["guid"],
                now,
                item["event"],
                item["action"],
                item["installation_id"],
                item["repo"],
                item["outcome"],
                job_id,
            )
        )
        out.append(
            Delivery(
                item["hook_id"],
                item["guid"],
                item["event"],
                item["action"],
                item["installation_id"],
                item["repo"],
                item["outcome"],
                job_id,
            )
        )
        if job_id is not None and item["job"][3]:
            newest[(item["job"][0], item["job"][1])] = job_id
    job_rows = []
    for item, d in zip(items, out, strict=True):
        if d.job_id is None:
            continue
        kind, key, payload, supersede = item["job"]
        stale = supersede and newest[(kind, key)] != d.job_id
        job_rows.append(
            (
                d.job_id,
                kind,
                key,
                item["installation_id"],
                _json_text(payload),
                SUPERSEDED if stale else QUEUED,
                0,
                5,
                now,
                now,
                now,
                "",
                "",
            )
        )
    columns = ", ".join(_DELIVERY_COLUMNS)
    job_columns = ", ".join(_JOB_COLUMNS)
    statements: list[Statement] = []
    if pg:
        # ONE statement of constant text, run outside an explicit transaction: a single round
        # trip that is its own transaction. The rows travel as one JSON document per table,
        # expanded by the server (json_populate_recordset): a VALUES list with a placeholder
        # per value made psycopg re-parse a long, never-cached query text every batch (3 ms
        # of GIL for 30 rows), and per-column arrays cost nearly as much in psycopg's
        # Python array dumper. A delivery recorded before makes the plain INSERT fail with a
        # unique violation, which rolls the whole statement back (the caller's SeenBefore).
        recorded = _json_text([dict(zip(_DELIVERY_COLUMNS, r, strict=True)) for r in rows])
        if not job_rows:
            statements.append(Statement(_PG_DELIVERIES, (recorded,)))
            return out, statements
        superseded = _json_text([{"key": key, "kind": kind} for kind, key in newest])
        queued = _json_text([dict(zip(_JOB_COLUMNS, r, strict=True)) for r in job_rows])
        params = (recorded, SUPERSEDED, now, QUEUED, superseded, queued)
        statements.append(Statement(_PG_DELIVERIES_AND_JOBS, params))
        return out, statements
    statements.append(
        Statement(
            f"INSERT INTO deliveries ({columns}) VALUES ({', '.join(['?'] * 9)}) ON CONFLICT DO NOTHING",
            rows,
            many=True,
            expect=len(rows),
        )
    )
    for kind, key in newest:
        statements.append(
            Statement(
                "UPDATE jobs SET status = ?, updated_at = ? WHERE key = ? AND kind = ? AND status = ?",
                (SUPERSEDED, now, key, kind, QUEUED),
            )
        )
    if job_rows:
        statements.append(
            Statement(
                f"INSERT INTO jobs ({job_columns}) VALUES ({', '.join(['?'] * 13)})", job_rows, many=True
            )
        )
    return out, statements


_DELIVERY_COLUMNS = (
    "hook_id", "guid", "received_at", "event", "action", "installation_id", "repo", "outcome", "job_id"
)  # fmt: skip
_JOB_COLUMNS = (
    "id", "kind", "key", "installation_id", "payload", "status", "attempts", "max_attempts",
    "run_after", "created_at", "updated_at", "error", "result",
)  # fmt: skip
_PG_DELIVERIES = "INSERT INTO deliveries SELECT * FROM json_populate_recordset(NULL::deliveries, %s::json)"
_PG_DELIVERIES_AND_JOBS = (
    f"WITH recorded AS ({_PG_DELIVERIES}), "
    "superseded AS (UPDATE jobs SET status = %s, updated_at = %s WHERE status = %s "
    "AND (key, kind) IN (SELECT key, kind FROM json_to_recordset(%s::json) AS s(key text, kind text))) "
    "INSERT INTO jobs SELECT * FROM json_populate_recordset(NULL::jobs, %s::json)"
)

try:
    import orjson

    def _json_text(value: Any) -> str:
        return orjson.dumps(value).decode()

except ImportError:  # the engine alone does not need orjson; the App installs it

    def _json_text(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))


class SeenBefore(Exception):
    """A delivery of a fast-path batch was recorded before: redo the batch the general way."""


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        key=row.key,
        installation_id=row.installation_id,
        payload=json.loads(row.payload),
        status=row.status,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        lease_owner=row.lease_owner,
        error=row.error,
    )


class JobQueue:
    """Jobs and deliveries on a SQLAlchemy engine (tables made by the store's migrations).

    Args:
        engine: SQLite or Postgres.
        clock: wall-clock seconds (tests pass a fake).
        backoff_s: first retry delay; doubled per attempt.
    """

    def __init__(
        self, engine: Engine, *, clock: Callable[[], float] = time.time, backoff_s: float = 5.0
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._backoff = backoff_s
        self._pg = engine.dialect.name == "postgresql"
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    def _tx(self, what: str, fn: Callable[[Connection], Any]) -> Any:
        try:
            with self._engine.begin() as conn:
                return fn(conn)
        except SQLAlchemyError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"job queue: cannot {what}: {first}") from None

    # enqueue ------------------------------------------------------------------
    def _insert(
        self,
        conn: Connection,
        kind: str,
        key: str,
        payload: dict[str, Any],
        installation_id: int | None,
        supersede: bool,
        max_attempts: int,
    ) -> str:
        now = self._clock()
        if supersede:
            conn.execute(
                jobs.update()
                .where(jobs.c.key == key, jobs.c.kind == kind, jobs.c.status == QUEUED)
                .values(status=SUPERSEDED, updated_at=now)
            )
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
        return str(
            self._tx(
                "enqueue",
                lambda c: self._insert(c, kind, key, payload, installation_id, supersede, max_attempts),
            )
        )

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
        if len({(i["hook_id"], i["guid"]) for i in items}) == len(items):
            try:
                if self._pg:
                    return self._record_batch_pg(items)
                return list(self._tx("record deliveries", lambda c: self._record_batch_fast(c, items)))
            except SeenBefore:
                pass  # rolled back; the general path sorts out the redeliveries
        return list(self._tx("record deliveries", lambda c: self._record_batch(c, items)))

    def _record_batch_fast(self, conn: Connection, items: list[dict[str, Any]]) -> list[Delivery]:
        """The common case, with pre-written SQL: every delivery of the batch is new.

        The intake's hot path: it skips SQLAlchemy's statement building, which costs more
        than the database itself. Raises SeenBefore (the transaction rolls back) when a
        delivery was recorded before.
        """
        out, statements = plan_fast_batch(items, self._clock(), pg=self._pg)
        for st in statements:
            done = conn.exec_driver_sql(st.sql, st.params).rowcount
            if st.expect is not None and done != st.expect:
                raise SeenBefore
        return out

    def _record_batch_pg(self, items: list[dict[str, Any]]) -> list[Delivery]:
        """The common case on Postgres: one autocommitted statement, so one round trip.

        BEGIN, two statements and COMMIT were four round trips, each one a wait for the
        GIL in the writer thread while the event loop parses requests: the batch took
        4 ms and the intake stalled behind it. Raises SeenBefore on a duplicate delivery.
        """
        out, statements = plan_fast_batch(items, self._clock(), pg=True)
        try:
            with self._autocommit.connect() as conn:
                for st in statements:
                    conn.exec_driver_sql(st.sql, st.params)
        except IntegrityError:
            raise SeenBefore from None
        except SQLAlchemyError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"job queue: cannot record deliveries: {first}") from None
        return out

    def _record_batch(self, conn: Connection, items: list[dict[str, Any]]) -> list[Delivery]:
        now = self._clock()
        rows: list[dict[str, Any]] = []
        first: dict[tuple[str, str], int] = {}
        for n, item in enumerate(items):
            ident = (item["hook_id"], item["guid"])
            first.setdefault(ident, n)
            rows.append(
                {
                    "hook_id": item["hook_id"],
                    "guid": item["guid"],
                    "received_at": now,
                    "event": item["event"],
                    "action": item["action"],
                    "installation_id": item["installation_id"],
                    "repo": item["repo"],
                    "outcome": item["outcome"],
                    "job_id": uuid.uuid4().hex if item["job"] is not None else None,
                }
            )
        unique = [rows[n] for n in sorted(first.values())]
        stmt = self._insert_ignore(deliveries).returning(deliveries.c.hook_id, deliveries.c.guid)
        inserted = {(r.hook_id, r.guid) for r in conn.execute(stmt, unique)}
        fresh = [
            (items[n], rows[n])
            for ident, n in first.items()
            if ident in inserted and items[n]["job"] is not None
        ]
        if fresh:
            self._insert_jobs(conn, fresh, now)
        out: list[Delivery] = []
        for n, row in enumerate(rows):
            ident = (row["hook_id"], row["guid"])
            if ident in inserted and first[ident] == n:
                out.append(
                    Delivery(
                        row["hook_id"],
                        row["guid"],
                        row["event"],
                        row["action"],
                        row["installation_id"],
                        row["repo"],
                        row["outcome"],
                        row["job_id"],
                    )
                )
                continue
            old = conn.execute(
                sa.select(deliveries).where(deliveries.c.hook_id == ident[0], deliveries.c.guid == ident[1])
            ).one()
            out.append(
                Delivery(
                    old.hook_id,
                    old.guid,
                    old.event,
                    old.action,
                    old.installation_id,
                    old.repo,
                    old.outcome,
                    old.job_id,
                    duplicate=True,
                )
            )
        return out

    def _insert_jobs(
        self, conn: Connection, fresh: list[tuple[dict[str, Any], dict[str, Any]]], now: float
    ) -> None:
        """The jobs of newly recorded deliveries: one supersede UPDATE per key, one INSERT for all."""
        newest: dict[tuple[str, str], str] = {}
        for item, row in fresh:
            kind, key, _payload, supersede = item["job"]
            if supersede:
                newest[(kind, key)] = row["job_id"]
        for kind, key in newest:
            conn.execute(
                jobs.update()
                .where(jobs.c.key == key, jobs.c.kind == kind, jobs.c.status == QUEUED)
                .values(status=SUPERSEDED, updated_at=now)
            )
        values = []
        for item, row in fresh:
            kind, key, payload, supersede = item["job"]
            stale = supersede and newest[(kind, key)] != row["job_id"]
            values.append(
                {
                    "id": row["job_id"],
                    "kind": kind,
                    "key": key,
                    "installation_id": item["installation_id"],
                    "payload": json.dumps(payload, separators=(",", ":")),
                    "status": SUPERSEDED if stale else QUEUED,
                    "attempts": 0,
                    "max_attempts": 5,
                    "run_after": now,
                    "created_at": now,
                    "updated_at": now,
                    "error": "",
                    "result": "",
                }
            )
        conn.execute(jobs.insert(), values)

    def _insert_ignore(self, table: sa.Table) -> Any:
        """INSERT … ON CONFLICT DO NOTHING on SQLite and Postgres."""
        if self._pg:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing()
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()

    # claim --------------------------------------------------------------------
    def claim(
        self, worker: str, *, lease_s: float = 300.0, per_installation: int = 4, kinds: tuple[str, ...] = ()
    ) -> Job | None:
        """Take the oldest runnable job, or None.

        Runnable: queued (or running with an expired lease: its worker died), due, no other
        job with its key holding a live lease, and its installation under the cap.
        """
        job: Job | None = self._tx(
            "claim a job", lambda c: self._claim(c, worker, lease_s, per_installation, kinds)
        )
        return job

    def _claim(
        self, conn: Connection, worker: str, lease_s: float, per_installation: int, kinds: tuple[str, ...]
    ) -> Job | None:
        now = self._clock()
        live = sa.and_(jobs.c.status == RUNNING, jobs.c.lease_expires > now)
        busy_keys = sa.select(jobs.c.key).where(live)
        busy_installations = (
            sa.select(jobs.c.installation_id)
            .where(live, jobs.c.installation_id.is_not(None))
            .group_by(jobs.c.installation_id)
            .having(sa.func.count() >= per_installation)
        )
        runnable = sa.or_(
            jobs.c.status == QUEUED,
            sa.and_(jobs.c.status == RUNNING, jobs.c.lease_expires <= now),
        )
        query = (
            sa.select(jobs.c.id, jobs.c.key, jobs.c.installation_id, jobs.c.status, jobs.c.lease_expires)
            .where(
                runnable,
                jobs.c.run_after <= now,
                jobs.c.key.not_in(busy_keys),
                sa.or_(jobs.c.installation_id.is_(None), jobs.c.installation_id.not_in(busy_installations)),
            )
            .order_by(jobs.c.run_after, jobs.c.created_at)
            .limit(8)
        )
        if kinds:
            query = query.where(jobs.c.kind.in_(kinds))
        if self._pg:
            query = query.with_for_update(skip_locked=True, of=jobs)
        blocked_once = False
        for cand in conn.execute(query).all():
            key, installation = cand.key, cand.installation_id
            if self._pg and not self._lock(conn, f"key:{key}", wait=False):
                continue  # another worker is claiming a job with this key right now
            if self._pg and installation is not None:
                # Claims within one installation take turns, so the cap below counts every
                # rival. Only the first such lock of a claim waits: a claim that waits holds
                # no other installation's lock, so two claims can never wait on each other.
                if not self._lock(conn, f"installation:{installation}", wait=not blocked_once):
                    continue
                blocked_once = True
            taken = conn.execute(
                jobs.update()
                .where(
                    jobs.c.id == cand.id,
                    jobs.c.status == cand.status,
                    jobs.c.lease_expires.is_(None)
                    if cand.lease_expires is None
                    else jobs.c.lease_expires == cand.lease_expires,
                )
                .values(
                    status=RUNNING,
                    lease_owner=worker,
                    lease_expires=now + lease_s,
                    attempts=jobs.c.attempts + 1,
                    updated_at=now,
                )
            )
            if taken.rowcount != 1:
                continue
            # Holding the write lock now (SQLite) or the key's and installation's locks
            # (Postgres), every job another worker took since our read is visible: give this
            # one back if it would be a second job of its key or go over the cap.
            others = sa.and_(jobs.c.id != cand.id, jobs.c.status == RUNNING, jobs.c.lease_expires > now)
            same_key, same_installation = conn.execute(
                sa.select(
                    sa.func.count().filter(jobs.c.key == key),
                    sa.func.count().filter(jobs.c.installation_id == installation),
                ).where(others)
            ).one()
            rival = same_key > 0 or (installation is not None and same_installation >= per_installation)
            if rival:
                conn.execute(
                    jobs.update()
                    .where(jobs.c.id == cand.id)
                    .values(
                        status=cand.status,
                        lease_owner=None,
                        lease_expires=cand.lease_expires,
                        attempts=jobs.c.attempts - 1,
                    )
                )
                continue
            row = conn.execute(sa.select(jobs).where(jobs.c.id == cand.id)).one()
            return _job(row)
        return None

    @staticmethod
    def _lock(conn: Connection, name: str, *, wait: bool) -> bool:
        """A Postgres advisory lock held until this transaction ends; False if taken (no wait)."""
        if wait:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": name})
            return True
        return bool(
            conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(hashtext(:k))"), {"k": name}).scalar()
        )

    # while running --------------------------------------------------------------
    def _owned(self, job_id: str, worker: str) -> Any:
        return sa.and_(jobs.c.id == job_id, jobs.c.lease_owner == worker, jobs.c.status == RUNNING)

    def heartbeat(self, job_id: str, worker: str, lease_s: float = 300.0) -> bool:
        """Extend the lease; False when the job is no longer this worker's (it must stop)."""
        now = self._clock()
        done = self._tx(
            "extend a lease",
            lambda c: (
                c.execute(
                    jobs.update().where(self._owned(job_id, worker)).values(lease_expires=now + lease_s)
                ).rowcount
            ),
        )
        return bool(done)

    def complete(self, job_id: str, worker: str, result: dict[str, Any] | None = None) -> bool:
        """Mark done; False when the lease was lost meanwhile (another worker has the job)."""
        now = self._clock()
        text = json.dumps(result or {})
        return bool(
            self._tx(
                "complete a job",
                lambda c: (
                    c.execute(
                        jobs.update()
                        .where(self._owned(job_id, worker))
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

        def work(conn: Connection) -> str | None:
            row = conn.execute(sa.select(jobs).where(self._owned(job_id, worker))).one_or_none()
            if row is None:
                return None
            now = self._clock()
            again = retry and row.attempts < row.max_attempts
            status = QUEUED if again else FAILED
            delay = self._backoff * (2 ** max(0, row.attempts - 1))
            conn.execute(
                jobs.update()
                .where(self._owned(job_id, worker))
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

    # inspection -------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        """A job by id."""
        row = self._tx(
            "read a job", lambda c: c.execute(sa.select(jobs).where(jobs.c.id == job_id)).one_or_none()
        )
        return None if row is None else _job(row)

    def superseded(self, job_id: str, key: str) -> bool:
        """True when a newer job of the same kind and key has been enqueued since this one."""

        def work(conn: Connection) -> bool:
            mine = conn.execute(
                sa.select(jobs.c.created_at, jobs.c.kind).where(jobs.c.id == job_id)
            ).one_or_none()
            if mine is None:
                return False
            newer = conn.execute(
                sa.select(sa.func.count()).where(
                    jobs.c.key == key,
                    jobs.c.kind == mine.kind,
                    jobs.c.created_at > mine.created_at,
                    jobs.c.status.in_((QUEUED, RUNNING)),
                )
            ).scalar()
            return bool(newer)

        return bool(self._tx("check for newer jobs", work))

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
