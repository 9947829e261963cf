"""What a learning is: the team's feedback on swarm's findings, with a scope, a confidence and a use count.

A learning says "findings like this are not wanted here" (effect `suppress`) or "findings
like this are wanted" (effect `keep`, from a reply such as "good catch"). It belongs to one
repository (tier `repo`) or to every repository of an installation (tier `installation`).
Its scope narrows it to a path glob, a rule and a lane; only a learning that names a rule
or a lane is applied to findings deterministically (a path alone is too coarse to drop
findings by), every active one is context for the model lanes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from swarm_core.config import paths_match
from swarm_core.models import Finding

__all__ = [
    "ACTIVE",
    "EFFECTS",
    "FORGOTTEN",
    "INSTALLATION",
    "KEEP",
    "QUARANTINED",
    "REPO",
    "STATUSES",
    "SUPPRESS",
    "Learning",
    "LearningDraft",
    "Scope",
    "context_lines",
    "normalized",
]

ACTIVE, QUARANTINED, FORGOTTEN = "active", "quarantined", "forgotten"
STATUSES = (ACTIVE, QUARANTINED, FORGOTTEN)
REPO, INSTALLATION = "repo", "installation"
SUPPRESS, KEEP = "suppress", "keep"
EFFECTS = (SUPPRESS, KEEP)

_WORDS = re.compile(r"[^0-9a-z]+")


def normalized(text: str) -> str:
    """Text as near-duplicates compare: lower case, punctuation and runs of spaces folded to one space."""
    return _WORDS.sub(" ", text.lower()).strip()


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a learning applies: a gitignore-style path glob ("" for every path), a rule, a lane."""

    path: str = ""
    rule: str = ""
    lane: str = ""

    @property
    def deterministic(self) -> bool:
        """Whether findings may be dropped by it without a model: it names a rule or a lane."""
        return bool(self.rule or self.lane)

    def covers(self, path: str) -> bool:
        """Whether a file is in the scope's path glob."""
        return not self.path or paths_match((self.path,), path)

    def matches(self, f: Finding) -> bool:
        """Whether a finding is in the scope: its file, its rule and its lane all fit."""
        return (
            self.covers(f.path)
            and (not self.rule or self.rule == f.rule)
            and (not self.lane or self.lane == f.lane.value)
        )

    def describe(self) -> str:
        """The scope in a few words, for lists and prompts."""
        parts = [f"path {self.path}" if self.path else "every path"]
        if self.rule:
            parts.append(f"rule {self.rule}")
        if self.lane:
            parts.append(f"lane {self.lane}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class LearningDraft:
    """A learning as captured, before the store gives it an id.

    Attributes:
        text: what the team said or what swarm inferred (untrusted: it quotes people).
        scope: where it applies.
        confidence: 0..1, by how clearly the source says it (a command counts most).
        source: a link to what it came from (a comment, a reaction): a source is captured once.
        origin: "command", "reaction", "reply" or "resolved".
        effect: SUPPRESS or KEEP.
    """

    text: str
    scope: Scope
    confidence: float
    source: str
    origin: str
    effect: str = SUPPRESS


@dataclass(frozen=True, slots=True)
class Learning:
    """A stored learning. `repo` is "" on the installation tier; `installation_id` None outside the App."""

    id: int
    installation_id: int | None
    repo: str
    text: str
    scope: Scope
    effect: str
    confidence: float
    utility: int
    status: str
    origin: str
    sources: tuple[str, ...] = ()
    created_at: float = 0.0
    updated_at: float = 0.0
    last_used: float | None = None

    @property
    def tier(self) -> str:
        """REPO or INSTALLATION."""
        return REPO if self.repo else INSTALLATION

    @property
    def key(self) -> tuple[str, Scope, str]:
        """What near-duplicates share: normalised text, scope and effect."""
        return normalized(self.text), self.scope, self.effect

    @property
    def weight(self) -> float:
        """What eviction ranks by: (utility + 1) × confidence, so unused ones rank by confidence."""
        return (self.utility + 1) * self.confidence

    def to_dict(self) -> dict[str, object]:
        """JSON-ready data (CLI, API, the run's evidence)."""
        return {
            "id": self.id,
            "installation_id": self.installation_id,
            "tier": self.tier,
            "repo": self.repo,
            "text": self.text,
            "scope": {"path": self.scope.path, "rule": self.scope.rule, "lane": self.scope.lane},
            "effect": self.effect,
            "confidence": round(self.confidence, 3),
            "utility": self.utility,
            "status": self.status,
            "origin": self.origin,
            "sources": list(self.sources),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "last_used": self.last_used,
        }


def context_lines(learnings: Iterable[Learning], paths: Iterable[str], limit: int = 30) -> list[str]:
    """The active learnings that cover any of `paths`, one line each, for the model lanes.

    Most confident first, at most `limit`; the text quotes people, so the caller fences it.
    """
    wanted = list(paths)
    chosen = [lr for lr in learnings if lr.status == ACTIVE and any(lr.scope.covers(p) for p in wanted)]
    chosen.sort(key=lambda lr: (-lr.confidence, lr.id))
    verb = {SUPPRESS: "not wanted", KEEP: "wanted"}
    return [
        f"- #{lr.id} ({lr.scope.describe()}; findings like this are {verb.get(lr.effect, lr.effect)}, "
        f"confidence {lr.confidence:.1f}): {' '.join(lr.text.split())}"
        for lr in chosen[:limit]
    ]
