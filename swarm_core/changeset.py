"""Where a change comes from: a local git range or a patch, with file contents at base and head.

Contents are read from git objects (`git cat-file --batch`), never from the working tree,
so a review sees exactly the committed base and head. For a patch, the head version of a
file is rebuilt by applying its hunks to the base version (or taken whole for new files).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from swarm_core.diff import DEFAULT_MAX_DIFF_BYTES, Diff, FileDiff, FileStatus, parse_diff
from swarm_core.errors import SourceError
from swarm_core.git import GitRepo
from swarm_core.history import GitHistory, History
from swarm_core.models import Side

if TYPE_CHECKING:
    from swarm_core.learnings.learning import Learning

__all__ = [
    "ChangeSet",
    "Contents",
    "GitContents",
    "GitRepo",
    "PatchContents",
    "apply_hunks",
    "from_git",
    "from_patch",
    "split_lines",
]

DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024


@lru_cache(maxsize=64)
def split_lines(source: bytes) -> tuple[str, ...]:
    """A file's lines, decoded (invalid UTF-8 replaced), without line endings.

    Cached: contents are cached objects, so analyzers and verification asking for many
    lines of one file split it once (bytes cache their hash).
    """
    return tuple(ln.rstrip("\r") for ln in source.decode("utf-8", "replace").split("\n"))


class Contents(Protocol):
    """Read access to the files of a change at base (LEFT) and head (RIGHT)."""

    def read(self, path: str, side: Side) -> bytes | None:
        """The file's bytes on that side, or None when absent or unavailable."""
        ...

    def exists(self, path: str, side: Side) -> bool | None:
        """Whether the file exists on that side; None when the source cannot tell."""
        ...


@dataclass(frozen=True)
class ChangeSet:
    """A change to review: the diff, its file contents, and where it came from."""

    diff: Diff
    contents: Contents
    label: str
    base: str | None = None
    head: str | None = None
    repo_root: Path | None = None
    title: str = ""
    description: str = ""
    notes: tuple[str, ...] = field(default=())
    repo: str = ""
    # The team's learnings for the repository (the App reads them from the store): applied
    # to the verified findings and quoted to the model lanes as data.
    learnings: tuple[Learning, ...] = ()
    # Who wrote the lines the change deletes, and what those commits said (the regression
    # guard reads it): git for a local repository, GitHub's API for a pull request; None
    # when there is no history to ask (a bare patch).
    history: History | None = None


class GitContents:
    """Contents of a git change, loaded for all changed files in one batch on first use."""

    def __init__(
        self,
        repo: GitRepo,
        base: str,
        head: str,
        diff: Diff,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        self._repo = repo
        self._base = base
        self._head = head
        self._diff = diff
        self._max = max_file_bytes
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, Side], bytes | None] | None = None

    def _load(self) -> dict[tuple[str, Side], bytes | None]:
        with self._lock:
            if self._cache is None:
                wanted: list[tuple[str, str]] = []
                for fd in self._diff.files:
                    if fd.binary:
                        continue
                    if fd.status != FileStatus.DELETED:
                        wanted.append((self._head, fd.path))
                    if fd.status != FileStatus.ADDED:
                        wanted.append((self._base, fd.old_path or fd.path))
                blobs = self._repo.read_blobs(wanted)
                cache: dict[tuple[str, Side], bytes | None] = {}
                for fd in self._diff.files:
                    for side, sha, path in (
                        (Side.RIGHT, self._head, fd.path),
                        (Side.LEFT, self._base, fd.old_path or fd.path),
                    ):
                        data = blobs.get((sha, path))
                        cache[(fd.path, side)] = data if data is None or len(data) <= self._max else None
                self._cache = cache
            return self._cache

    def read(self, path: str, side: Side) -> bytes | None:
        """Bytes of a file at base (LEFT) or head (RIGHT); files outside the diff are read on demand."""
        cache = self._load()
        if (path, side) in cache:
            return cache[(path, side)]
        sha = self._head if side is Side.RIGHT else self._base
        data = self._repo.read_blobs([(sha, path)]).get((sha, path))
        with self._lock:
            cache[(path, side)] = data
        return data

    def exists(self, path: str, side: Side) -> bool | None:
        """Whether `path` exists at that side's commit (`read` caches what it read)."""
        return self.read(path, side) is not None

    def paths(self, side: Side) -> tuple[str, ...]:
        """Every file path of that side's tree (tools that resolve imports need the layout)."""
        return self._repo.list_paths(self._head if side is Side.RIGHT else self._base)


def apply_hunks(base: bytes | None, fd: FileDiff) -> bytes | None:
    """Rebuild the head version of a file from its base and its hunks; None if they disagree."""
    if fd.status == FileStatus.DELETED:
        return None
    if fd.status == FileStatus.ADDED:
        return "".join(ln[1:] + "\n" for h in fd.hunks for ln in h.lines if ln[:1] == "+").encode()
    if base is None:
        return None
    old = base.decode("utf-8", "replace").split("\n")
    trailing_newline = bool(old) and old[-1] == ""
    if trailing_newline:
        old.pop()
    new: list[str] = []
    pos = 0  # index into old (0-based)
    for h in fd.hunks:
        start = max(h.source_start - 1, 0) if h.source_length else h.source_start
        if start < pos or start > len(old):
            return None
        new.extend(old[pos:start])
        pos = start
        for ln in h.lines:
            kind, text = ln[:1], ln[1:]
            if kind == "+":
                new.append(text)
                continue
            if pos >= len(old) or old[pos].rstrip("\r") != text.rstrip("\r"):
                return None
            if kind == " ":
                new.append(old[pos])
            pos += 1
    new.extend(old[pos:])
    return ("\n".join(new) + ("\n" if new and trailing_newline else "")).encode()


