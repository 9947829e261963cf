"""A repository's history as the regression guard reads it: who wrote a line, what a commit said and did.

Two sources answer the same three questions: a local repository through `git`
(`GitHistory`, the CLI and the evaluation) and GitHub's API (`GitHubHistory` in
`swarm_core.github.history`, the App and the Action). A source that cannot answer raises
its own error (SourceError for git, GitHubError for GitHub); the guard skips what it
could not read and says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from swarm_core.git import GitRepo

__all__ = ["Blamed", "CommitSummary", "GitHistory", "History", "line_runs"]


@dataclass(frozen=True, slots=True)
class Blamed:
    """Who last wrote one line of a file.

    Attributes:
        sha: the commit that wrote it.
        filename: the file's path in that commit (git follows renames; GitHub's is the blamed path).
        orig_line: the line's number in that commit, or None when the source cannot tell
            (GitHub's GraphQL blame gives none).
        boundary: the commit is the edge of the history git was given (a shallow clone's
            first commit): it wrote nothing that can be told apart from importing the code.
    """

    sha: str
    filename: str
    orig_line: int | None = None
    boundary: bool = False


@dataclass(frozen=True, slots=True)
class CommitSummary:
    """What a commit says about itself and which files it touched."""

    subject: str
    body: str
    paths: tuple[str, ...]


class History(Protocol):
    """Read access to a repository's history. Every method may block on I/O.

    `max_commits` bounds how many commits one review may look up, and `max_files` how many
    files it may blame: git answers locally, an API spends a request on each.
    """

    max_commits: int
    max_files: int

    def blame(self, commit: str, path: str, lines: Sequence[int]) -> dict[int, Blamed]:
        """Who last wrote each of `lines` (1-based) of `path` at `commit`; lines not placed are absent."""
        ...

    def summary(self, sha: str) -> CommitSummary:
        """A commit's subject, body and changed paths."""
        ...

    def diff(self, sha: str, path: str) -> bytes:
        """The unified diff a commit made to one file against its first parent (b"" for none)."""
        ...


def line_runs(numbers: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Sorted line numbers as (first, last) runs of consecutive lines."""
    if not numbers:
        return
    start = prev = numbers[0]
    for n in numbers[1:]:
        if n != prev + 1:
            yield start, prev
            start = n
        prev = n
    yield start, prev


def parse_porcelain(out: bytes) -> dict[int, Blamed]:
    """`git blame --porcelain`: final line number -> who wrote it and where it was in that commit."""
    result: dict[int, Blamed] = {}
    names: dict[str, str] = {}
    boundaries: set[str] = set()
    sha, orig, final = "", 0, 0
    for raw in out.decode("utf-8", "replace").split("\n"):
        if raw.startswith("\t"):
            result[final] = Blamed(sha, names.get(sha, ""), orig, sha in boundaries)
            continue
        parts = raw.split(" ")
        if len(parts) >= 3 and len(parts[0]) == 40 and parts[1].isdigit() and parts[2].isdigit():
            sha, orig, final = parts[0], int(parts[1]), int(parts[2])
        elif parts[0] == "filename":
            names[sha] = raw[len("filename ") :]
        elif parts[0] == "boundary":
            boundaries.add(sha)
    return result


class GitHistory:
    """History from a local repository through `git` (blame, show, diff). The constructor does no I/O."""

    max_commits = 40
    max_files = 1000

    def __init__(self, repo: GitRepo) -> None:
        self._repo = repo

    def blame(self, commit: str, path: str, lines: Sequence[int]) -> dict[int, Blamed]:
        """`git blame --porcelain` of the runs `lines` make (renames followed, line numbers exact).

        Raises:
            SourceError: git cannot blame the path at that commit (binary, submodule, absent).
        """
        return parse_porcelain(self._repo.blame(commit, path, line_runs(sorted(set(lines)))))

    def summary(self, sha: str) -> CommitSummary:
        """Subject, body and changed paths from `git show`.

        Raises:
            SourceError: no such commit.
        """
        return CommitSummary(*self._repo.commit_summary(sha))

    def diff(self, sha: str, path: str) -> bytes:
        """The commit's diff of one file, without context lines.

        Raises:
            SourceError: no such commit or no parent to compare with.
        """
        return self._repo.commit_diff(sha, path)
