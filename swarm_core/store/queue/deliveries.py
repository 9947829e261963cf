"""The delivery log: webhook deliveries recorded in batches, each with the job it enqueues.

Recording a delivery and enqueueing its job happen in one transaction, keyed by (hook id,
delivery GUID): a redelivery is recognised and enqueues nothing. The webhook receiver
batches concurrent deliveries (group commit) so the database syncs once per batch; the
common case, a batch of new deliveries, runs pre-written SQL (`plan_fast_batch`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from swarm_core.store.queue.records import QUEUED, SUPERSEDED, Delivery, json_text
from swarm_core.store.queue.supersede import supersede_queued
from swarm_core.store.schema import deliveries, jobs

__all__ = [
    "SeenBefore",
    "Statement",
    "plan_fast_batch",
    "record_batch",
    "record_batch_fast",
    "record_batch_pg",
]


class SeenBefore(Exception):
    """A delivery of a fast-path batch was recorded before: redo the batch the general way."""


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
                json_text(payload),
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
        recorded = json_text([dict(zip(_DELIVERY_COLUMNS, r, strict=True)) for r in rows])
        if not job_rows:
            statements.append(Statement(_PG_DELIVERIES, (recorded,)))
            return out, statements
        superseded = json_text([{"key": key, "kind": kind} for kind, key in newest])
        queued = json_text([dict(zip(_JOB_COLUMNS, r, strict=True)) for r in job_rows])
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


def record_batch_fast(conn: Connection, items: list[dict[str, Any]], now: float) -> list[Delivery]:
    """The common case on SQLite, with pre-written SQL: every delivery of the batch is new.

    The intake's hot path: it skips SQLAlchemy's statement building, which costs more
    than the database itself. Raises SeenBefore (the caller's transaction must roll back)
    when a delivery was recorded before.
    """
    out, statements = plan_fast_batch(items, now, pg=False)
    for st in statements:
        done = conn.exec_driver_sql(st.sql, st.params).rowcount
        if st.expect is not None and done != st.expect:
            raise SeenBefore
    return out


def record_batch_pg(autocommit: Engine, items: list[dict[str, Any]], now: float) -> list[Delivery]:
    """The common case on Postgres: one autocommitted statement, so one round trip.

    BEGIN, two statements and COMMIT were four round trips, each one a wait for the
    GIL in the writer thread while the event loop parses requests: the batch took
    4 ms and the intake stalled behind it. Raises SeenBefore on a duplicate delivery
    (the unique violation rolls the whole statement back); other database errors propagate.
    """
    out, statements = plan_fast_batch(items, now, pg=True)
    try:
        with autocommit.connect() as conn:
            for st in statements:
                conn.exec_driver_sql(st.sql, st.params)
    except sa.exc.IntegrityError as exc:
        raise SeenBefore from exc
    return out


def record_batch(conn: Connection, items: list[dict[str, Any]], now: float, *, pg: bool) -> list[Delivery]:
    """The general path: redeliveries (earlier or within the batch) come back as duplicates."""
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
    stmt = _insert_ignore(deliveries, pg=pg).returning(deliveries.c.hook_id, deliveries.c.guid)
    inserted = {(r.hook_id, r.guid) for r in conn.execute(stmt, unique)}
    fresh = [
        (items[n], rows[n]) for ident, n in first.items() if ident in inserted and items[n]["job"] is not None
    ]
    if fresh:
        _insert_jobs(conn, fresh, now)
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


def _insert_jobs(conn: Connection, fresh: list[tuple[dict[str, Any], dict[str, Any]]], now: float) -> None:
    """The jobs of newly recorded deliveries: one supersede UPDATE per key, one INSERT for all."""
    newest: dict[tuple[str, str], str] = {}
    for item, row in fresh:
        kind, key, _payload, supersede = item["job"]
        if supersede:
            newest[(kind, key)] = row["job_id"]
    for kind, key in newest:
        supersede_queued(conn, kind, key, now)
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


def _insert_ignore(table: sa.Table, *, pg: bool) -> Any:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and Postgres."""
    if pg:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()