class PatchContents:
    """Contents for a patch: base from a repo when one is given, head rebuilt from the hunks."""

    def __init__(self, diff: Diff, repo: GitRepo | None = None, base: str | None = None) -> None:
        self._diff = diff
        self._repo = repo
        self._base = base
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, Side], bytes | None] = {}

    def _base_bytes(self, path: str) -> bytes | None:
        if self._repo is None or self._base is None:
            return None
        return self._repo.read_blobs([(self._base, path)]).get((self._base, path))

    def read(self, path: str, side: Side) -> bytes | None:
        """Base from the repo (if any); head rebuilt by applying the patch's hunks."""
        key = (path, side)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        fd = self._diff.file(path)
        if side is Side.LEFT:
            src = fd.old_path or fd.path if fd else path
            data = None if fd and fd.status == FileStatus.ADDED else self._base_bytes(src)
        elif fd is None:
            data = self._base_bytes(path)
        else:
            base = None
            if fd.status != FileStatus.ADDED:
                base = self._base_bytes(fd.old_path or fd.path)
            data = apply_hunks(base, fd)
        with self._lock:
            self._cache[key] = data
        return data

    def exists(self, path: str, side: Side) -> bool | None:
        """Known for files in the patch or when a repo is given; None otherwise."""
        fd = self._diff.file(path)
        if fd is not None:
            if side is Side.RIGHT:
                return fd.status != FileStatus.DELETED
            return fd.status != FileStatus.ADDED
        if self._repo is None:
            return None
        return self.read(path, side) is not None


def from_git(
    path: str | Path,
    base: str | None = None,
    head: str | None = None,
    *,
    max_diff_bytes: int = DEFAULT_MAX_DIFF_BYTES,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> ChangeSet:
    """A change between two commits of a local repository.

    Args:
        path: any directory inside the repository.
        base: base ref; default the merge base of head with the default branch.
        head: head ref; default HEAD.
        max_diff_bytes: refuse larger diffs.
        max_file_bytes: files larger than this are not read (analyzers see them as unavailable).

    Raises:
        SourceError: not a repository, unknown ref, or no default branch to compare with.
    """
    repo = GitRepo(path)
    root = repo.check()
    repo = GitRepo(root)
    head_ref = head or "HEAD"
    head_sha = repo.resolve(head_ref)
    notes: list[str] = []
    if base is None:
        default = repo.default_branch()
        if default is None:
            raise SourceError(f"cannot find a default branch in {root}; pass --base REF")
        base_sha = repo.merge_base(repo.resolve(default), head_sha)
        base_label = f"merge-base({default})"
        if base_sha == head_sha:
            notes.append(f"{head_ref} is on {default}: nothing to compare; pass --base REF to review a range")
    else:
        base_sha = repo.resolve(base)
        base_label = base
    diff = parse_diff(repo.diff(base_sha, head_sha), max_bytes=max_diff_bytes)
    title, description = _intent(repo, base_sha, head_sha)
    return ChangeSet(
        diff=diff,
        contents=GitContents(repo, base_sha, head_sha, diff, max_file_bytes),
        label=f"{root.name} {base_label}..{head_ref}",
        base=base_sha,
        head=head_sha,
        repo_root=root,
        title=title,
        description=description,
        notes=tuple(notes),
        history=GitHistory(repo),
    )


_MERGED_PR = re.compile(r"^Merge pull request #\d+ from \S+$")


def _intent(repo: GitRepo, base: str, head: str) -> tuple[str, str]:
    """What a pull request of this range would be titled: its one commit's message.

    GitHub titles a one-commit pull request with the commit's subject; a merge of a pull
    request carries the pull request's title as its body's first line. A range of several
    commits has no single title (a branch's name is not read): ("", "").
    """
    if base == head:
        return "", ""
    log = repo.run("log", "--first-parent", "-n", "2", "--format=%P%x00%s%x00%b%x1e", f"{base}..{head}")
    entries = [e.strip("\n") for e in log.split("\x1e") if e.strip("\n")]
    if len(entries) != 1:
        return "", ""
    parents, subject, body = [*entries[0].split("\x00"), "", ""][:3]
    if len(parents.split()) > 1 and _MERGED_PR.match(subject):
        first, _, rest = body.strip().partition("\n")
        return first.strip(), rest.strip()
    return subject.strip(), body.strip()


def from_patch(
    data: bytes,
    label: str,
    *,
    repo_path: str | Path | None = None,
    base: str | None = None,
    max_diff_bytes: int = DEFAULT_MAX_DIFF_BYTES,
) -> ChangeSet:
    """A change given as a unified diff; with `repo_path`, base files come from that repo.

    Raises:
        DiffError: the data is not a diff or is corrupt.
        SourceError: the repo or base ref cannot be read.
    """
    diff = parse_diff(data, max_bytes=max_diff_bytes)
    repo: GitRepo | None = None
    base_sha: str | None = None
    root: Path | None = None
    notes: list[str] = []
    if repo_path is not None:
        repo = GitRepo(repo_path)
        root = repo.check()
        repo = GitRepo(root)
        base_sha = repo.resolve(base or "HEAD")
    partial = [
        f.path
        for f in diff.files
        if repo is None and f.status not in (FileStatus.ADDED, FileStatus.DELETED) and not f.binary
    ]
    if partial:
        notes.append(
            f"{len(partial)} modified file(s) have only their hunks (no base version); "
            "pass --repo PATH to give analyzers whole files"
        )
    return ChangeSet(
        diff=diff,
        contents=PatchContents(diff, repo, base_sha),
        label=label,
        base=base_sha,
        repo_root=root,
        notes=tuple(notes),
        history=GitHistory(repo) if repo is not None else None,
    )
