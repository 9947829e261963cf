"""Verdict stage: what the verified findings mean for the pull request (DESIGN §4)."""

from __future__ import annotations

from collections.abc import Iterable

from swarm_core.models import Finding, Severity, Verdict, Verification

__all__ = ["verdict_for"]


def verdict_for(findings: Iterable[Finding]) -> Verdict:
    """BLOCK on a confirmed CRITICAL, REQUEST_CHANGES on a confirmed HIGH, notes for the rest.

    Only CONFIRMED findings count: an unverified model claim never blocks a merge.
    """
    confirmed = [f for f in findings if f.verification is Verification.CONFIRMED]
    if any(f.severity is Severity.CRITICAL for f in confirmed):
        return Verdict.BLOCK
    if any(f.severity is Severity.HIGH for f in confirmed):
        return Verdict.REQUEST_CHANGES
    return Verdict.APPROVE_WITH_NOTES if confirmed else Verdict.APPROVE
