"""A review is computed once per pull request head and config: a retried job publishes the stored one.

The model calls are the expensive part of a job, and publishing is the part that fails
(GitHub's 5xx, a lost answer). So the review is saved in the run store before anything is
posted, and its run id is remembered under (repository, pull request, head SHA, config
hash). A retried job, or a redelivered webhook for the same head, finds it there and
publishes it again (idempotently) without calling the models a second time. An explicit
re-run (`/swarm pr-review`, "Re-run" on the check) asks for a fresh review: its key also
holds its job id, so only its own retries share it.

Per pull request the last reviewed head is remembered too (`last_reviewed`): the next push
is reviewed from there (an incremental review), and that head's review says which findings
are open.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from swarm_core.config import SwarmConfig
from swarm_core.errors import RunNotFound
from swarm_core.github.client import PullRequest
from swarm_core.github.services import Services
from swarm_core.models import Review

__all__ = [
    "REVIEW_NS",
    "Reviewed",
    "last_reviewed",
    "load_review",
    "remember_review",
    "remember_reviewed",
    "review_key",
    "run_review",
]

REVIEW_NS = "stored-review"
_KEEP_S = 7 * 86_400.0


def review_key(pr: PullRequest, config: SwarmConfig, *, job_id: str | None = None) -> str:
    """The key of a pull request head's review under one config (and one job, for an explicit re-run)."""
    digest = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]
    key = f"{pr.repo}#{pr.number}@{pr.head_sha}:{digest}"
    return f"{key}/{job_id}" if job_id else key


async def load_review(services: Services, key: str) -> Review | None:
    """The stored review for `key`, or None when there is none (or it was deleted)."""
    entry = await services.state.get(REVIEW_NS, key)
    return None if entry is None else await run_review(services, str(entry.value))


async def remember_review(services: Services, key: str, run_id: str) -> None:
    """Note that the review for `key` is stored as run `run_id`."""
    await services.state.set(REVIEW_NS, key, run_id, ttl=_KEEP_S)


@dataclass(frozen=True, slots=True)
class Reviewed:
    """The last head of a pull request swarm reviewed: its run, how it was reviewed, and the run
    before it (the head whose open findings this review re-checked)."""

    head: str
    run_id: str
    previous_run: str = ""
    mode: str = "full"


def _last_key(pr: PullRequest) -> str:
    return f"{pr.repo}#{pr.number}:last"


async def run_review(services: Services, run_id: str) -> Review | None:
    """The review stored as run `run_id`; None when there is none (or it was deleted)."""
    if not run_id:
        return None
    try:
        stored = await asyncio.to_thread(services.store.get_run, run_id)
    except RunNotFound:
        return None
    return stored.review


async def last_reviewed(services: Services, pr: PullRequest) -> Reviewed | None:
    """The pull request's last reviewed head; None when none is remembered."""
    entry = await services.state.get(REVIEW_NS, _last_key(pr))
    value = entry.value if entry is not None and isinstance(entry.value, dict) else {}
    head, run_id = str(value.get("head") or ""), str(value.get("run") or "")
    if not head or not run_id:
        return None
    return Reviewed(head, run_id, str(value.get("previous") or ""), str(value.get("mode") or "full"))


async def remember_reviewed(services: Services, pr: PullRequest, reviewed: Reviewed) -> None:
    """Note the pull request's head as reviewed (the next push is reviewed from there)."""
    value = {
        "head": reviewed.head,
        "run": reviewed.run_id,
        "previous": reviewed.previous_run,
        "mode": reviewed.mode,
    }
    await services.state.set(REVIEW_NS, _last_key(pr), value, ttl=_KEEP_S * 4)
