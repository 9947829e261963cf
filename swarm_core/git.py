"""A local git repository driven through `git`: refs, diffs as GitHub makes them, blame, objects."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from swarm_core.errors import SourceError

__all__ = ["GitRepo"]


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

    def run(self, *args: str) -> str:
        """Any git command's output as text (history queries: log, diff --numstat, rev-list).

        Raises:
            SourceError: git failed; the message is its last line of stderr.
        """
        return self._git(*args).decode("utf-8", "replace")

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
