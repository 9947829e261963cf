"""Claim and lease: who runs a job now, for how long, and what happens when a lease runs out.

- A job is claimed with a lease; a worker that dies loses its lease and the job runs again,
  but only while `attempts < max_attempts`: the claim counts every attempt, so an attempt
  whose lease ran out is counted too. A job whose last attempt's lease ran out is failed for
  good with the reason (`reap_expired`): a job that kills its worker cannot loop for ever.
- On Postgres candidates are read with `FOR UPDATE SKIP LOCKED`; everywhere the claim
  itself is a conditional UPDATE, so two workers never hold one job at the same time.
- Jobs with one key (a pull request) run one at a time.
- At most `per_installation` jobs of one installation run at once. A claim checks the cap
  again after taking its job, under SQLite's write lock or, on Postgres, an advisory lock
  per installation, so workers claiming at the same instant cannot overshoot it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from swarm_core.store.queue.records import FAILED, QUEUED, RUNNING, Job, job_from_row
from swarm_core.store.schema import jobs

__all__ = ["claim", "extend", "owned", "reap_expired"]


def owned(job_id: str, worker: str) -> Any:
    """The condition that a job is running under this worker's lease."""
    return sa.and_(jobs.c.id == job_id, jobs.c.lease_owner == worker, jobs.c.status == RUNNING)


def _expired_reason(owner: str | None, attempt: int) -> str:
    return f"attempt {attempt}: the lease of worker {owner} ran out (it died, hung or lost the database)"


def claim(
    conn: Connection,
    worker: str,
    now: float,
    *,
    lease_s: float,
    per_installation: int,
    kinds: tuple[str, ...],
    pg: bool,
) -> Job | None:
    """Take the oldest runnable job in this transaction, or None.

    Runnable: queued (or running with an expired lease and attempts left: its worker died),
    due, no other job with its key holding a live lease, and its installation under the cap.
    """
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
        sa.and_(jobs.c.status == RUNNING, jobs.c.lease_expires <= now, jobs.c.attempts < jobs.c.max_attempts),
    )
    query = (
        sa.select(
            jobs.c.id,
            jobs.c.key,
            jobs.c.installation_id,
            jobs.c.status,
            jobs.c.lease_owner,
            jobs.c.lease_expires,
            jobs.c.attempts,
            jobs.c.error,
        )
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
    if pg:
        query = query.with_for_update(skip_locked=True, of=jobs)
    blocked_once = False
    for cand in conn.execute(query).all():
        key, installation = cand.key, cand.installation_id
        if pg and not _lock(conn, f"key:{key}", wait=False):
            continue  # another worker is claiming a job with this key right now
        if pg and installation is not None:
            # Claims within one installation take turns, so the cap below counts every
            # rival. Only the first such lock of a claim waits: a claim that waits holds
            # no other installation's lock, so two claims can never wait on each other.
            if not _lock(conn, f"installation:{installation}", wait=not blocked_once):
                continue
            blocked_once = True
        expired = cand.status == RUNNING
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
                error=_expired_reason(cand.lease_owner, cand.attempts) if expired else cand.error,
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
        if same_key > 0 or (installation is not None and same_installation >= per_installation):
            conn.execute(
                jobs.update()
                .where(jobs.c.id == cand.id)
                .values(
                    status=cand.status,
                    lease_owner=cand.lease_owner,
                    lease_expires=cand.lease_expires,
                    attempts=jobs.c.attempts - 1,
                    error=cand.error,
                )
            )
            continue
        return job_from_row(conn.execute(sa.select(jobs).where(jobs.c.id == cand.id)).one())
    return None


def reap_expired(conn: Connection, now: float) -> list[str]:
    """Fail for good every job whose last allowed attempt lost its lease; returns their ids.

    Such a job most likely kills its worker (out of memory on a huge diff, say): running it
    again would only kill the next one.
    """
    dead = conn.execute(
        sa.select(jobs.c.id, jobs.c.lease_owner, jobs.c.attempts, jobs.c.max_attempts).where(
            jobs.c.status == RUNNING, jobs.c.lease_expires <= now, jobs.c.attempts >= jobs.c.max_attempts
        )
    ).all()
    failed: list[str] = []
    for row in dead:
        reason = (
            f"given up after {row.attempts} of {row.max_attempts} attempts: "
            f"{_expired_reason(row.lease_owner, row.attempts)}"
        )
        done = conn.execute(
            jobs.update()
            .where(jobs.c.id == row.id, jobs.c.status == RUNNING, jobs.c.lease_expires <= now)
            .values(status=FAILED, lease_owner=None, lease_expires=None, error=reason, updated_at=now)
        ).rowcount
        if done == 1:
            failed.append(row.id)
    return failed


def extend(conn: Connection, job_id: str, worker: str, until: float) -> bool:
    """Move this worker's lease on to `until`; False when the job is no longer its own."""
    done = conn.execute(jobs.update().where(owned(job_id, worker)).values(lease_expires=until)).rowcount
    return bool(done)


def _lock(conn: Connection, name: str, *, wait: bool) -> bool:
    """A Postgres advisory lock held until this transaction ends; False if taken (no wait)."""
    if wait:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": name})
        return True
    return bool(conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(hashtext(:k))"), {"k": name}).scalar())
