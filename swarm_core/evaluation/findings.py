"""A replayed review's findings as report rows: safe text, the code around each, its verification.

Titles and messages may come from a model that read the change, so they go through the
output sanitizer like any posted text. `code` is the lines around the finding at the
reviewed head (at the base for a finding on a deleted line), numbered, the line marked `>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from swarm_core.git import GitRepo
from swarm_core.models import Finding, Review, Side, Verification
from swarm_core.render.sanitize import sanitize

__all__ = ["CONTEXT_LINES", "code_around", "finding_items", "lane_usage"]

CONTEXT_LINES = 3
_VERDICTS = {
    Verification.CONFIRMED: "confirmed",
    Verification.UNVERIFIED: "unverified",
    Verification.DISPROVED: "rejected",
}


def code_around(text: str | None, line: int | None, context: int = CONTEXT_LINES) -> str:
    """Numbered lines around `line` of a file's text, the line itself marked; "" when there is none."""
    if text is None or line is None:
        return ""
    lines = text.splitlines()
    lo, hi = max(1, line - context), min(len(lines), line + context)
    return "\n".join(f"{n:>5}{'>' if n == line else ' '} {lines[n - 1]}" for n in range(lo, hi + 1))


def finding_items(root: Path, base: str, head: str, findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """Report rows for a review's findings, with the code around each (one git call for all files)."""
    wanted = {(base if f.side is Side.LEFT else head, f.path) for f in findings if f.line is not None}
    blobs = GitRepo(root).read_blobs(sorted(wanted)) if wanted else {}
    rows = []
    for f in findings:
        blob = blobs.get((base if f.side is Side.LEFT else head, f.path))
        rows.append(
            {
                "id": f.fingerprint,
                "path": f.path,
                "line": f.line,
                "end_line": f.end_line,
                "side": f.side.value,
                "severity": f.severity.value.upper(),
                "lane": f.lane.value,
                "source": f.source,
                "rule": f.rule,
                "title": sanitize(f.title, limit=300),
                "body": sanitize(f.message),
                "code": code_around(blob.decode("utf-8", "replace") if blob is not None else None, f.line),
                "later_changed": None,
                "verdict": _VERDICTS.get(f.verification, f.verification.value.lower()),
            }
        )
    return rows


def lane_usage(review: Review) -> dict[str, dict[str, float | int]]:
    """Tokens and cost of each lane's model calls (lanes with no calls left out)."""
    return {
        r.lane.value: {"tokens": r.usage.total_tokens, "cost_usd": round(r.usage.cost_usd, 6)}
        for r in review.lanes
        if r.usage.calls
    }
