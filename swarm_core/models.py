"""Frozen value types shared by every part of swarm: findings, lanes, reports and the review."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

__all__ = [
    "AnalyzerReport",
    "AnalyzerStatus",
    "Finding",
    "Lane",
    "LaneResult",
    "LaneStatus",
    "ProgressEvent",
    "Review",
    "Severity",
    "Side",
    "Verdict",
    "Verification",
]


class Severity(enum.StrEnum):
    """How bad a finding is; ordered CRITICAL > HIGH > MEDIUM > LOW."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """4 for CRITICAL down to 1 for LOW, so severities compare as numbers."""
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        """True when this severity is `other` or worse."""
        return self.rank >= other.rank

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Read a severity name in any case; raises ValueError naming the choices."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r}; choose one of {choices}") from None


_SEVERITY_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1}


class Side(enum.StrEnum):
    """The side of a diff a review comment sits on, as GitHub names them."""

    LEFT = "LEFT"
    RIGHT = "RIGHT"


class Lane(enum.StrEnum):
    """The six review lanes (DESIGN §3)."""

    CORRECTNESS = "correctness"
    SECURITY = "security"
    DEPENDENCIES = "dependencies"
    DOCS_INTENT = "docs-intent"
    TESTS = "tests"
    PERFORMANCE_ARCHITECTURE = "performance-architecture"


class Verification(enum.StrEnum):
    """What verification concluded about a finding. Deterministic analyzers are CONFIRMED."""

    CONFIRMED = "CONFIRMED"
    DISPROVED = "DISPROVED"
    UNVERIFIED = "UNVERIFIED"
    PRE_EXISTING = "PRE_EXISTING"


class Verdict(enum.StrEnum):
    """The review's overall call (DESIGN §4)."""

    APPROVE = "APPROVE"
    APPROVE_WITH_NOTES = "APPROVE_WITH_NOTES"
    REQUEST_CHANGES = "REQUEST_CHANGES"
    BLOCK = "BLOCK"


class AnalyzerStatus(enum.StrEnum):
    """How an analyzer's run ended."""

    OK = "ok"
    SKIPPED = "skipped"
    TIMEOUT = "timeout"
    ERROR = "error"


class LaneStatus(enum.StrEnum):
    """How a lane's run ended. DETERMINISTIC: the lane reported its analyzer findings only."""

    OK = "ok"
    DETERMINISTIC = "deterministic"
    DISABLED = "disabled"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a change.

    `line`/`end_line` are line numbers on `side` of the file; `line is None` makes the
    finding file-level. `anchored` is set by verification: True only when every line of
    the range is commentable on GitHub, so the finding may be posted inline.
    """

    path: str
    line: int | None
    severity: Severity
    lane: Lane
    category: str
    rule: str
    title: str
    message: str = ""
    source: str = ""
    end_line: int | None = None
    side: Side = Side.RIGHT
    evidence: str = ""
    suggestion: str | None = None
    cwe: int | None = None
    confidence: float = 1.0
    verification: Verification = Verification.CONFIRMED
    anchored: bool = False
    fingerprint: str = ""
    also_reported_by: tuple[str, ...] = ()

    @property
    def last_line(self) -> int | None:
        """The last line of the range (the line itself for one-line findings)."""
        return self.end_line if self.end_line is not None else self.line

    def location(self) -> str:
        """`path:line` or `path:start-end`, or just `path` for a file-level finding."""
        if self.line is None:
            return self.path
        if self.last_line is not None and self.last_line != self.line:
            return f"{self.path}:{self.line}-{self.last_line}"
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class AnalyzerReport:
    """What one analyzer produced, or why it did not run.

    `count` is the number of raw findings before verification; it survives storage,
    while `findings` is only held during the review.
    """

    name: str
    status: AnalyzerStatus
    findings: tuple[Finding, ...] = ()
    reason: str = ""
    duration_s: float = 0.0
    count: int = 0


@dataclass(frozen=True, slots=True)
class LaneResult:
    """A lane's findings and how the lane ran."""

    lane: Lane
    status: LaneStatus
    findings: tuple[Finding, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class Review:
    """The outcome of reviewing one change; every output format renders this."""

    source: str
    base: str | None
    head: str | None
    verdict: Verdict
    findings: tuple[Finding, ...]
    analyzers: tuple[AnalyzerReport, ...]
    lanes: tuple[LaneResult, ...]
    files_reviewed: int
    additions: int
    deletions: int
    notes: tuple[str, ...] = ()
    skipped_files: tuple[tuple[str, str], ...] = ()
    suppressed: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None
    title: str = ""

    def counts(self) -> dict[str, int]:
        """Number of findings per severity, every severity present (zero when none)."""
        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.value] += 1
        return out

    def worst(self) -> Severity | None:
        """The most severe finding's severity, or None for a clean review."""
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def fails(self, threshold: Severity | None) -> bool:
        """True when a finding is at or above `threshold` (None never fails)."""
        worst = self.worst()
        return threshold is not None and worst is not None and worst.at_least(threshold)

    def with_run_id(self, run_id: str) -> Review:
        """A copy of this review carrying the id the store gave it."""
        return replace(self, run_id=run_id)


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """A step of a review starting or ending, for live displays.

    stage is "analyzer", "lane" or "review"; state is "started" or an end state
    (an AnalyzerStatus or LaneStatus value).
    """

    stage: str
    name: str
    state: str
    detail: str = ""
