"""Where a change comes from: a local git range or a patch, with file contents at base and head.

Contents are read from git objects (`git cat-file --batch`), never from the working tree,
so a review sees exactly the committed base and head. For a patch, the head version of a
file is rebuilt by applying its hunks to the base version (or taken whole for new files).
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from swarm_core.diff import DEFAULT_MAX_DIFF_BYTES, Diff, FileDiff, FileStatus, parse_diff
from swarm_core.errors import SourceError
from swarm_core.models import Side

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


class GitRepo:
    """A local git repository driven through the `git` command. The constructor does no I/O."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _git(self, *args: str, input_bytes: bytes | None = None) -> bytes:
        try:
            proc = subprocess.run(
                ["git", "-C", str(self.path), "-c", "core.quotepath=off", *args],
                input=input_bytes,
                capture_output=True,
                check=False,
            )
        except FileNotFoundError:
            raise SourceError("git is not installed or not on PATH; install git") from None
        if proc.returncode != 0:
            msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise SourceError(f"git {args[0]} failed in {self.path}: {msg[-1] if msg else 'error'}")
        return proc.stdout

    def check(self) -> Path:
        """Verify this is a git work tree and return its top-level directory.

        Raises:
            SourceError: the path is missing or not inside a git repository.
        """
        if not self.path.is_dir():
            raise SourceError(f"no such directory: {self.path}")
        try:
            top = self._git("rev-parse", "--show-toplevel").decode().strip()
        except SourceError:
            raise SourceError(
                f"not a git repository: {self.path}; pass --patch FILE to review a patch instead"
            ) from None
        return Path(top)

    def resolve(self, ref: str) -> str:
        """The commit SHA a ref names.

        Raises:
            SourceError: the ref does not name a commit here.
        """
        try:
            return self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
        except SourceError:
            raise SourceError(f"unknown ref {ref!r} in {self.path}; list refs with `git branch -a`") from None

    def default_branch(self) -> str | None:
        """The default branch (origin's HEAD, else main/master/trunk), or None."""
        try:
            ref = self._git("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD").decode().strip()
            return ref.removeprefix("refs/remotes/")
        except SourceError:
            pass
        for name in ("main", "master", "trunk", "origin/main", "origin/master"):
            try:
                self.resolve(name)
            except SourceError:
                continue
            return name
        return None

    def merge_base(self, a: str, b: str) -> str:
        """The best common ancestor of two commits."""
        return self._git("merge-base", a, b).decode().strip()

    def diff(self, base: str, head: str) -> bytes:
        """`git diff base head` as GitHub computes a pull request's diff, whatever the user's config.

        GitHub shows three lines of context and finds renames at git's default 50 % similarity;
        a user's `diff.context`, `diff.noprefix`, `diff.external`, colour or algorithm settings
        would move hunk edges, and an inline comment outside GitHub's hunk cannot be posted.
        """
        return self._git(
            "-c",
            "diff.context=3",
            "-c",
            "diff.noprefix=false",
            "-c",
            "diff.mnemonicPrefix=false",
            "-c",
            "diff.algorithm=myers",
            "-c",
            "diff.interHunkContext=0",
            "-c",
            "diff.indentHeuristic=true",
            "-c",
            "diff.relative=false",
            "diff",
            "-U3",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            "-M50%",
            base,
            head,
        )

    def blame(self, commit: str, path: str, ranges: Iterable[tuple[int, int]]) -> bytes:
        """`git blame --porcelain` of line ranges of a file at a commit (who last wrote each line)."""
        spans = [arg for lo, hi in ranges for arg in ("-L", f"{lo},{hi}")]
        return self._git("blame", "--porcelain", *spans, commit, "--", path)

    def commit_summary(self, sha: str) -> tuple[str, str, tuple[str, ...]]:
        """(subject, body, changed paths) of a commit."""
        out = self._git("show", "--no-renames", "--name-only", "--format=%s%x00%b%x00", sha).decode(
            "utf-8", "replace"
        )
        subject, body, files = [*out.split("\0", 2), "", ""][:3]
        return subject.strip(), body.strip(), tuple(p for p in files.split("\n") if p.strip())

    def commit_diff(self, sha: str, path: str) -> bytes:
        """The diff a commit made to one file against its first parent, without context lines."""
        return self._git(
            "-c",
            "diff.noprefix=false",
            "diff",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            f"{sha}^",
            sha,
            "--",
            path,
        )

    def list_paths(self, commit: str) -> tuple[str, ...]:
        """Every file path of a commit's tree."""
        out = self._git("ls-tree", "-r", "-z", "--name-only", commit)
        return tuple(p for p in out.decode("utf-8", "replace").split("\0") if p)

    def read_blobs(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], bytes | None]:
        """Read many `(commit, path)` blobs in one `git cat-file --batch` call."""
        keys = [k for k in dict.fromkeys(wanted) if "\n" not in k[1]]
        if not keys:
            return {}
        out = self._git("cat-file", "--batch", input_bytes="".join(f"{c}:{p}\n" for c, p in keys).encode())
        result: dict[tuple[str, str], bytes | None] = {}
        pos = 0
        for key in keys:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].split()
            pos = nl + 1
            if len(header) == 3 and header[1] == b"blob":
                size = int(header[2])
                result[key] = out[pos : pos + size]
                pos += size + 1
            elif len(header) == 3:  # a tree or submodule at that path: not a file
                pos += int(header[2]) + 1
                result[key] = None
            else:  # "<object> missing"
                result[key] = None
        return result


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
        self._exists: dict[tuple[str, Side], bool] = {}

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
        """Whether `path` exists at that side's commit."""
        key = (path, side)
        if key not in self._exists:
            self._exists[key] = self.read(path, side) is not None
        return self._exists[key]

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
    return ChangeSet(
        diff=diff,
        contents=GitContents(repo, base_sha, head_sha, diff, max_file_bytes),
        label=f"{root.name} {base_label}..{head_ref}",
        base=base_sha,
        head=head_sha,
        repo_root=root,
        notes=tuple(notes),
    )


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
    )
