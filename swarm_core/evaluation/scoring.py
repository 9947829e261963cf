"""Scores of replayed reviews: hits at a fix's lines, later-changed lines, golden-comment matches.

- A reversed fix is hit when a finding lands on, or within `window` lines of, a line the fix
  changed: on the left side the fix's own lines (the reversal deletes them), on the right
  the lines the fix had replaced (the reversal puts them back).
- A merged change's finding "was later changed" when a commit within `days` after the change
  rewrote or deleted one of its lines (or, for a file-level finding, touched its file): the
  net diff from the change to the last first-parent commit of the window, read as blame of
  that commit would: which of the change's lines did not survive. It is a precision proxy:
  code a team soon reworked is code a reviewer was right to look at.
- A dataset's golden comment is matched by one finding on the same path within `window`
  lines (one to one, nearest first); precision, recall and F1 follow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from swarm_core.diff import Diff
from swarm_core.git import GitRepo
from swarm_core.models import Finding, Side

__all__ = ["Golden", "LaterChanges", "fix_hit", "fix_lines", "match_golden", "ratio", "within"]

_DAY_S = 86_400
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", re.MULTILINE)


def ratio(part: float, whole: float) -> float:
    """part / whole rounded to four places; 0.0 for an empty whole."""
    return round(part / whole, 4) if whole else 0.0


def within(f: Finding, lines: Iterable[int], window: int) -> bool:
    """True when the finding's line range comes within `window` lines of one of `lines`."""
    if f.line is None:
        return False
    last = f.last_line or f.line
    wanted = set(lines)
    return any(n in wanted for n in range(f.line - window, last + window + 1))


def fix_lines(diff: Diff) -> list[dict[str, object]]:
    """The lines each fix wrote (the left side of its reversal), per file, for the report."""
    return [{"path": fd.path, "lines": sorted(fd.removed)} for fd in diff.files if fd.removed]


def fix_hit(f: Finding, diff: Diff, window: int) -> bool:
    """True when a finding on a reversed fix lands at the fix's lines (see the module docstring)."""
    fd = diff.file(f.path)
    if fd is None:
        return False
    return within(f, fd.removed if f.side is Side.LEFT else fd.added, window)


class LaterChanges:
    """Which lines of a commit a later commit rewrote within `days`; git is asked once per file.

    Args:
        root: the repository.
        days: the window after the reviewed commit.
        tip: the branch whose first-parent history holds the later commits.
    """

    def __init__(self, root: Path, days: int, tip: str = "HEAD") -> None:
        self._repo = GitRepo(root)
        self.days = days
        self.tip = tip
        self._ends: dict[str, str | None] = {}
        self._spans: dict[tuple[str, str], list[tuple[int, int]] | None] = {}

    def _end(self, head: str) -> str | None:
        """The tip's last first-parent commit within the window; None when none came after head."""
        if head not in self._ends:
            when = int(self._repo.run("show", "-s", "--format=%ct", head).strip())
            before = f"--before={when + self.days * _DAY_S}"
            end = self._repo.run("rev-list", "--first-parent", before, "-n", "1", self.tip).strip()
            self._ends[head] = end if end and end != head else None
        return self._ends[head]

    def _changed(self, head: str, path: str) -> list[tuple[int, int]] | None:
        """Line spans of `path` at `head` the window's commits changed; None: the file is untouched."""
        end = self._end(head)
        if end is None:
            return None
        key = (head, path)
        if key not in self._spans:
            diff = self._repo.run(
                "diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames", head, end, "--", path
            )
            spans = []
            for m in _HUNK.finditer(diff):
                start, count = int(m.group(1)), int(m.group(2) if m.group(2) is not None else "1")
                # An insertion (count 0) after line `start` touches the lines on both sides.
                spans.append((start, start + count - 1) if count else (start, start + 1))
            self._spans[key] = spans if diff.strip() else None
        return self._spans[key]

    def changed(self, head: str, f: Finding) -> bool:
        """True when a later commit changed the finding's lines (or, file-level, its file)."""
        if f.side is Side.LEFT:
            return False  # the lines were deleted by the change itself
        spans = self._changed(head, f.path)
        if spans is None:
            return False
        if f.line is None:
            return True
        last = f.last_line or f.line
        return any(lo <= last and f.line <= hi for lo, hi in spans)


@dataclass(frozen=True, slots=True)
class Golden:
    """A golden (expected) review comment of a dataset case; `line` None is file-level."""

    path: str
    line: int | None
    severity: str = ""
    body: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def _norm(path: str) -> str:
    return path.removeprefix("./")


def match_golden(
    findings: Sequence[Finding], golden: Sequence[Golden], window: int
) -> tuple[list[bool], list[bool]]:
    """Match golden comments to findings one to one: same path, within `window` lines, nearest first.

    A file-level golden comment (line None) is matched by any finding on its path.

    Returns:
        (which findings matched, which golden comments matched), in input order.
    """
    taken = [False] * len(findings)
    matched = [False] * len(golden)
    for gi, g in enumerate(golden):
        best: tuple[int, int] | None = None
        for fi, f in enumerate(findings):
            if taken[fi] or _norm(f.path) != _norm(g.path):
                continue
            if g.line is None:
                distance = 0
            elif f.line is None:
                continue
            else:
                last = f.last_line or f.line
                distance = 0 if f.line <= g.line <= last else min(abs(f.line - g.line), abs(last - g.line))
                if distance > window:
                    continue
            if best is None or distance < best[0]:
                best = (distance, fi)
        if best is not None:
            taken[best[1]] = True
            matched[gi] = True
    return taken, matched
