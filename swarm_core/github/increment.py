"""What a push changed since the last reviewed head: the increment an incremental review looks at.

GitHub's compare of the two heads names the files the new commits touched when the old
head is an ancestor of the new one. After a force-push (compare says "diverged", or the
old head is gone: 404) there is no such history, so the range diff stands in: every file
of the pull request whose content differs between the two heads. Either way the changed
lines come from the two versions of each file, and only lines the pull request itself
adds count: a merge of the base branch brings lines that are not the author's.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from swarm_core.changeset import ChangeSet, split_lines
from swarm_core.diff import Diff, DiffLine, FileDiff, FileStatus, Hunk, parse_diff
from swarm_core.errors import GitHubNotFound
from swarm_core.github.client import GitHubClient, PullRequest
from swarm_core.models import Side

__all__ = ["CONTEXT_LINES", "Increment", "LineMap", "find_increment", "line_map", "narrow"]

CONTEXT_LINES = 8  # lines around a changed line a narrowed review still shows
_COMPARE_FILES = 300  # GitHub lists at most this many files in a compare; past it, ask the range diff


@dataclass(frozen=True, slots=True)
class LineMap:
    """Where the lines of a file's old version are in its new version.

    `kept` maps an unchanged old line to its new number; a changed or deleted old line is
    `near` the first new line of the block that replaced it (its moved site).
    """

    kept: Mapping[int, int]
    near: Mapping[int, int]
    changed: frozenset[int]  # new lines the push added or rewrote

    def site(self, line: int) -> int:
        """The new line number of old `line`: where it is now, or where its replacement starts."""
        return self.kept.get(line) or self.near.get(line) or line


@dataclass(frozen=True)
class Increment:
    """The change between the last reviewed head and the new one.

    Attributes:
        old_head: the head reviewed last.
        new_head: the head being reviewed.
        how: "compare" (the old head is an ancestor) or "range-diff" (history was rewritten).
        maps: per changed file, how its lines moved; a file not listed did not change.
        lines: per file, the lines of the pull request's diff the new commits added or changed.
    """

    old_head: str
    new_head: str
    how: str
    maps: dict[str, LineMap] = field(default_factory=dict)
    lines: dict[str, frozenset[int]] = field(default_factory=dict)

    def touched(self, path: str, first: int | None, last: int | None) -> bool:
        """Whether the new commits changed any line of an old site (a whole file when `first` is None)."""
        lm = self.maps.get(path)
        if lm is None:
            return False
        if first is None:
            return True
        return any(n not in lm.kept for n in range(first, (last or first) + 1))


def line_map(old: bytes | None, new: bytes | None) -> LineMap:
    """How the lines of `old` moved in `new` (None stands for an absent file)."""
    a = list(split_lines(old)) if old is not None else []
    b = list(split_lines(new)) if new is not None else []
    kept: dict[int, int] = {}
    near: dict[int, int] = {}
    changed: set[int] = set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            kept.update({i1 + k + 1: j1 + k + 1 for k in range(i2 - i1)})
            continue
        changed.update(range(j1 + 1, j2 + 1))
        near.update({i + 1: min(j1 + 1, max(len(b), 1)) for i in range(i1, i2)})
    return LineMap(kept, near, frozenset(changed))


def _compared_paths(client: GitHubClient, pr: PullRequest, old_head: str) -> list[str] | None:
    """The files the commits after `old_head` touched, or None when the history was rewritten."""
    try:
        _, data = client.request(
            "GET",
            f"/repos/{pr.repo}/compare/{old_head}...{pr.head_sha}",
            params={"per_page": 100},
            what="comparing the reviewed head with the new one",
        )
    except GitHubNotFound:
        return None  # the old head is gone: force-pushed away and collected
    data = data if isinstance(data, dict) else {}
    files = data.get("files") or []
    if data.get("status") not in ("ahead", "identical") or len(files) >= _COMPARE_FILES:
        return None
    paths: list[str] = []
    for f in files:
        paths += [str(f.get("filename") or "")] + (
            [str(f["previous_filename"])] if f.get("previous_filename") else []
        )
    return [p for p in paths if p]


def find_increment(client: GitHubClient, pr: PullRequest, old_head: str, change: ChangeSet) -> Increment:
    """The increment from `old_head` to the pull request's head, within the pull request's diff."""
    compared = _compared_paths(client, pr, old_head)
    how = "range-diff" if compared is None else "compare"
    wanted = set(compared) if compared is not None else None
    inc = Increment(old_head, pr.head_sha, how)
    for fd in change.diff.files:
        if fd.binary or (wanted is not None and fd.path not in wanted and (fd.old_path or "") not in wanted):
            continue
        new = change.contents.read(fd.path, Side.RIGHT)
        old = client.file(pr.repo, fd.path, old_head)
        if old == new:
            continue
        lm = line_map(old, new)
        inc.maps[fd.path] = lm
        lines = lm.changed & fd.added
        if lines:
            inc.lines[fd.path] = frozenset(lines)
    return inc


def _header(fd: FileDiff) -> list[str]:
    old = fd.old_path or fd.path
    if fd.status == FileStatus.ADDED:
        return [
            f"diff --git a/{fd.path} b/{fd.path}",
            "new file mode 100644",
            "--- /dev/null",
            f"+++ b/{fd.path}",
        ]
    if fd.status == FileStatus.DELETED:
        return [f"diff --git a/{old} b/{old}", "deleted file mode 100644", f"--- a/{old}", "+++ /dev/null"]
    rename = [f"rename from {old}", f"rename to {fd.path}"] if old != fd.path else []
    return [f"diff --git a/{old} b/{fd.path}", *rename, f"--- a/{old}", f"+++ b/{fd.path}"]


def _windows(h: Hunk, wanted: set[int], context: int = CONTEXT_LINES) -> list[str]:
    """The parts of a hunk within `context` lines of a wanted new line, each as a hunk of its own."""
    rows = list(h.iter_lines())
    spots: list[int] = []
    at = h.target_start  # a removed line stands where the next new line would
    for row in rows:
        at = row.target_no if row.target_no is not None else at
        spots.append(at)
        at += 1 if row.target_no is not None else 0
    near = [i for i, spot in enumerate(spots) if any(abs(spot - n) <= context for n in wanted)]
    out: list[str] = []
    start = 0
    while start < len(near):
        end = start
        while end + 1 < len(near) and near[end + 1] == near[end] + 1:
            end += 1
        out.append(_sub_hunk(h, rows, near[start], near[end]))
        start = end + 1
    return out


def _sub_hunk(h: Hunk, rows: list[DiffLine], first: int, last: int) -> str:
    """Rows first..last of a hunk as a hunk: numbered from where they stand in both files."""
    # The next line of each side where the window starts (a side with no lines in the hunk is
    # numbered by the line before it, as diff does).
    src = h.source_start + (0 if h.source_length else 1) + sum(1 for r in rows[:first] if r.kind != "+")
    tgt = h.target_start + (0 if h.target_length else 1) + sum(1 for r in rows[:first] if r.kind != "-")
    part = h.lines[first : last + 1]
    old_len = sum(1 for ln in part if ln[:1] != "+")
    new_len = sum(1 for ln in part if ln[:1] != "-")
    return "\n".join(
        (f"@@ -{src if old_len else src - 1},{old_len} +{tgt if new_len else tgt - 1},{new_len} @@", *part)
    )


def narrow(change: ChangeSet, lines: Mapping[str, Iterable[int]], note: str = "") -> ChangeSet:
    """The change cut down to the parts of its hunks near `lines` (per path; an empty set keeps
    the file's every hunk), so a model lane reads the increment, not the whole pull request.

    Every line kept is a line of the pull request's diff, so whatever the review anchors on
    it is still commentable on GitHub.
    """
    parts: list[str] = []
    for fd in change.diff.files:
        if fd.path not in lines or fd.binary:
            continue
        wanted = set(lines[fd.path])
        hunks = (
            [h.text() for h in fd.hunks] if not wanted else [w for h in fd.hunks for w in _windows(h, wanted)]
        )
        if hunks:
            parts.append("\n".join([*_header(fd), *hunks]) + "\n")
    diff: Diff = parse_diff("".join(parts)) if parts else Diff(())
    notes = (*change.notes, note) if note else change.notes
    return replace(change, diff=diff, notes=notes)
