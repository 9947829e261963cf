"""What the job queue holds right now, for monitoring: jobs per status and the longest wait."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from swarm_core.errors import StoreError
from swarm_core.store.queue import QUEUED
from swarm_core.store.schema import jobs

__all__ = ["Backlog", "read_backlog"]


@dataclass(frozen=True, slots=True)
class Backlog:
    """A snapshot of the jobs table.

    Attributes:
        jobs: the number of jobs in each status present (queued, running, done, ...).
        oldest_wait_s: how long the longest-waiting claimable job has waited for a worker;
            0 when none waits. A job put back for a later retry waits from its retry time.
    """

    jobs: dict[str, int]
    oldest_wait_s: float


def read_backlog(engine: Engine, now: float) -> Backlog:
    """Count the jobs per status and find the longest wait, in one query.

    Args:
        engine: the database holding the job queue.
        now: the current time (epoch seconds), as the queue's clock gives it.

    Raises:
        StoreError: the database cannot be read.
    """
    query = sa.select(jobs.c.status, sa.func.count(), sa.func.min(jobs.c.run_after)).group_by(jobs.c.status)
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    except SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"job queue: cannot count jobs: {first}") from exc
    counts = {str(status): int(n) for status, n, _ in rows}
    earliest = next((float(first) for status, _, first in rows if status == QUEUED), now)
    return Backlog(jobs=counts, oldest_wait_s=max(0.0, now - earliest))
