"""Supersede: a newer job with a key (a new push) replaces the queued ones nobody started yet."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from swarm_core.store.queue.records import QUEUED, RUNNING, SUPERSEDED
from swarm_core.store.schema import jobs

__all__ = ["newer_exists", "supersede_queued"]


def supersede_queued(conn: Connection, kind: str, key: str, now: float) -> None:
    """Mark the queued jobs of this kind and key superseded (a running one finishes its work)."""
    conn.execute(
        jobs.update()
        .where(jobs.c.key == key, jobs.c.kind == kind, jobs.c.status == QUEUED)
        .values(status=SUPERSEDED, updated_at=now)
    )


def newer_exists(conn: Connection, job_id: str, key: str) -> bool:
    """True when a job of the same kind and key was enqueued after this one and is still live."""
    mine = conn.execute(sa.select(jobs.c.created_at, jobs.c.kind).where(jobs.c.id == job_id)).one_or_none()
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
