"""Learnings stage: the team's learnings suppress or downgrade the verified findings they cover.

Deterministic: a finding inside the scope of an active SUPPRESS learning that names a rule
or a lane is dropped when the learning's confidence is at least SUPPRESS_AT, and lowered
one severity step when it is at least DOWNGRADE_AT; a weaker learning is context for the
model lanes only. When several learnings cover a finding, the most confident one decides.
Every decision is kept as a `LearningUse`, so the summary can count it and the stored
run says which learning did what.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from swarm_core.learnings.learning import ACTIVE, SUPPRESS, Learning
from swarm_core.models import Finding, LearningUse, Severity

__all__ = ["DOWNGRADE_AT", "SUPPRESS_AT", "Applied", "apply_learnings"]

SUPPRESS_AT = 0.8
DOWNGRADE_AT = 0.5

_LOWER = {
    Severity.CRITICAL: Severity.HIGH,
    Severity.HIGH: Severity.MEDIUM,
    Severity.MEDIUM: Severity.LOW,
    Severity.LOW: Severity.LOW,
}


@dataclass(frozen=True, slots=True)
class Applied:
    """The findings that remain (downgraded ones at their new severity) and what each learning did."""

    findings: list[Finding]
    uses: tuple[LearningUse, ...]


def _deciding(f: Finding, learnings: Sequence[Learning]) -> Learning | None:
    covering = [lr for lr in learnings if lr.scope.matches(f)]
    return max(covering, key=lambda lr: (lr.confidence, -lr.id), default=None)


def apply_learnings(findings: Iterable[Finding], learnings: Iterable[Learning]) -> Applied:
    """Suppress or downgrade the findings that the team's learnings cover.

    Args:
        findings: the verified findings, worst first.
        learnings: the repository's and the installation's learnings (any status: only
            active SUPPRESS learnings with a rule or lane and enough confidence count).

    Returns:
        The findings to report and the uses, in finding order.
    """
    usable = [
        lr
        for lr in learnings
        if lr.status == ACTIVE
        and lr.effect == SUPPRESS
        and lr.scope.deterministic
        and lr.confidence >= DOWNGRADE_AT
    ]
    kept: list[Finding] = []
    uses: list[LearningUse] = []
    for f in findings:
        lr = _deciding(f, usable) if usable else None
        if lr is None:
            kept.append(f)
            continue
        action = "suppressed" if lr.confidence >= SUPPRESS_AT else "downgraded"
        uses.append(LearningUse(lr.id, action, f.fingerprint, f.location(), f.rule, f.severity.value))
        if action == "downgraded":
            kept.append(replace(f, severity=_LOWER[f.severity]))
    return Applied(kept, tuple(uses))
