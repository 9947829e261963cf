"""Unified-diff model: files, hunks, and the lines GitHub lets a review comment sit on.

GitHub's rules (shared/github/RULES.md 22-24): a comment's `line` is a line number in the
file version of its `side`, and it must lie inside a diff hunk of that file. We follow the
conservative reading the issue asks for:

* RIGHT: added and context lines of the new file (within a hunk these are one contiguous
  range, `+c,d` of the hunk header), so they are stored as ranges;
* LEFT: deleted lines of the old file;
* a multi-line comment's `start_line` must be in the same hunk as its `line`.

Parsing goes through `unidiff`, one file section at a time, so a big diff never holds the
library's per-line objects for more than one file.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from swarm_core.errors import DiffError
from swarm_core.models import Side

__all__ = [
    "DEFAULT_MAX_DIFF_BYTES",
    "Diff",
    "DiffLine",
    "FileDiff",
    "FileStatus",
    "Hunk",
    "decode_text",
    "parse_diff",
]

DEFAULT_MAX_DIFF_BYTES = 16 * 1024 * 1024

_GIT_HEADER = "diff --git "


class FileStatus:
    """How a file changed. Plain string constants keep FileDiff cheap to build."""

    ADDED = "added"
    DELETED = "deleted"
    MODIFIED = "modified"
    RENAMED = "renamed"
    COPIED = "copied"


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a hunk: kind is '+', '-' or ' '; numbers are None on the side it lacks."""

    kind: str
    source_no: int | None
    target_no: int | None
    text: str


@dataclass(frozen=True, slots=True)
class Hunk:
    """One `@@` hunk. `lines` keep their prefix character ('+', '-', ' ') and no newline."""

    source_start: int
    source_length: int
    target_start: int
    target_length: int
    section: str
    lines: tuple[str, ...]

    @property
    def header(self) -> str:
        """The `@@ -a,b +c,d @@ section` line."""
        tail = f" {self.section}" if self.section else ""
        return (
            f"@@ -{self.source_start},{self.source_length} +{self.target_start},{self.target_length} @@{tail}"
        )

    @property
    def target_range(self) -> tuple[int, int] | None:
        """Inclusive (first, last) new-file line numbers the hunk covers, None if it has none."""
        if self.target_length == 0:
            return None
        return self.target_start, self.target_start + self.target_length - 1

    def iter_lines(self) -> Iterator[DiffLine]:
        """Every line with its old and new line numbers."""
        src, tgt = self.source_start, self.target_start
        for raw in self.lines:
            kind, text = raw[:1], raw[1:]
            if kind == "+":
                yield DiffLine("+", None, tgt, text)
                tgt += 1
            elif kind == "-":
                yield DiffLine("-", src, None, text)
                src += 1
            else:
                yield DiffLine(" ", src, tgt, text)
                src += 1
                tgt += 1

    def text(self) -> str:
        """The hunk as it appears in a diff, header included."""
        return "\n".join((self.header, *self.lines))


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One file's change and its commentable lines."""

    path: str
    old_path: str | None
    status: str
    hunks: tuple[Hunk, ...] = ()
    binary: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    added: frozenset[int] = frozenset()
    removed: frozenset[int] = frozenset()
    _right_starts: tuple[int, ...] = field(default=(), repr=False)
    _right_ends: tuple[int, ...] = field(default=(), repr=False)

    @property
    def additions(self) -> int:
        """Number of added lines."""
        return len(self.added)

    @property
    def deletions(self) -> int:
        """Number of deleted lines."""
        return len(self.removed)

    @property
    def mode_changed(self) -> bool:
        """True when the diff records a change of file mode."""
        return self.old_mode is not None and self.new_mode is not None

    def hunk_index(self, side: Side, line: int) -> int | None:
        """Index of the hunk whose `side` holds commentable `line`, or None."""
        if side is Side.RIGHT:
            i = bisect.bisect_right(self._right_starts, line) - 1
            if i >= 0 and line <= self._right_ends[i]:
                return i
            return None
        if line not in self.removed:
            return None
        for i, hunk in enumerate(self.hunks):
            if hunk.source_start <= line < hunk.source_start + max(hunk.source_length, 1):
                return i
        return None  # pragma: no cover - a removed line always lies in a hunk

    def commentable(self, side: Side, line: int) -> bool:
        """True when GitHub accepts a review comment on `line` of `side`."""
        return self.hunk_index(side, line) is not None

    def can_comment(self, line: int, side: Side = Side.RIGHT, start_line: int | None = None) -> bool:
        """True when a (possibly multi-line) comment on start_line..line would be accepted."""
        end = self.hunk_index(side, line)
        if end is None:
            return False
        if start_line is None or start_line == line:
            return True
        if start_line > line:
            return False
        if side is Side.LEFT:
            return all(
                n in self.removed and self.hunk_index(side, n) == end for n in range(start_line, line + 1)
            )
        return self.hunk_index(side, start_line) == end

    def commentable_lines(self, side: Side) -> frozenset[int]:
        """Every commentable line of `side` (materialised; prefer `commentable` for checks)."""
        if side is Side.LEFT:
            return self.removed
        return frozenset(
            n for s, e in zip(self._right_starts, self._right_ends, strict=True) for n in range(s, e + 1)
        )


