"""Frozen value types shared by every part of swarm: findings, lanes, reports and the review."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = [
    "AnalyzerReport",
    "AnalyzerStatus",
    "Exchange",
    "Finding",
    "FlowStep",
    "Lane",
    "LaneResult",
    "LaneStatus",
    "LearningUse",
    "ProgressEvent",
    "Review",
    "Severity",
    "Side",
    "Usage",
    "Verdict",
    "Verification",
    "document_of",
    "request_counts",
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
    """How a lane's run ended.

    DETERMINISTIC: the lane reported its analyzer findings only (no model configured).
    CUT: a guardrail (calls, tokens, cost, wall time, circuit breaker) stopped the lane
    before it finished; what it found so far is kept.
    """

    OK = "ok"
    DETERMINISTIC = "deterministic"
    DISABLED = "disabled"
    FAILED = "failed"
    CUT = "cut"


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens and money spent on model calls. Adding two Usages sums every field."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    estimated: bool = False

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.calls + other.calls,
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
            self.cost_usd + other.cost_usd,
            self.estimated or other.estimated,
        )

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, int | float | bool]:
        """JSON-ready data; cost rounded to a millionth of a dollar."""
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "estimated": self.estimated,
        }


@dataclass(frozen=True, slots=True)
class Exchange:
    """One model call, kept as evidence with the run (texts already redacted).

    kind is what the call was for: "lane", "reviewer", "critic", "coordinator",
    "repair" or "council"; outcome is "ok" or the error class that ended it.
    """

    kind: str
    lane: str
    model: str
    prompt_hash: str
    usage: Usage
    latency_s: float
    outcome: str
    request: str = ""
    response: str = ""
    reason: str = ""

    @property
    def sent(self) -> bool:
        """True when this row is a request a server saw.

        Rows without a model (the shared context, a finding the checks dropped) and calls
        a guardrail stopped before they were sent are not.
        """
        return bool(self.model) and self.outcome != "LimitReached"


def request_counts(exchanges: Sequence[Exchange]) -> tuple[int, int]:
    """(requests sent, requests answered) among a run's evidence rows."""
    sent = [e for e in exchanges if e.sent]
    return len(sent), sum(1 for e in sent if e.outcome == "ok")


@dataclass(frozen=True, slots=True)
class FlowStep:
    """One step of a data flow a finding follows: a line of the finding's file and its code."""

    line: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a change.

    `line`/`end_line` are line numbers on `side` of the file; `line is None` makes the
    finding file-level. `anchored` is set by verification: True only when every line of
    the range is commentable on GitHub, so the finding may be posted inline. `symbols`
    are the functions, methods and imports a model finding names (checked against the code
    graph); `verification_note` is the reviewer's or critic's one-line reason. `flow` is the
    path of a taint finding from its source line to its sink line.
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
    symbols: tuple[str, ...] = ()
    verification_note: str = ""
    flow: tuple[FlowStep, ...] = ()

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
    """A lane's findings and how the lane ran.

    `model` is the model the router chose (empty for a deterministic lane) and
    `model_reason` its one-line reason; `usage` sums the lane's calls including its
    verification passes.
    """

    lane: Lane
    status: LaneStatus
    findings: tuple[Finding, ...] = ()
    note: str = ""
    model: str = ""
    model_reason: str = ""
    usage: Usage = Usage()
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class LearningUse:
    """A team learning applied to a finding: `action` is "suppressed" or "downgraded".

    `severity` is the finding's severity before the learning applied; `learning_id` names
    the learning in the store (`swarm learnings show ID`).
    """

    learning_id: int
    action: str
    fingerprint: str
    location: str
    rule: str
    severity: str

    def to_dict(self) -> dict[str, str | int]:
        """JSON-ready data."""
        return {
            "learning_id": self.learning_id,
            "action": self.action,
            "fingerprint": self.fingerprint,
            "location": self.location,
            "rule": self.rule,
            "severity": self.severity,
        }


@dataclass(frozen=True, slots=True)
class Review:
    """The outcome of reviewing one change; every output format renders this.

    `findings` holds CONFIRMED findings and the UNVERIFIED ones (listed in the summary,
    never inline, never in the verdict); `verification` counts every outcome, including
    the DISPROVED and PRE_EXISTING findings that were dropped. `exchanges` are the model
    calls (stored as evidence, not rendered); `memory` is the run's swarm memory at the end.
    `learned` is what the team's learnings did to findings (suppressed ones are not in
    `findings`).
    """

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
    repo: str = ""
    usage: Usage = Usage()
    verification: dict[str, int] = field(default_factory=dict)
    exchanges: tuple[Exchange, ...] = ()
    memory: tuple[tuple[str, str], ...] = ()
    learned: tuple[LearningUse, ...] = ()

    def counts(self) -> dict[str, int]:
        """Number of confirmed findings per severity, every severity present (zero when none)."""
        out = {s.value: 0 for s in Severity}
        for f in self.confirmed():
            out[f.severity.value] += 1
        return out

    def confirmed(self) -> tuple[Finding, ...]:
        """The findings verification confirmed: the only ones posted inline or counted for the verdict."""
        return tuple(f for f in self.findings if f.verification is Verification.CONFIRMED)

    def worst(self) -> Severity | None:
        """The most severe confirmed finding's severity, or None for a clean review."""
        return max((f.severity for f in self.confirmed()), key=lambda s: s.rank, default=None)

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


def document_of(result: Any) -> dict[str, Any]:
    """A council's, an answer's or a walkthrough's dataclass as JSON data; its model calls
    (`exchanges`, stored as evidence) are left out and its `usage` becomes a dict."""
    data = asdict(result)
    data.pop("exchanges", None)
    data["usage"] = result.usage.to_dict()
    return data
