"""Spike (not wired into the product): swarm's JobQueue interface over Procrastinate's Postgres schema.

Procrastinate 3.x keeps jobs in `procrastinate_jobs` and does its work in SQL functions
(`procrastinate_defer_jobs_v1`, `procrastinate_fetch_job_v2`, ...). Its Python worker is
async and owns the process; swarm's Worker already owns its loop (lease keeper, cancel on
lost lease, release with not-before), so the spike calls the functions directly on swarm's
SQLAlchemy engine, as Procrastinate's own connector would. What Procrastinate has no notion
of is written here, and counted in docs/architecture.md ("Queue"):

- supersede (a newer push replaces a queued review of the same PR): Procrastinate's
  `queueing_lock` keeps the OLDEST queued job and refuses the new one; swarm needs the
  newest, so the queued one is cancelled first, in the same transaction;
- attempts cap on a crash: a stalled worker's jobs are only found by
  `select_stalled_jobs_by_heartbeat` and retried by the caller, who must check attempts;
- per-installation concurrency (4 running per installation): no equivalent;
- the delivery log (record a delivery and its job in one transaction): no equivalent.

    python bench/queue_drain.py --procrastinate   (measures it against swarm's own queue)
"""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from swarm_core.store.queue import Job

QUEUE = "swarm"
_COLUMNS = "id, task_name, lock, args, status, attempts, worker_id, scheduled_at"


def install(engine: Engine) -> None:
    """Drop and create Procrastinate's schema (the spike runs on a scratch database)."""
    from procrastinate.schema import SchemaManager

    with engine.begin() as conn:
        conn.exec_driver_sql(
            "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, "
            "procrastinate_jobs, procrastinate_workers, procrastinate_version CASCADE"
        )
        for (signature,) in conn.exec_driver_sql(
            "SELECT oid::regprocedure::text FROM pg_proc WHERE proname LIKE 'procrastinate%%'"
        ):
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
        conn.exec_driver_sql(
            "DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type, "
            "procrastinate_job_to_defer_v1 CASCADE"
        )
        # Straight to psycopg: with no parameters it leaves the schema's `%` signs alone.
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.cursor().execute(SchemaManager.get_schema())