@dataclass(frozen=True)
class Diff:
    """A parsed change: its files in the order the diff lists them."""

    files: tuple[FileDiff, ...]
    _by_path: dict[str, FileDiff] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_path", {f.path: f for f in self.files})

    def file(self, path: str) -> FileDiff | None:
        """The file diff for a new (or, for deletions, old) path."""
        return self._by_path.get(path)

    @property
    def additions(self) -> int:
        """Added lines across all files."""
        return sum(f.additions for f in self.files)

    @property
    def deletions(self) -> int:
        """Deleted lines across all files."""
        return sum(f.deletions for f in self.files)

    @property
    def is_empty(self) -> bool:
        """True for a diff with no files."""
        return not self.files


def decode_text(data: bytes) -> str:
    """Decode bytes as UTF-8, replacing undecodable bytes rather than failing."""
    return data.decode("utf-8", errors="replace")


def parse_diff(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_DIFF_BYTES) -> Diff:
    """Parse a unified diff (`git diff`, `git format-patch`, `diff -u`) into a Diff.

    Args:
        data: the diff as bytes (any encoding; invalid UTF-8 is replaced) or text.
        max_bytes: refuse inputs larger than this with a DiffError.

    Returns:
        The Diff; an empty or whitespace-only input gives a Diff with no files.

    Raises:
        DiffError: the input is over `max_bytes`, is not a diff, or a hunk is corrupt.
    """
    size = len(data)
    if size > max_bytes:
        raise DiffError(
            f"diff is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit; "
            "review a smaller range or raise limits.max_diff_bytes in the config"
        )
    text = decode_text(data) if isinstance(data, bytes) else data
    if not text.strip():
        return Diff(files=())
    lines = _split_lines(text)
    files: list[FileDiff] = []
    for section in _file_sections(lines):
        files.extend(_parse_section(section))
    if not files:
        first = next((ln for ln in lines if ln.strip()), "")[:60]
        raise DiffError(
            f"input is not a unified diff (no file headers found; it starts with {first!r}); "
            "pass the output of `git diff` or a .patch file"
        )
    return Diff(files=tuple(files))


def _split_lines(text: str) -> list[str]:
    # Only "\n" ends a diff line: str.splitlines would also split on form feeds and other
    # Unicode separators that real files contain (the GPL's text has "\f" lines).
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [p + "\n" for p in parts]


def _file_sections(lines: list[str]) -> Iterator[list[str]]:
    """Split a git diff at each `diff --git` header; other diffs stay whole."""
    starts = [i for i, ln in enumerate(lines) if ln.startswith(_GIT_HEADER)]
    if not starts:
        yield lines
        return
    # Mail headers or a commit message before the first file (git format-patch) are dropped.
    for a, b in zip(starts, [*starts[1:], len(lines)], strict=True):
        yield lines[a:b]


