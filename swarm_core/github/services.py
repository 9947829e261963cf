"""What the job handlers are given (`Services`), and the helpers every kind of job shares.

Dependencies come in as `Services` (a GitHub client per installation, the store, the
queue, the engine's review/council/spec, and a small state store for pause/resume), so
the same handlers serve the App's workers, the Action and the tests. GitHub calls block
and run in threads (`gh`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from swarm_core.budget import Budget
from swarm_core.config import SwarmConfig
from swarm_core.engine import Answerer, Councillor, Describer, Reviewer, Specifier
from swarm_core.github.client import GitHubClient
from swarm_core.github.markers import Markers
from swarm_core.memory import MemoryBackend
from swarm_core.models import Exchange
from swarm_core.store.budget_holds import BudgetHolds
from swarm_core.store.queue import Job, JobQueue
from swarm_core.store.runs import SqlRunStore

__all__ = ["ClientFor", "Services", "gh", "record_document", "release_budget", "within_budget"]


class ClientFor(Protocol):
    """The GitHub client of an installation (the Action has one token: it ignores the id)."""

    def __call__(self, installation_id: int | None) -> GitHubClient:
        """A client acting as the installation."""
        ...


@dataclass(frozen=True)
class Services:
    """What the handlers need, injected."""

    clients: ClientFor
    store: SqlRunStore
    queue: JobQueue
    review: Reviewer  # called with models=False when the installation's budget is spent
    state: MemoryBackend
    cache_dir: Path | None = None  # repository checkouts for issue analysis (default: a temp dir)
    council: Councillor | None = None
    specify: Specifier | None = None  # None: issue analysis is the deterministic part only
    ask: Answerer | None = None  # None: `/swarm ask` and thread replies say a model is needed
    describe: Describer | None = None  # None: `/swarm describe` posts the deterministic part only
    budget: Budget | None = None  # per installation, over a rolling window (SWARM_INSTALLATION_BUDGET_USD)
    # The clients made so far, by installation: the App reads their rate limits for /metrics.
    client_cache: Mapping[int, GitHubClient] = field(default_factory=dict)
    # The key and account of swarm's markers (blocking: the App may ask GitHub for its slug once);
    # None trusts markers from any bot, unsigned (tests that need no more).
    markers: Callable[[], Markers] | None = None
    # How a job that fails for good concludes its check run: neutral, or failure (blocks the merge).
    check_on_failure: str = "neutral"


async def within_budget(
    services: Services, payload: dict[str, Any], config: SwarmConfig, job: Job
) -> tuple[SwarmConfig, str | None, str | None]:
    """Model work for the payload's installation under its budget.

    The job reserves its run's cost cap out of what is left (store/budget_holds.py), so
    concurrent runs of one installation cannot spend the same remainder twice;
    `release_budget` gives the hold back when the job ends.

    Returns:
        The config with its run cost cap lowered to what is left, a note when it was
        lowered, and, when nothing is left, why no model may be called (else None).
    """
    installation_id = payload.get("installation_id")
    if services.budget is None or installation_id is None:
        return config, None, None
    budget = services.budget
    holds = BudgetHolds(services.store.engine)
    want = config.llm.limits.max_cost_usd
    hold = await asyncio.to_thread(
        holds.reserve, int(installation_id), job.id, want, budget.limit_usd, budget.since(time.time())
    )
    # What the other runs in flight hold counts as spent for this one.
    allowance = budget.allowance(hold.spent + hold.held_by_others)
    if allowance.exhausted:
        return config, None, allowance.spent_note
    capped, cap_note = allowance.cap(config)
    return capped, cap_note, None


async def release_budget(services: Services, job: Job) -> None:
    """Give back the job's budget hold (its run is stored by now, or it failed)."""
    installation_id = job.payload.get("installation_id")
    if services.budget is not None and installation_id is not None:
        holds = BudgetHolds(services.store.engine)
        await asyncio.to_thread(holds.release, int(installation_id), job.id)


async def record_document(
    services: Services,
    kind: str,
    payload: dict[str, Any],
    status: str,
    duration_s: float,
    document: dict[str, Any],
    exchanges: tuple[Exchange, ...],
) -> str | None:
    """Store a council's or an issue analysis's model calls, so they count in cost and budget."""
    if not exchanges:
        return None
    repo, number = str(payload["repo"]), int(payload["number"])
    inst = payload.get("installation_id")
    return await asyncio.to_thread(
        services.store.save_document,
        kind,
        source=f"{repo}#{number}",
        status=status,
        duration_s=duration_s,
        document=document,
        exchanges=exchanges,
        counts={},
        repo=repo,
        installation_id=int(inst) if inst is not None else None,
    )


async def gh(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A blocking GitHub call, run in a thread so the event loop goes on."""
    return await asyncio.to_thread(fn, *args, **kwargs)