class ProcrastinateQueue:
    """The subset of `JobQueue` that `app.worker.Worker` calls, on Procrastinate's tables."""

    def __init__(self, engine: Engine, *, max_attempts: int = 5, backoff_s: float = 5.0) -> None:
        self._engine = engine
        self._max = max_attempts
        self._backoff = backoff_s
        self._workers: dict[str, int] = {}

    def now(self) -> float:
        return time.time()

    def enqueue(
        self,
        kind: str,
        key: str,
        payload: dict[str, Any],
        *,
        installation_id: int | None = None,
        supersede: bool = False,
    ) -> str:
        """Defer a job; with `supersede`, first cancel the queued job of the same key."""
        args = json.dumps({"kind": kind, "installation_id": installation_id, "payload": payload})
        with self._engine.begin() as conn:
            if supersede:
                conn.execute(
                    sa.text(
                        "SELECT procrastinate_cancel_job_v1(id, false, false) FROM procrastinate_jobs "
                        "WHERE queueing_lock = :key AND status = 'todo'"
                    ),
                    {"key": key},
                )
            job_id = conn.execute(
                sa.text(
                    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, :key, :qlock, "
                    "CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1]))"
                ),
                # The queueing lock refuses a second queued job of the key: only with supersede,
                # which has just cancelled the first.
                {"queue": QUEUE, "task": kind, "key": key, "qlock": key if supersede else None, "args": args},
            ).scalar_one()
        return str(job_id)

    def _worker_id(self, conn: Connection, worker: str) -> int:
        if worker not in self._workers:
            self._workers[worker] = int(
                conn.execute(sa.text("SELECT worker_id FROM procrastinate_register_worker_v1()")).scalar_one()
            )
        return self._workers[worker]

    def claim(self, worker: str, *, lease_s: float = 60.0, per_installation: int = 4) -> Job | None:
        """Fetch the next job (per_installation has no Procrastinate equivalent: ignored)."""
        with self._engine.begin() as conn:
            wid = self._worker_id(conn, worker)
            row = conn.execute(
                sa.text(f"SELECT {_COLUMNS} FROM procrastinate_fetch_job_v2(ARRAY[:queue]::varchar[], :wid)"),
                {"queue": QUEUE, "wid": wid},
            ).one()
        if row.id is None:
            return None
        return self._job(row, worker)

    def _job(self, row: Any, worker: str | None) -> Job:
        args = row.args if isinstance(row.args, dict) else json.loads(row.args)
        return Job(
            id=str(row.id),
            kind=row.task_name,
            key=row.lock or "",
            installation_id=args.get("installation_id"),
            payload=args.get("payload") or {},
            status=str(row.status),
            attempts=int(row.attempts) + 1,
            max_attempts=self._max,
            lease_owner=worker,
        )

    def heartbeat(self, job_id: str, worker: str, lease_s: float = 60.0) -> bool:
        """One heartbeat per worker (Procrastinate's lease is the worker's, not the job's)."""
        with self._engine.begin() as conn:
            wid = self._worker_id(conn, worker)
            conn.execute(sa.text("SELECT procrastinate_update_heartbeat_v1(:wid)"), {"wid": wid})
            held = conn.execute(
                sa.text(
                    "SELECT 1 FROM procrastinate_jobs WHERE id = :id AND status = 'doing' AND worker_id = :wid"
                ),
                {"id": int(job_id), "wid": wid},
            ).first()
        return held is not None

    def complete(self, job_id: str, worker: str, result: dict[str, Any] | None = None) -> bool:
        with self._engine.begin() as conn:
            conn.execute(
                sa.text("SELECT procrastinate_finish_job_v1(:id, 'succeeded', false)"), {"id": int(job_id)}
            )
        return True

    def fail(self, job_id: str, worker: str, error: str, *, retry: bool = True) -> str | None:
        with self._engine.begin() as conn:
            attempts = conn.execute(
                sa.text("SELECT attempts FROM procrastinate_jobs WHERE id = :id"), {"id": int(job_id)}
            ).scalar_one()
            if retry and attempts + 1 < self._max:
                at = self._backoff * 2**attempts
                conn.execute(
                    sa.text(
                        "SELECT procrastinate_retry_job_v2(:id, now() + make_interval(secs => :s), NULL, NULL, NULL)"
                    ),
                    {"id": int(job_id), "s": at},
                )
                return "queued"
            conn.execute(
                sa.text("SELECT procrastinate_finish_job_v1(:id, 'failed', false)"), {"id": int(job_id)}
            )
        return "failed"

    def release(self, job_id: str, worker: str, not_before: float, reason: str = "") -> bool:
        """Wait until `not_before`: Procrastinate's retry counts it as an attempt (ours does not)."""
        with self._engine.begin() as conn:
            conn.execute(
                sa.text("SELECT procrastinate_retry_job_v2(:id, to_timestamp(:at), NULL, NULL, NULL)"),
                {"id": int(job_id), "at": not_before},
            )
        return True

    def recover_stalled(self, lease_s: float) -> list[str]:
        """Requeue (or fail, past the attempts cap) the jobs of workers silent for `lease_s`.

        Procrastinate only lists them (`select_stalled_jobs_by_heartbeat`); someone has to
        call this periodically, and the cap is the caller's to check.
        """
        with self._engine.begin() as conn:
            conn.execute(sa.text("SELECT procrastinate_prune_stalled_workers_v1(:s)"), {"s": lease_s})
            rows = conn.execute(
                sa.text(
                    "SELECT id, attempts FROM procrastinate_jobs WHERE status = 'doing' AND worker_id IS NULL"
                )
            ).all()
            for job_id, attempts in rows:
                if attempts + 1 < self._max:
                    conn.execute(
                        sa.text("SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)"),
                        {"id": job_id},
                    )
                else:
                    conn.execute(
                        sa.text("SELECT procrastinate_finish_job_v1(:id, 'failed', false)"), {"id": job_id}
                    )
        return [str(r[0]) for r in rows]

    def delivery_of(self, job_id: str) -> str | None:
        return None

    def depth(self) -> dict[str, int]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT status, count(*) FROM procrastinate_jobs GROUP BY status")
            ).all()
        return {str(s): int(n) for s, n in rows}