def _parse_section(section: Sequence[str]) -> list[FileDiff]:
    try:
        patch = PatchSet(section)
    except UnidiffParseError as exc:
        where = section[0].strip()[:80] if section else "?"
        raise DiffError(f"corrupt diff near {where!r}: {exc}") from None
    except (ValueError, IndexError) as exc:  # pragma: no cover - defensive: unidiff internals
        raise DiffError(f"corrupt diff: {exc}") from None
    out = []
    for pf in patch:
        out.append(_to_file_diff(pf, section))
    return out


def _strip_prefix(path: str | None) -> str | None:
    if path is None:
        return None
    path = path.strip()
    if path == "/dev/null":
        return None
    if path.startswith('"') and path.endswith('"'):
        path = path[1:-1]
    if path[:2] in ("a/", "b/"):
        path = path[2:]
    return path


def _modes(section: Sequence[str]) -> tuple[str | None, str | None]:
    old = new = None
    for ln in section[:8]:
        if ln.startswith("old mode "):
            old = ln[9:].strip()
        elif ln.startswith("new mode "):
            new = ln[9:].strip()
        elif ln.startswith("@@"):
            break
    return old, new


def _to_file_diff(pf: object, section: Sequence[str]) -> FileDiff:
    raw_source = getattr(pf, "source_file", None)
    raw_target = getattr(pf, "target_file", None)
    source = _strip_prefix(raw_source)
    target = _strip_prefix(raw_target)
    # Status from the headers only: unidiff also guesses "deleted" for a file emptied to
    # zero lines and "added" for a hunk at line 0, which git marks differently.
    header = [ln for ln in section[:8] if not ln.startswith("@@")]
    from_null = (raw_source or "").strip() == "/dev/null"
    to_null = (raw_target or "").strip() == "/dev/null"
    if from_null or any(ln.startswith("new file mode") for ln in header):
        status = FileStatus.ADDED
    elif to_null or any(ln.startswith("deleted file mode") for ln in header):
        status = FileStatus.DELETED
    elif any(ln.startswith("rename from ") for ln in header):
        status = FileStatus.RENAMED
    elif any(ln.startswith("copy from ") for ln in header):
        status = FileStatus.COPIED
    else:
        status = FileStatus.MODIFIED
    path = target if status != FileStatus.DELETED and target else (source or target or "")
    if not path:
        path = str(getattr(pf, "path", ""))
    old_path = source if status in (FileStatus.RENAMED, FileStatus.COPIED) else None
    old_mode, new_mode = _modes(section)
    binary = bool(getattr(pf, "is_binary_file", False))

    hunks: list[Hunk] = []
    added: set[int] = set()
    removed: set[int] = set()
    starts: list[int] = []
    ends: list[int] = []
    for h in pf:  # type: ignore[attr-defined]
        body: list[str] = []
        src = h.source_start
        tgt = h.target_start
        for ln in h:
            t = ln.line_type
            value = ln.value
            if value.endswith("\n"):
                value = value[:-1]
            if t == "+":
                added.add(tgt)
                tgt += 1
            elif t == "-":
                removed.add(src)
                src += 1
            elif t == " ":
                src += 1
                tgt += 1
            else:  # "\ No newline at end of file" is metadata, not a line of either file
                continue
            body.append(t + value)
        hunk = Hunk(
            source_start=h.source_start,
            source_length=h.source_length,
            target_start=h.target_start,
            target_length=h.target_length,
            section=(h.section_header or "").strip(),
            lines=tuple(body),
        )
        rng = hunk.target_range
        if rng is not None:
            starts.append(rng[0])
            ends.append(rng[1])
        hunks.append(hunk)
    # Hunks are ordered in a valid diff; sort defensively so bisect stays correct.
    order = sorted(range(len(starts)), key=starts.__getitem__)
    return FileDiff(
        path=path,
        old_path=old_path,
        status=status,
        hunks=tuple(hunks),
        binary=binary,
        old_mode=old_mode,
        new_mode=new_mode,
        added=frozenset(added),
        removed=frozenset(removed),
        _right_starts=tuple(starts[i] for i in order),
        _right_ends=tuple(ends[i] for i in order),
    )
