"""Verify stage: anchor, check, de-duplicate, filter, redact and fingerprint every lane's findings."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace

from swarm_core.analyzers.secrets import redact_text
from swarm_core.changeset import Contents
from swarm_core.citations import code_at, evidence_holds, normalize
from swarm_core.config import SwarmConfig
from swarm_core.diff import Diff
from swarm_core.models import Finding, Side, Verification

__all__ = ["anchor", "deduplicate", "fingerprint", "suggestion_applies", "tally", "verify"]

# CWEs that describe the same root cause: hard-coded credentials.
_CWE_GROUPS = {259: 798, 321: 798, 522: 798, 798: 798, 78: 78, 77: 78}


def fingerprint(f: Finding, code: Sequence[str], occurrence: int = 0) -> str:
    """A stable id for a finding: path, category, rule and the normalised code it sits on.

    The code text stands in for the line range so that a finding keeps its id when lines
    above it move; `occurrence` tells apart identical code on different lines.
    """
    anchor_text = normalize(" ".join(code)) if code else normalize(f.title)
    raw = "\0".join((f.path, f.category, f.rule, anchor_text, str(occurrence)))
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()[:20]


def anchor(f: Finding, diff: Diff) -> Finding:
    """Mark a finding inline-postable only where GitHub accepts a comment (RULES 22-24).

    A range whose end is not commentable shrinks to its first line; a line outside the
    diff keeps its number for the text but becomes file-level for posting.
    """
    fd = diff.file(f.path)
    if fd is None or f.line is None:
        return replace(f, anchored=False)
    end = f.last_line or f.line
    if fd.can_comment(end, f.side, f.line if end != f.line else None):
        return replace(f, anchored=True)
    if fd.can_comment(f.line, f.side):
        return replace(f, anchored=True, end_line=None)
    return replace(f, anchored=False)


def suggestion_applies(f: Finding, code: Sequence[str] | None) -> bool:
    """A suggestion is offered only where GitHub will apply it to exactly the commented lines.

    The finding must be anchored on the head side with its whole range, the current lines
    must be known, and the replacement must change them.
    """
    if f.suggestion is None or not f.anchored or f.side is not Side.RIGHT or not code:
        return False
    return normalize(f.suggestion) != normalize("\n".join(code))


def deduplicate(findings: Iterable[Finding]) -> list[Finding]:
    """Merge findings with one root cause: same place and rule, or same place and weakness (CWE)."""
    merged: dict[tuple[object, ...], Finding] = {}
    for f in findings:
        cwe = _CWE_GROUPS.get(f.cwe, f.cwe) if f.cwe is not None else None
        key: tuple[object, ...] = (
            (f.path, f.line, f.side, "cwe", cwe)
            if cwe is not None
            else (f.path, f.line, f.last_line, f.side, f.category, f.rule)
        )
        kept = merged.get(key)
        if kept is None:
            merged[key] = f
            continue
        best, other = (
            (f, kept)
            if (f.severity.rank, f.confidence) > (kept.severity.rank, kept.confidence)
            else (kept, f)
        )
        # Two lanes' model findings share a rule name; name the other lane instead.
        other_name = other.rule if other.rule != best.rule else f"{other.lane.value} lane"
        extra = tuple(dict.fromkeys((*best.also_reported_by, other_name, *other.also_reported_by)))
        merged[key] = replace(best, also_reported_by=tuple(r for r in extra if r != best.rule))
    return list(merged.values())


def verify(
    findings: Iterable[Finding],
    diff: Diff,
    config: SwarmConfig,
    *,
    contents: Contents | None = None,
    secrets: Iterable[str] = (),
) -> tuple[list[Finding], int]:
    """Anchor, check, de-duplicate, filter, redact and fingerprint findings.

    Returns:
        The findings to report (worst first) and how many were suppressed by the
        severity threshold, the confidence threshold or a failed evidence check.
    """
    secret_set = frozenset(s for s in secrets if s)
    suppressed = 0
    checked: list[Finding] = []
    for f in deduplicate(findings):
        code = code_at(contents, f)
        if not evidence_holds(f, code):
            suppressed += 1
            continue
        if not f.severity.at_least(config.severity_threshold) or f.confidence < config.min_confidence:
            suppressed += 1
            continue
        anchored = anchor(f, diff)
        if f.verification is not Verification.CONFIRMED:
            anchored = replace(anchored, anchored=False)  # only CONFIRMED findings go inline
        if anchored.suggestion is not None and (
            anchored.end_line != f.end_line or not suggestion_applies(anchored, code)
        ):
            anchored = replace(anchored, suggestion=None)
        checked.append(anchored)
    checked.sort(key=lambda f: (-f.severity.rank, f.path, f.line or 0, f.rule))
    seen: Counter[str] = Counter()
    out = []
    for f in checked:
        code = (code_at(contents, f) or []) if f.side is Side.RIGHT else []
        base = fingerprint(f, code)
        fp = fingerprint(f, code, seen[base]) if seen[base] else base
        seen[base] += 1
        if secret_set:
            f = replace(
                f,
                title=redact_text(f.title, secret_set),
                message=redact_text(f.message, secret_set),
                evidence=redact_text(f.evidence, secret_set),
                suggestion=redact_text(f.suggestion, secret_set) if f.suggestion else f.suggestion,
            )
        out.append(replace(f, fingerprint=fp))
    return out, suppressed


def tally(findings: Iterable[Finding]) -> Counter[str]:
    """How many of the reported model findings ended in each verification state (`reported_<state>`)."""
    counts: Counter[str] = Counter()
    for f in findings:
        if f.source.startswith("model:"):
            counts[f"reported_{f.verification.value}"] += 1
    return counts
