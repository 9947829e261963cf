"""A review is computed once per pull request head and config: a retried job publishes the stored one.

The model calls are the expensive part of a job, and publishing is the part that fails
(GitHub's 5xx, a lost answer). So the review is saved in the run store before anything is
posted, and its run id is remembered under (repository, pull request, head SHA, config
hash). A retried job, or a redelivered webhook for the same head, finds it there and
publishes it again (idempotently) without calling the models a second time. An explicit
re-run (`/swarm pr-review`, "Re-run" on the check) asks for a fresh review: its key also
holds its job id, so only its own retries share it.
"""

from __future__ import annotations

import asyncio
import hashlib

from swarm_core.config import SwarmConfig
from swarm_core.errors import RunNotFound
from swarm_core.github.client import PullRequest
from swarm_core.github.services import Services
from swarm_core.models import Review

__all__ = ["REVIEW_NS", "load_review", "remember_review", "review_key"]

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
    if entry is None:
        return None
    try:
        stored = await asyncio.to_thread(services.store.get_run, str(entry.value))
    except RunNotFound:
        return None
    return stored.review


async def remember_review(services: Services, key: str, run_id: str) -> None:
    """Note that the review for `key` is stored as run `run_id`."""
    await services.state.set(REVIEW_NS, key, run_id, ttl=_KEEP_S)
