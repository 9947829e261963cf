"""Regression guard: lines a change deletes or rewrites that a past bug fix wrote, put back as they were.

For each run of deleted lines, blame at base names the commit that wrote them (git blame
for a local repository, GitHub's GraphQL blame for a pull request: `ChangeSet.history`). When
that commit looks like a fix (its subject says so, or it changed tests with the code) and
this change restores what the fix replaced (the same code, or nothing where the fix only
added lines), the change undoes part of the fix: a re-introduced bug that no linter sees.
History that cannot be read (a refused or failed API call, a commit past the cap) is skipped
with a note beside the analyzer; it never fails the review.
"""

from __future__ import annotations

import asyncio
import re

from swarm_core.analyzers.base import AnalyzerContext, is_source_path, is_test_path
from swarm_core.analyzers.meaning import similar
from swarm_core.diff import FileDiff, FileStatus, Hunk, parse_diff
from swarm_core.errors import GitHubError, GitHubRateLimited, RetryLater, SourceError
from swarm_core.history import Blamed, CommitSummary, History
from swarm_core.models import Finding, Lane, Severity, Side

__all__ = ["RegressionGuardAnalyzer", "looks_like_fix"]

_FIX_WORDS = re.compile(
    r"\b(fix(es|ed|ing)?|bug(fix)?|regression|crash(es|ed)?|broken|hotfix|patch(es|ed)?|correct(s|ed)?|"
    r"prevent(s|ed)?|handle[sd]?|avoid(s|ed)?|resolve[sd]?)\b",
    re.IGNORECASE,
)
# Fixes of the project's chores are not fixes of behaviour.
_CHORE_WORDS = re.compile(
    r"\b(typos?|docs?|docstrings?|documentation|lint|linter|mypy|typing|annotations?|hints?|ignore|ci|"
    r"changelog|readme|format(ting)?)\b",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")
_IMPORT = re.compile(r"^(import|from\S+import)")


def looks_like_fix(subject: str, body: str, paths: tuple[str, ...]) -> tuple[bool, bool]:
    """(the message says it fixes behaviour, it changed tests beside code) for one commit."""
    said = bool(_FIX_WORDS.search(subject)) and not _CHORE_WORDS.search(subject)
    if not said and body:
        said = bool(re.search(r"\b(fixes|closes|resolves)\s+#\d+", body, re.IGNORECASE))
    tested = any(is_test_path(p) for p in paths) and any(not is_test_path(p) for p in paths)
    return said, tested


def _code(lines: list[str]) -> tuple[str, ...]:
    """Lines without layout, blank lines and comment-only lines: what the code says."""
    out = []
    for line in lines:
        text = _SPACE.sub("", line)
        if text and not text.startswith(("#", "//")):
            out.append(text)
    return tuple(out)


class _Scan:
    """One review's walk through history: caches, the commit cap, and what could not be read."""

    def __init__(self, history: History, base: str) -> None:
        self.history = history
        self.base = base
        self.summaries: dict[str, CommitSummary] = {}
        self.fix_diffs: dict[tuple[str, str], list[Hunk]] = {}
        self.capped: set[str] = set()
        self.blamed = 0
        self.unblamed = 0
        self.unread: list[str] = []
        self.stopped = ""

    def notes(self) -> list[str]:
        """What the review should say about the history it could not read."""
        out = []
        if self.stopped:
            out.append(f"stopped reading history: {self.stopped}")
        if self.unread:
            named = "; ".join(self.unread[:3]) + (
                f"; and {len(self.unread) - 3} more" if len(self.unread) > 3 else ""
            )
            out.append(f"history not read for {len(self.unread)} file(s) or commit(s), skipped: {named}")
        if self.capped:
            out.append(
                f"looked up {self.history.max_commits} commits (the cap); "
                f"{len(self.capped)} more that wrote deleted lines were not checked"
            )
        if self.unblamed:
            out.append(
                f"blamed {self.history.max_files} files (the cap); "
                f"{self.unblamed} more with deleted lines were not checked"
            )
        return out

    def _failed(self, what: str, exc: Exception) -> None:
        if isinstance(exc, GitHubRateLimited):
            self.stopped = str(exc)
        else:
            self.unread.append(f"{what}: {exc}")

    def findings(self, ctx: AnalyzerContext) -> list[Finding]:
        out: list[Finding] = []
        for fd in ctx.files:
            if self.stopped:
                break
            if not fd.removed or fd.status == FileStatus.ADDED or not is_source_path(fd.path):
                continue
            if self.blamed >= self.history.max_files:
                self.unblamed += 1
                continue
            self.blamed += 1
            try:
                blame = self.history.blame(self.base, ctx.old_path(fd), sorted(fd.removed))
            except SourceError:
                continue  # a path git cannot blame at base (binary, submodule): nothing to say
            except GitHubError as exc:
                self._failed(f"blame of {fd.path}", exc)
                continue
            except RetryLater as exc:
                self.stopped = str(exc)
                break
            for hunk in fd.hunks:
                out.extend(self._hunk(ctx, fd, hunk, blame))
        return out

    def _hunk(
        self, ctx: AnalyzerContext, fd: FileDiff, hunk: Hunk, blame: dict[int, Blamed]
    ) -> list[Finding]:
        deleted = [dl for dl in hunk.iter_lines() if dl.kind == "-" and dl.source_no is not None]
        added = [dl.text for dl in hunk.iter_lines() if dl.kind == "+"]
        by_commit: dict[str, list[tuple[int, Blamed, str]]] = {}
        for dl in deleted:
            who = blame.get(dl.source_no or 0)
            if who is not None and not who.boundary:
                by_commit.setdefault(who.sha, []).append((dl.source_no or 0, who, dl.text))
        out = []
        for sha, lines in by_commit.items():
            summary = self._summary(sha)
            if summary is None:
                continue
            said, tested = looks_like_fix(summary.subject, summary.body, summary.paths)
            if not said:
                continue  # tests alone come with most features; the fix must be named
            if self._undoes(sha, lines, added):
                out.append(_finding(ctx, fd, sha, summary.subject, said, tested, lines))
        return out

    def _summary(self, sha: str) -> CommitSummary | None:
        if sha in self.summaries:
            return self.summaries[sha]
        if self.stopped:
            return None
        if len(self.summaries) >= self.history.max_commits:
            self.capped.add(sha)
            return None
        try:
            self.summaries[sha] = self.history.summary(sha)
        except (SourceError, GitHubError, RetryLater) as exc:
            self.summaries[sha] = CommitSummary("", "", ())
            if isinstance(exc, RetryLater):
                self.stopped = str(exc)
            elif isinstance(exc, GitHubError):
                self._failed(f"commit {sha[:10]}", exc)
        return self.summaries[sha]

    def _fix_hunks(self, sha: str, filename: str) -> list[Hunk]:
        key = (sha, filename)
        if self.stopped and key not in self.fix_diffs:
            return []
        if key not in self.fix_diffs:
            hunks: list[Hunk] = []
            try:
                parsed = parse_diff(self.history.diff(sha, filename))
                fd = parsed.file(filename)
                hunks = list(fd.hunks) if fd is not None else []
            except GitHubError as exc:
                self._failed(f"the diff of {filename} in {sha[:10]}", exc)
            except RetryLater as exc:
                self.stopped = str(exc)
            except SourceError:
                pass  # git: a root commit has no parent to compare with
            self.fix_diffs[key] = hunks
        return self.fix_diffs[key]

    def _undoes(self, sha: str, lines: list[tuple[int, Blamed, str]], added: list[str]) -> bool:
        """True when the change takes out the fix's code and puts back what the fix had replaced.

        The fix's hunks are those that wrote the deleted lines: found by their line numbers
        in the fix when the history gives them (git), else by their code (GitHub's blame
        gives no line numbers): a hunk counts when it added one of the deleted lines.
        """
        gone = _code([t for _, _, t in lines])
        if not gone or all(_IMPORT.match(t) for t in gone):
            return False  # blank lines, comments or imports alone change no behaviour
        wanted = {who.orig_line for _, who, _ in lines if who.orig_line is not None}
        removed: list[str] = []
        wrote: list[str] = []
        for h in self._fix_hunks(sha, lines[0][1].filename):
            plus = [ln[1:] for ln in h.lines if ln[:1] == "+"]
            if wanted:
                hit = bool(wanted & set(range(h.target_start, h.target_start + h.target_length)))
            else:
                hit = bool(set(gone) & set(_code(plus)))
            if hit:
                removed.extend(ln[1:] for ln in h.lines if ln[:1] == "-")
                wrote.extend(plus)
        if not wrote:
            return False
        # Most of what the fix wrote there goes, and what comes back is what it replaced.
        return 2 * len(gone) >= len(_code(wrote)) and similar(_code(added), _code(removed), 0.6)


class RegressionGuardAnalyzer:
    """Flags a change that puts back code a bug fix replaced (the blame of its deleted lines)."""

    name = "regression"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped without history to ask, or when no line was deleted or rewritten."""
        if ctx.change.history is None or not ctx.change.base:
            return "needs the repository's history (git blame, or GitHub's API for a pull request)"
        if not any(f.removed and is_source_path(f.path) for f in ctx.files):
            return "no deleted or rewritten lines"
        return None

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Blame every run of deleted lines at base and compare with what each fix replaced."""
        history, base = ctx.change.history, ctx.change.base
        if history is None or not base:
            return []
        scan = _Scan(history, base)
        try:
            out = await asyncio.to_thread(scan.findings, ctx)
        except asyncio.CancelledError:
            # The analyzer's time ran out: the worker thread cannot be killed, but it asks
            # nothing more (each file, commit and diff checks first), so no API call is spent
            # on a review that no longer waits for the answer.
            scan.stopped = "the analyzer's time ran out"
            raise
        finally:
            for note in scan.notes():
                ctx.add_note(self.name, note)
        return out


def _finding(
    ctx: AnalyzerContext,
    fd: FileDiff,
    sha: str,
    subject: str,
    said: bool,
    tested: bool,
    lines: list[tuple[int, Blamed, str]],
) -> Finding:
    first, last = lines[0][0], lines[-1][0]
    evidence = " and ".join(
        part
        for part, present in (("its message says it fixes something", said), ("it added tests", tested))
        if present
    )
    link = f" https://github.com/{ctx.change.repo}/commit/{sha}" if ctx.change.repo else ""
    return Finding(
        path=fd.path,
        line=first,
        end_line=last if last > first else None,
        side=Side.LEFT,
        severity=Severity.MEDIUM if said and tested else Severity.LOW,
        lane=Lane.CORRECTNESS,
        category="regression",
        rule="regression/undoes-fix",
        title=f"This change undoes part of {sha[:10]} '{subject[:80]}'",
        message=(
            f"These lines were written by {sha[:10]} ('{subject}'), and {evidence}; this change "
            f"puts back what that commit replaced. Check that the problem it fixed does not return.{link}"
        ),
        source="regression",
        evidence=lines[0][2],
        confidence=0.8 if said and tested else 0.6,
    )
