"""A repository's history as evaluation material: its merged changes and its bug-fix commits.

A merged change is a first-parent commit reviewed against its first parent, as the pull
request that made it was. A bug fix is a single-parent commit that says it fixes something
(its subject, by the regression guard's words or the team's own pattern), links the issue it
closes (`fixes #12`), or adds a test function together with a small code change; each reason
can be switched off. The fix is later reviewed reversed: the change that puts the bug back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from swarm_core.analyzers.base import is_source_path, is_test_path
from swarm_core.analyzers.regression import looks_like_fix
from swarm_core.errors import ConfigError
from swarm_core.git import GitRepo

__all__ = ["Change", "Fix", "FixPatterns", "HistoryQuery", "bug_fixes", "merged_changes", "read_commits"]

_ISSUE_LINK = re.compile(r"\b(fix(es|ed)?|close[sd]?|resolve[sd]?)\s+(\S+/\S+)?#\d+", re.IGNORECASE)
_TEST_DEF = re.compile(r"^\+\s*(async\s+)?def\s+test_\w*|^\+\s*(it|test)\(", re.MULTILINE)
_RECORD = "\x1e"


@dataclass(frozen=True, slots=True)
class Change:
    """A change to review: `base` is the first parent of `head` (or the dataset's base)."""

    repo: str
    base: str
    head: str
    subject: str = ""
    date: str = ""
    lines: int = 0


@dataclass(frozen=True, slots=True)
class Fix:
    """A bug-fix commit and why it counts as one ("message", "issue" or "test")."""

    repo: str
    sha: str
    parent: str
    subject: str
    date: str
    why_fix: str
    lines: int = 0


@dataclass(frozen=True, slots=True)
class FixPatterns:
    """How bug fixes are recognised.

    Args:
        message: a regular expression a fix's subject matches; None uses the regression
            guard's words (fix, bug, regression, crash, ...; not typo/docs/lint chores).
        words: the subject (by `message` or the guard's words) marks a fix.
        issues: a body or subject that closes an issue (`fixes #12`) marks a fix.
        tests: a new test function beside a code change of at most `test_fix_lines` lines.
        max_lines: fixes adding more code lines than this are rewrites, not fixes.
        suffixes: only code files with these suffixes count (empty: any source language).
    """

    message: str | None = None
    words: bool = True
    issues: bool = True
    tests: bool = True
    test_fix_lines: int = 30
    max_lines: int = 300
    suffixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.message is not None:
            try:
                re.compile(self.message)
            except re.error as exc:
                raise ConfigError(
                    f"fix pattern {self.message!r} is not a regular expression: {exc}"
                ) from None

    def said(self, subject: str) -> bool:
        """True when the subject says it fixes something (never with `words` off)."""
        if not self.words:
            return False
        if self.message is not None:
            return re.search(self.message, subject, re.IGNORECASE) is not None
        return looks_like_fix(subject, "", ())[0]


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Which part of history to look at: the last N commits, those since a date, or a list.

    `scan` bounds how many first-parent commits are read looking for fixes or changes that
    pass the size filter; `suffixes` keeps changes touching at least one such file.
    """

    last: int | None = None
    since: str | None = None
    commits: tuple[str, ...] = ()
    min_lines: int = 1
    max_lines: int = 2000
    scan: int = 400
    suffixes: tuple[str, ...] = ()


def read_commits(path: Path) -> tuple[str, ...]:
    """The commits listed in a file, one per line (`#` comments and blank lines ignored).

    Raises:
        ConfigError: the file cannot be read or lists nothing.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read --commits file {path}: {exc.strerror or exc}") from None
    shas = tuple(line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#"))
    if not shas:
        raise ConfigError(f"--commits file {path} lists no commits (one sha per line)")
    return shas


def _log(repo: GitRepo, query: HistoryQuery, *extra: str) -> Iterator[tuple[str, list[str], str, str, str]]:
    """(sha, parents, ISO date, subject, body) of first-parent commits, newest first."""
    fmt = "--format=%H%x00%P%x00%cI%x00%s%x00%b" + _RECORD
    if query.commits:
        shas = [repo.resolve(c) for c in query.commits]
        args = ["show", "--no-patch", "--no-walk=unsorted", fmt, *shas]
    else:
        args = ["log", "--first-parent", fmt, *extra]
        if query.since:
            args.append(f"--since={query.since}")
        args += ["-n", str(query.scan)]
    for record in repo.run(*args).split(_RECORD):
        fields = record.strip("\n").split("\0")
        if len(fields) < 5 or not fields[0]:
            continue
        yield fields[0], fields[1].split(), fields[2], fields[3], fields[4].strip()


def _numstat(repo: GitRepo, base: str, head: str) -> list[tuple[int, int, str]]:
    rows = []
    for row in repo.run("diff", "--numstat", "--no-renames", base, head).splitlines():
        added, deleted, *rest = row.split("\t")
        if rest and added.isdigit() and deleted.isdigit():
            rows.append((int(added), int(deleted), rest[-1]))
    return rows


def merged_changes(root: Path, query: HistoryQuery) -> list[Change]:
    """The newest first-parent commits whose change has `min_lines`..`max_lines` lines.

    Args:
        root: the repository.
        query: how many (`last`), since when (`since`), or which commits (`commits`).

    Returns:
        Changes, newest first; a listed commit without a parent is left out.

    Raises:
        SourceError: not a repository, or a listed commit is unknown.
    """
    repo = GitRepo(root)
    out: list[Change] = []
    for sha, parents, date, subject, _ in _log(repo, query):
        if not parents:
            continue
        rows = _numstat(repo, parents[0], sha)
        lines = sum(a + d for a, d, _ in rows)
        wanted = not query.suffixes or any(p.endswith(query.suffixes) for *_, p in rows)
        if not query.commits and (not wanted or not query.min_lines <= lines <= query.max_lines):
            continue
        out.append(Change(root.name, parents[0], sha, subject, date, lines))
        if query.last is not None and len(out) == query.last:
            break
    return out


def _said(patterns: FixPatterns, subject: str, body: str) -> str | None:
    """ "message" or "issue" when the commit message marks a fix (cheap: no git call)."""
    if patterns.said(subject):
        return "message"
    if patterns.issues and (_ISSUE_LINK.search(subject) or _ISSUE_LINK.search(body)):
        return "issue"
    return None


def _adds_test(repo: GitRepo, parent: str, sha: str) -> bool:
    patch = repo.run("diff", "-U0", "--no-color", "--no-ext-diff", parent, sha)
    return _TEST_DEF.search(_test_part(patch)) is not None


def _test_part(patch: str) -> str:
    """The hunks of a unified diff that belong to test files."""
    parts = re.split(r"^diff --git ", patch, flags=re.MULTILINE)
    return "\n".join(p for p in parts if is_test_path(p.split(" b/", 1)[-1].split("\n", 1)[0]))


def _code_lines(rows: Sequence[tuple[int, int, str]], suffixes: tuple[str, ...]) -> tuple[int, int]:
    """(added, changed) lines of shipped code, the way the guard sees a fix."""
    code = [
        (a, d)
        for a, d, p in rows
        if (p.endswith(suffixes) if suffixes else is_source_path(p)) and not is_test_path(p)
    ]
    return sum(a for a, _ in code), sum(a + d for a, d in code)


def bug_fixes(root: Path, query: HistoryQuery, patterns: FixPatterns) -> list[Fix]:
    """The newest bug-fix commits that change shipped code (1..`patterns.max_lines` added lines).

    Args:
        root: the repository.
        query: where to look; `last` caps how many fixes are returned.
        patterns: what makes a commit a fix.

    Raises:
        SourceError: not a repository, or a listed commit is unknown.
    """
    repo = GitRepo(root)
    out: list[Fix] = []
    for sha, parents, date, subject, body in _log(repo, query, "--no-merges"):
        if len(parents) != 1:
            continue
        why = _said(patterns, subject, body)
        if why is None and not patterns.tests:
            continue
        added, changed = _code_lines(_numstat(repo, parents[0], sha), patterns.suffixes)
        if not 1 <= added <= patterns.max_lines:
            continue
        if why is None:
            if changed > patterns.test_fix_lines or not _adds_test(repo, parents[0], sha):
                continue
            why = "test"
        out.append(Fix(root.name, sha, parents[0], subject, date, why, changed))
        if query.last is not None and len(out) == query.last:
            break
    return out
