"""Regression guard: lines a change deletes or rewrites that a past bug fix wrote, put back as they were.

For each run of deleted lines, git blame at base names the commit that wrote them. When
that commit looks like a fix (its subject says so, or it changed tests with the code) and
this change restores what the fix replaced (the same code, or nothing where the fix only
added lines), the change undoes part of the fix: a re-introduced bug that no linter sees.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass

from swarm_core.analyzers.base import AnalyzerContext, is_source_path, is_test_path
from swarm_core.analyzers.meaning import similar
from swarm_core.changeset import GitRepo
from swarm_core.diff import FileDiff, FileStatus, Hunk, parse_diff
from swarm_core.errors import DiffError, SourceError
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
_MAX_COMMITS = 40


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


@dataclass(frozen=True, slots=True)
class _Blamed:
    sha: str
    orig_line: int
    filename: str
    boundary: bool


def _parse_blame(out: bytes) -> dict[int, _Blamed]:
    """Porcelain blame: final line number -> who wrote it and where the line was in that commit."""
    result: dict[int, _Blamed] = {}
    names: dict[str, str] = {}
    boundaries: set[str] = set()
    sha, orig, final = "", 0, 0
    for raw in out.decode("utf-8", "replace").split("\n"):
        if raw.startswith("\t"):
            result[final] = _Blamed(sha, orig, names.get(sha, ""), sha in boundaries)
            continue
        parts = raw.split(" ")
        if len(parts) >= 3 and len(parts[0]) == 40 and parts[1].isdigit() and parts[2].isdigit():
            sha, orig, final = parts[0], int(parts[1]), int(parts[2])
        elif parts[0] == "filename":
            names[sha] = raw[len("filename ") :]
        elif parts[0] == "boundary":
            boundaries.add(sha)
    return result


def _runs(numbers: list[int]) -> Iterator[tuple[int, int]]:
    start = prev = numbers[0]
    for n in numbers[1:]:
        if n != prev + 1:
            yield start, prev
            start = n
        prev = n
    yield start, prev


class RegressionGuardAnalyzer:
    """Flags a change that puts back code a bug fix replaced (git blame of its deleted lines)."""

    name = "regression"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped without local history, or when no line was deleted or rewritten."""
        if ctx.change.repo_root is None or not ctx.change.base:
            return "needs the repository's history (git blame); review a local range"
        if not any(f.removed and is_source_path(f.path) for f in ctx.files):
            return "no deleted or rewritten lines"
        return None

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Blame every run of deleted lines at base and compare with what each fix replaced."""
        return await asyncio.to_thread(self._scan, ctx)

    def _scan(self, ctx: AnalyzerContext) -> list[Finding]:
        root, base = ctx.change.repo_root, ctx.change.base
        if root is None or not base:
            return []
        repo = GitRepo(root)
        summaries: dict[str, tuple[str, str, tuple[str, ...]]] = {}
        fix_diffs: dict[tuple[str, str], list[Hunk]] = {}
        out: list[Finding] = []
        for fd in ctx.files:
            if not fd.removed or fd.status == FileStatus.ADDED or not is_source_path(fd.path):
                continue
            try:
                blame = _parse_blame(repo.blame(base, ctx.old_path(fd), _runs(sorted(fd.removed))))
            except SourceError:
                continue  # a path git cannot blame at base (binary, submodule): nothing to say
            for hunk in fd.hunks:
                deleted = [dl for dl in hunk.iter_lines() if dl.kind == "-" and dl.source_no is not None]
                added = [dl.text for dl in hunk.iter_lines() if dl.kind == "+"]
                by_commit: dict[str, list[tuple[int, _Blamed, str]]] = {}
                for dl in deleted:
                    who = blame.get(dl.source_no or 0)
                    if who is not None and not who.boundary:
                        by_commit.setdefault(who.sha, []).append((dl.source_no or 0, who, dl.text))
                for sha, lines in by_commit.items():
                    if sha not in summaries:
                        if len(summaries) >= _MAX_COMMITS:
                            continue
                        try:
                            summaries[sha] = repo.commit_summary(sha)
                        except SourceError:
                            summaries[sha] = ("", "", ())
                    subject, body, paths = summaries[sha]
                    said, tested = looks_like_fix(subject, body, paths)
                    if not said:
                        continue  # tests alone come with most features; the fix must be named
                    if self._undoes(repo, fix_diffs, sha, lines, added):
                        out.append(self._finding(ctx, fd, sha, subject, said, tested, lines))
        return out

    @staticmethod
    def _undoes(
        repo: GitRepo,
        cache: dict[tuple[str, str], list[Hunk]],
        sha: str,
        lines: list[tuple[int, _Blamed, str]],
        added: list[str],
    ) -> bool:
        """True when the change takes out the fix's code and puts back what the fix had replaced."""
        gone = _code([t for _, _, t in lines])
        if not gone or all(_IMPORT.match(t) for t in gone):
            return False  # blank lines, comments or imports alone change no behaviour
        filename = lines[0][1].filename
        key = (sha, filename)
        if key not in cache:
            try:
                parsed = parse_diff(repo.commit_diff(sha, filename))
            except (SourceError, DiffError):
                parsed = None
            fd = parsed.file(filename) if parsed is not None else None
            cache[key] = list(fd.hunks) if fd is not None else []
        wanted = {who.orig_line for _, who, _ in lines}
        removed: list[str] = []
        wrote: list[str] = []
        for h in cache[key]:
            if wanted & set(range(h.target_start, h.target_start + h.target_length)):
                removed.extend(ln[1:] for ln in h.lines if ln[:1] == "-")
                wrote.extend(ln[1:] for ln in h.lines if ln[:1] == "+")
        if not wrote:
            return False
        # Most of what the fix wrote there goes, and what comes back is what it replaced.
        return 2 * len(gone) >= len(_code(wrote)) and similar(_code(added), _code(removed), 0.6)

    @staticmethod
    def _finding(
        ctx: AnalyzerContext,
        fd: FileDiff,
        sha: str,
        subject: str,
        said: bool,
        tested: bool,
        lines: list[tuple[int, _Blamed, str]],
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
