"""The curator: keeps an installation's learnings few, distinct and trustworthy (pure).

One pass over every learning of an installation (both tiers), in this order:

1. merge near-duplicates: same tier and repository, same normalised text, scope and
   effect; the oldest survives with the sources and utility of all, and a confidence
   raised by each independent confirmation (two 👎 on one rule reach the suppress level);
2. quarantine contradictions (an active SUPPRESS and an active KEEP learning with the same
   scope, in the same repository or tier: a person must decide) and learnings whose
   confidence is below QUARANTINE_BELOW;
3. promote a repository learning to the installation tier when it holds in at least
   PROMOTE_REPOS repositories (their copies merge into one), or, for a KEEP learning (one
   that asks for a finding), when it has been active and unchallenged for PROMOTE_AFTER_S.
   A SUPPRESS learning never spreads by time alone: one repository's write access must not
   switch a rule off in repositories its author cannot see (`swarm learnings promote` does
   it on purpose);
4. cap: at most REPO_CAP learnings per repository and INSTALLATION_CAP on the installation
   tier (active and quarantined count); the lowest utility × confidence go first, the
   oldest first among equals. Evicted learnings are forgotten, not deleted, so the same
   feedback is not captured again; forgotten ones older than FORGOTTEN_TTL_S are removed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from swarm_core.learnings.learning import ACTIVE, FORGOTTEN, KEEP, QUARANTINED, SUPPRESS, Learning, Scope

__all__ = [
    "CONFIRMATION_STEP",
    "FORGOTTEN_TTL_S",
    "INSTALLATION_CAP",
    "PROMOTE_AFTER_S",
    "PROMOTE_REPOS",
    "QUARANTINE_BELOW",
    "REPO_CAP",
    "Curation",
    "curate",
]

REPO_CAP = 100
INSTALLATION_CAP = 1000
PROMOTE_REPOS = 2
PROMOTE_AFTER_S = 30 * 86400.0
QUARANTINE_BELOW = 0.3
CONFIRMATION_STEP = 0.1
FORGOTTEN_TTL_S = 180 * 86400.0
_MAX_CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Curation:
    """What the curator decided: rows to write, rows to delete, and one line per decision."""

    changed: tuple[Learning, ...]
    removed: tuple[int, ...]
    log: tuple[str, ...]


def _merged(survivor: Learning, other: Learning) -> Learning:
    sources = tuple(dict.fromkeys((*survivor.sources, *other.sources)))
    return replace(
        survivor,
        sources=sources,
        utility=survivor.utility + other.utility,
        confidence=min(_MAX_CONFIDENCE, max(survivor.confidence, other.confidence) + CONFIRMATION_STEP),
        updated_at=max(survivor.updated_at, other.updated_at),
        last_used=max((t for t in (survivor.last_used, other.last_used) if t is not None), default=None),
    )


class _Pass:
    def __init__(self, learnings: Iterable[Learning]) -> None:
        self.rows = {lr.id: lr for lr in learnings}
        self.original = dict(self.rows)
        self.removed: list[int] = []
        self.log: list[str] = []

    def live(self) -> list[Learning]:
        return sorted(
            (lr for lr in self.rows.values() if lr.status != FORGOTTEN), key=lambda lr: (lr.created_at, lr.id)
        )

    def merge_into(self, survivor: Learning, other: Learning, why: str) -> Learning:
        merged = _merged(survivor, other)
        self.rows[survivor.id] = merged
        del self.rows[other.id]
        self.removed.append(other.id)
        self.log.append(f"merged #{other.id} into #{survivor.id} ({why})")
        return merged

    def set_status(self, lr: Learning, status: str, why: str) -> None:
        if self.rows[lr.id].status != status:
            self.rows[lr.id] = replace(self.rows[lr.id], status=status)
            self.log.append(f"{status} #{lr.id} ({why})")

    def dedupe(self) -> None:
        seen: dict[tuple[object, ...], Learning] = {}
        for lr in self.live():
            group = (lr.repo, lr.status, *lr.key)
            kept = seen.get(group)
            seen[group] = self.merge_into(kept, lr, "near-duplicate") if kept is not None else lr

    def quarantine(self) -> None:
        effects: dict[tuple[object, ...], dict[str, list[Learning]]] = defaultdict(lambda: defaultdict(list))
        for lr in self.live():
            if lr.status == ACTIVE:
                effects[(lr.repo, lr.scope)][lr.effect].append(lr)
        for by_effect in effects.values():
            if by_effect[SUPPRESS] and by_effect[KEEP]:
                for lr in (*by_effect[SUPPRESS], *by_effect[KEEP]):
                    self.set_status(lr, QUARANTINED, "contradicted by a learning with the same scope")
        for lr in self.live():
            if lr.status == ACTIVE and lr.confidence < QUARANTINE_BELOW:
                self.set_status(lr, QUARANTINED, f"confidence {lr.confidence:.2f} below {QUARANTINE_BELOW}")

    def promote(self, now: float) -> None:
        on_tier = {lr.key: lr for lr in self.live() if not lr.repo and lr.status == ACTIVE}
        by_key: dict[tuple[str, Scope, str], list[Learning]] = defaultdict(list)
        for lr in self.live():
            if lr.repo and lr.status == ACTIVE:
                by_key[lr.key].append(lr)
        for key, copies in by_key.items():
            repos = {lr.repo for lr in copies}
            old = [lr for lr in copies if lr.effect == KEEP and now - lr.created_at >= PROMOTE_AFTER_S]
            if len(repos) < PROMOTE_REPOS and not old:
                continue
            many = len(repos) >= PROMOTE_REPOS
            why = f"held in {len(repos)} repositories" if many else "30 days unchallenged"
            target = on_tier.get(key)
            if target is None:
                first = copies[0]
                target = replace(first, repo="", updated_at=now)
                self.rows[first.id] = target
                self.log.append(f"promoted #{first.id} to the installation tier ({why})")
                copies = copies[1:]
            for lr in copies:
                target = self.merge_into(target, lr, why)
            on_tier[key] = target

    def cap(self, now: float, repo_cap: int, installation_cap: int) -> None:
        groups: dict[str, list[Learning]] = defaultdict(list)
        for lr in self.live():
            groups[lr.repo].append(lr)
        for repo, members in groups.items():
            limit = repo_cap if repo else installation_cap
            if len(members) <= limit:
                continue
            ranked = sorted(members, key=lambda lr: (lr.weight, lr.created_at, lr.id))
            for lr in ranked[: len(members) - limit]:
                self.rows[lr.id] = replace(lr, status=FORGOTTEN, updated_at=now)
                where = repo or "the installation tier"
                self.log.append(f"forgot #{lr.id} (over the cap of {limit} for {where})")
        for lr in list(self.rows.values()):
            if lr.status == FORGOTTEN and now - lr.updated_at >= FORGOTTEN_TTL_S:
                del self.rows[lr.id]
                self.removed.append(lr.id)

    def result(self) -> Curation:
        changed = tuple(lr for lr_id, lr in sorted(self.rows.items()) if self.original.get(lr_id) != lr)
        return Curation(changed, tuple(sorted(self.removed)), tuple(self.log))


def curate(
    learnings: Iterable[Learning],
    now: float,
    *,
    repo_cap: int = REPO_CAP,
    installation_cap: int = INSTALLATION_CAP,
) -> Curation:
    """One curator pass over an installation's learnings (every status, both tiers).

    Args:
        learnings: all of the installation's learnings.
        now: the current time (epoch seconds).
        repo_cap: the most learnings one repository keeps.
        installation_cap: the most learnings the installation tier keeps.

    Returns:
        The learnings that changed (merged, quarantined, promoted, forgotten) and the ids
        to delete (merged away, or forgotten long ago).
    """
    work = _Pass(learnings)
    work.dedupe()
    work.quarantine()
    work.promote(now)
    work.dedupe()  # a promotion can meet an installation-tier copy made by hand
    work.cap(now, repo_cap, installation_cap)
    return work.result()
