"""Deterministic verification: anchoring, fingerprints, de-duplication, redaction and the verdict."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace

from swarm_core.analyzers.secrets import redact_text
from swarm_core.config import SwarmConfig
from swarm_core.diff import Diff
from swarm_core.models import Finding, Severity, Side, Verdict, Verification
from swarm_core.sources import Contents, split_lines

__all__ = [
    "anchor",
    "check_symbols",
    "deduplicate",
    "fingerprint",
    "known_names",
    "relocate",
    "suggestion_applies",
    "verdict_for",
    "verify",
]

_SPACE = re.compile(r"\s+")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
# CWEs that describe the same root cause: hard-coded credentials.
_CWE_GROUPS = {259: 798, 321: 798, 522: 798, 798: 798, 78: 78, 77: 78}


def _lines(contents: Contents | None, f: Finding) -> list[str] | None:
    """The code a finding points at; None when unknown, [] when the line is past the end of the file."""
    if contents is None or f.line is None:
        return None
    data = contents.read(f.path, f.side)
    if data is None:
        return None
    return list(split_lines(data)[f.line - 1 : f.last_line or f.line])


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def fingerprint(f: Finding, code: Sequence[str], occurrence: int = 0) -> str:
    """A stable id for a finding: path, category, rule and the normalised code it sits on.

    The code text stands in for the line range so that a finding keeps its id when lines
    above it move; `occurrence` tells apart identical code on different lines.
    """
    anchor_text = _norm(" ".join(code)) if code else _norm(f.title)
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


def _evidence_holds(f: Finding, code: Sequence[str] | None) -> bool:
    """The line must exist and the quoted code must really be there (redacted quotes are not compared)."""
    if code is None:
        return True  # contents unavailable (a patch without its repo): nothing to check against
    if not code:
        return False  # a line past the end of the file
    if not f.evidence or "[redacted" in f.evidence:
        return True
    return _norm(f.evidence) in _norm(" ".join(code))


def relocate(f: Finding, contents: Contents | None, window: int = 5) -> Finding | None:
    """Anchor a model finding to the line its quoted code is really on.

    Models miscount lines; a quote found on exactly one line within `window` lines of the
    claimed line moves the finding there. A quote found nowhere near is a hallucinated
    location: None. Findings without a quote or without contents are returned unchanged
    (the reviewer pass judges them).
    """
    if f.line is None or not f.evidence.strip() or contents is None:
        return f
    data = contents.read(f.path, f.side)
    if data is None:
        return f
    lines = split_lines(data)
    code = list(lines[f.line - 1 : f.last_line or f.line])
    if _evidence_holds(f, code):
        return f
    needle = _norm(next(line for line in f.evidence.splitlines() if line.strip()))
    lo = max(1, f.line - window)
    hi = min(len(lines), (f.last_line or f.line) + window)
    hits = [n for n in range(lo, hi + 1) if needle and needle in _norm(lines[n - 1])]
    if not hits:
        return None
    distance = min(abs(n - f.line) for n in hits)
    nearest = [n for n in hits if abs(n - f.line) == distance]
    if len(nearest) > 1:
        return None  # two equally near matches: the location is ambiguous
    delta = nearest[0] - f.line
    return replace(f, line=nearest[0], end_line=None if f.end_line is None else f.end_line + delta)


def known_names(contents: Contents | None, paths: Iterable[str]) -> frozenset[str] | None:
    """Every identifier in the head and base versions of the changed files (None without contents).

    This is the code graph's vocabulary for the symbol check: definitions, imports and
    every name used.
    """
    if contents is None:
        return None
    names: set[str] = set()
    seen_any = False
    for path in paths:
        for side in (Side.RIGHT, Side.LEFT):
            data = contents.read(path, side)
            if data is not None:
                seen_any = True
                names.update(_IDENT.findall(data.decode("utf-8", "replace")))
    return frozenset(names) if seen_any else None


def check_symbols(f: Finding, names: frozenset[str] | None) -> str | None:
    """The first name a finding cites that exists nowhere in the change, or None when all exist."""
    if names is None:
        return None
    for symbol in f.symbols:
        parts = _IDENT.findall(symbol.split("(", 1)[0])
        for part in parts:
            if part not in names:
                return symbol
    return None


def suggestion_applies(f: Finding, code: Sequence[str] | None) -> bool:
    """A suggestion is offered only where GitHub will apply it to exactly the commented lines.

    The finding must be anchored on the head side with its whole range, the current lines
    must be known, and the replacement must change them.
    """
    if f.suggestion is None or not f.anchored or f.side is not Side.RIGHT or not code:
        return False
    return _norm(f.suggestion) != _norm("\n".join(code))


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
        code = _lines(contents, f)
        if not _evidence_holds(f, code):
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
        code = (_lines(contents, f) or []) if f.side is Side.RIGHT else []
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


def verdict_for(findings: Iterable[Finding]) -> Verdict:
    """BLOCK on a confirmed CRITICAL, REQUEST_CHANGES on a confirmed HIGH, notes for the rest (DESIGN §4)."""
    confirmed = [f for f in findings if f.verification is Verification.CONFIRMED]
    if any(f.severity is Severity.CRITICAL for f in confirmed):
        return Verdict.BLOCK
    if any(f.severity is Severity.HIGH for f in confirmed):
        return Verdict.REQUEST_CHANGES
    return Verdict.APPROVE_WITH_NOTES if confirmed else Verdict.APPROVE
