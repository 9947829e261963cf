"""SAST gates: bandit on changed Python files and semgrep (when installed); changed lines only."""

from __future__ import annotations

import asyncio
import functools
import io
import json
import re
import shutil
import sys
import tokenize
from collections.abc import Callable
from typing import Any

from swarm_core.analyzers.base import AnalyzerContext, is_test_path, safe_relpath
from swarm_core.analyzers.meaning import Issue, MatchPass, already_in_base
from swarm_core.analyzers.project import bandit_config_args
from swarm_core.analyzers.taint import taint_overrules
from swarm_core.analyzers.tool_process import run_tool
from swarm_core.diff import FileDiff, FileStatus
from swarm_core.errors import AnalyzerError
from swarm_core.models import Finding, Lane, Severity, Side

__all__ = ["BanditAnalyzer", "SemgrepAnalyzer"]

_BANDIT_SEVERITY = {"HIGH": Severity.HIGH, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}
_BANDIT_CONFIDENCE = {"HIGH": 0.9, "MEDIUM": 0.7, "LOW": 0.4}
# Where bandit's own CWE is not the weakness MITRE names for what the test finds.
_BANDIT_CWE = {
    "B303": 328,  # md5/sha1: a weak hash (CWE-328), not a broken cipher (327)
    "B324": 328,  # hashlib md4/md5/sha1: likewise
    "B307": 94,  # eval: code injection, not OS command injection (78)
    "B102": 94,  # exec: likewise
    "B506": 502,  # yaml.load: deserialization of untrusted data, not input validation (20)
    "B701": 79,  # jinja2 autoescape off: cross-site scripting, not code injection (94)
    "B310": 939,  # urlopen of any scheme: custom URL scheme handling, not path traversal (22)
    "B607": 426,  # a program found through PATH: untrusted search path, not command injection (78)
}


# `assert isinstance(x, T)` / `assert x is not None`: type narrowing, not a runtime check.
_NARROWING_ASSERT = re.compile(
    r"^\s*assert\s+(not\s+)?(isinstance\(|[\w.\[\]'\"]+\s+is\s+(not\s+)?None\b|TYPE_CHECKING\b)"
)


# The same file first (the line re-spaced or its names renamed), then code the change took out
# of another file (moved, not written): there only the exact code counts.
_SAST_PASSES = (MatchPass(True, "compact"), MatchPass(True, "blanked"), MatchPass(False, "compact"))


_NUMBERED = re.compile(r"([0-9]+) (.*)")


def _numbered(item: dict[str, Any]) -> dict[int, str]:
    """Bandit's `code` excerpt as line number -> source text.

    Split on newlines only: a source line may hold U+2028 or U+0085, which `splitlines` would
    break into fragments that do not start with a line number.
    """
    out = {}
    for raw in str(item.get("code", "")).split("\n"):
        match = _NUMBERED.match(raw.rstrip("\r"))
        if match:
            out[int(match.group(1))] = match.group(2)
    return out


def _reported_line(item: dict[str, Any]) -> str:
    """The source text of the line bandit reported, from its numbered `code` excerpt."""
    return _numbered(item).get(int(item.get("line_number") or 0), "")


# ruff's flake8-bandit rules are bandit's tests renumbered (S603 is B603): a noqa comment naming
# one on a line bandit reports is the project's own verdict on it. A bare noqa is not: it
# may silence a style rule of a project that does not run ruff's security rules at all.
_NOQA = re.compile(r"#\s*noqa:\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)", re.IGNORECASE)


def python_comments(source: bytes) -> dict[int, str]:
    """The comments of a Python file by line (what tokenize reads as comments, not strings).

    A file tokenize cannot read to the end gives the comments before that point.
    """
    out: dict[int, str] = {}
    try:
        for token in tokenize.tokenize(io.BytesIO(source).readline):
            if token.type == tokenize.COMMENT:
                out[token.start[0]] = token.string
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        pass
    return out


def waived_by_noqa(item: dict[str, Any], comments: dict[int, str]) -> bool:
    """True when a comment on a line bandit reports is a noqa for the same check under ruff's S code.

    Args:
        item: one of bandit's results.
        comments: the file's comments by line (`python_comments`): a noqa written inside a
            string is no comment, and bandit itself ignores a `nosec` there.
    """
    test_id = str(item.get("test_id", ""))
    if not (test_id[:1] == "B" and test_id[1:].isdigit()):
        return False
    wanted = "S" + test_id[1:]
    lines = {int(n) for n in item.get("line_range") or [item.get("line_number", 0)]}
    for line in lines:
        for m in _NOQA.finditer(comments.get(line, "")):
            if wanted in re.split(r"[\s,]+", m.group("codes").upper()):
                return True
    return False


def _issue(path: str, item: dict[str, Any]) -> Issue:
    return Issue.of(path, str(item.get("test_id", "")), _reported_line(item))


def _python_files(ctx: AnalyzerContext) -> list[FileDiff]:
    return [
        f
        for f in ctx.files
        if f.path.endswith((".py", ".pyi"))
        and f.status != FileStatus.DELETED
        and not f.binary
        and f.added
        and safe_relpath(f.path) is not None
    ]


def _touches(fd: FileDiff, lines: list[int]) -> int | None:
    """The first added line among `lines`, or None when the change did not touch them."""
    return next((n for n in lines if n in fd.added), None)


def _semgrep_cwe(metadata: Any) -> int | None:
    """The first CWE a semgrep rule's metadata names ("CWE-89: ..." or a list of those)."""
    if not isinstance(metadata, dict):
        return None
    raw = metadata.get("cwe")
    for entry in raw if isinstance(raw, list) else [raw]:
        match = re.search(r"CWE-(\d+)", str(entry or ""), re.IGNORECASE)
        if match:
            return int(match.group(1))
    return None


class BanditAnalyzer:
    """Bandit over changed Python files; findings kept on changed lines and new versus base."""

    name = "bandit"

    def __init__(self, *, defer_to_taint: bool = True) -> None:
        # In web code the taint engine decides bandit's sink-shape findings (taint_overrules).
        self.defer_to_taint = defer_to_taint

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when no shipped (non-test) Python file gained lines."""
        if not any(not is_test_path(f.path) for f in _python_files(ctx)):
            return "no changed Python files outside tests"
        return None

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Run `python -m bandit -f json` on the shipped (non-test) files written from the head commit.

        Test modules are left out before bandit starts: their findings (asserts, subprocess,
        pickle in fixtures) are not deployed code, and scanning 10k-line test files was the
        review's critical path.
        """
        files = [f for f in _python_files(ctx) if not is_test_path(f.path)]
        # Base sides of every shipped Python file that lost lines, deleted ones included: code
        # the change moved between files keeps its old findings.
        modified = [
            f
            for f in ctx.files
            if f.path.endswith((".py", ".pyi"))
            and f.status != FileStatus.ADDED
            and not f.binary
            and (f.removed or f in files)
            and not is_test_path(ctx.old_path(f))
            and safe_relpath(ctx.old_path(f)) is not None
        ]
        head_root, base_root = await asyncio.gather(
            ctx.materialize(Side.RIGHT, [f.path for f in files]),
            ctx.materialize(Side.LEFT, [ctx.old_path(f) for f in modified]),
        )
        head = [f"head/{f.path}" for f in files if (head_root / f.path).is_file()]
        base = [f"base/{ctx.old_path(f)}" for f in modified if (base_root / ctx.old_path(f)).is_file()]
        if not head:
            return []
        argv = [sys.executable, "-m", "bandit", "-f", "json", "-q", "--exit-zero"]
        argv += await asyncio.to_thread(bandit_config_args, ctx, ctx.workdir)
        skip = ctx.config.analyzers.sast.bandit_skip
        if skip:
            argv += ["-s", ",".join(skip)]
        # One process scans head and base together: base findings tell which head ones are old.
        code, out, err = await run_tool([*argv, *head, *base], ctx.workdir)
        try:
            report = json.loads(out or b"{}")
        except json.JSONDecodeError:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise AnalyzerError(f"bandit failed (exit {code}): {tail[0]}") from None
        by_path = {f.path: f for f in files}
        new_path = {ctx.old_path(f): f.path for f in modified}
        before: list[Issue] = []
        current: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for key, bucket in (("results", current), ("errors", errors)):
            for item in report.get(key, []):
                side, _, path = str(item.get("filename", "")).removeprefix("./").partition("/")
                if side == "head":
                    bucket.append({**item, "filename": path})
                elif key == "results":
                    before.append(_issue(new_path.get(path, path), item))
        findings = [self._not_scanned(item, by_path) for item in errors]
        comments = functools.cache(lambda path: python_comments(ctx.read(path, Side.RIGHT) or b""))
        reported = [
            (f, item) for item in current if (f := self._finding(item, by_path, comments)) is not None
        ]
        old = already_in_base(before, [_issue(f.path, item) for f, item in reported], _SAST_PASSES)
        findings += [f for (f, _), was_there in zip(reported, old, strict=True) if not was_there]
        kept = [f for f in findings if f is not None]
        if self.defer_to_taint:
            kept = await asyncio.to_thread(self._not_overruled, ctx, kept)
        return kept

    def _not_scanned(self, item: dict[str, Any], by_path: dict[str, FileDiff]) -> Finding | None:
        """A file bandit could not parse (newer syntax than its interpreter) is said, never silent."""
        path = str(item.get("filename", "")).removeprefix("./")
        if path not in by_path:
            return None
        reason = str(item.get("reason", "")).strip() or "unknown error"
        return Finding(
            path=path,
            line=None,
            severity=Severity.LOW,
            lane=Lane.SECURITY,
            category="sast",
            rule="bandit/not-scanned",
            title=f"bandit could not scan {path}",
            message=f"bandit skipped this file ({reason}); it had no security scan. "
            "Run bandit under the Python version the project targets.",
            source=self.name,
            confidence=1.0,
        )

    @staticmethod
    def _not_overruled(ctx: AnalyzerContext, findings: list[Finding]) -> list[Finding]:
        return [f for f in findings if not taint_overrules(f, ctx.read(f.path, Side.RIGHT))]

    def _finding(
        self, item: dict[str, Any], by_path: dict[str, FileDiff], comments: Callable[[str], dict[int, str]]
    ) -> Finding | None:
        path = str(item.get("filename", "")).removeprefix("./")
        fd = by_path.get(path)
        if fd is None:
            return None
        test_id = str(item.get("test_id", ""))
        if test_id == "B101" and _NARROWING_ASSERT.match(_reported_line(item)):
            return None  # how type checkers narrow a type, not a runtime check
        if "noqa" in str(item.get("code", "")).lower() and waived_by_noqa(item, comments(path)):
            return None
        lines = [int(n) for n in item.get("line_range") or [item.get("line_number", 0)]]
        line = _touches(fd, lines)
        if line is None:
            return None
        evidence = _numbered(item).get(line, "")
        cwe = _BANDIT_CWE.get(test_id, (item.get("issue_cwe") or {}).get("id"))
        return Finding(
            path=path,
            line=line,
            end_line=max(n for n in lines if n in fd.added),
            severity=_BANDIT_SEVERITY.get(str(item.get("issue_severity")), Severity.LOW),
            lane=Lane.SECURITY,
            category="sast",
            rule=f"bandit/{test_id}",
            title=f"{item.get('test_name', test_id)}: {item.get('issue_text', '')}".strip(),
            message=str(item.get("issue_text", "")),
            source=self.name,
            evidence=evidence,
            cwe=int(cwe) if isinstance(cwe, int) else None,
            confidence=_BANDIT_CONFIDENCE.get(str(item.get("issue_confidence")), 0.5),
        )


class SemgrepAnalyzer:
    """semgrep with the rules in `analyzers.sast.semgrep_rules`, when semgrep is on PATH."""

    name = "semgrep"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped without rules, without semgrep, or without changed files."""
        if not ctx.config.analyzers.sast.semgrep_rules:
            return "no rules configured (set analyzers.sast.semgrep_rules)"
        if shutil.which("semgrep") is None:
            return "semgrep is not installed (pip install semgrep)"
        if not any(f.added for f in ctx.files):
            return "no added lines"
        return None

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Run semgrep on the head versions of changed files; keep results on added lines."""
        files = [f for f in ctx.files if f.added and not f.binary and safe_relpath(f.path)]
        root = await ctx.materialize(Side.RIGHT, [f.path for f in files])
        argv = ["semgrep", "scan", "--json", "--quiet", "--metrics=off", "--disable-version-check"]
        for rule in ctx.config.analyzers.sast.semgrep_rules:
            argv += ["--config", rule]
        present = [f.path for f in files if (root / f.path).is_file()]
        code, out, err = await run_tool([*argv, *present], root)
        try:
            report = json.loads(out or b"{}")
        except json.JSONDecodeError:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise AnalyzerError(f"semgrep failed (exit {code}): {tail[0]}") from None
        by_path = {f.path: f for f in files}
        findings = []
        for item in report.get("results", []):
            fd = by_path.get(str(item.get("path", "")).removeprefix("./"))
            if fd is None:
                continue
            start = int(item.get("start", {}).get("line", 0))
            end = int(item.get("end", {}).get("line", start))
            line = _touches(fd, list(range(start, end + 1)))
            if line is None:
                continue
            extra = item.get("extra", {})
            sev = {"ERROR": Severity.HIGH, "WARNING": Severity.MEDIUM}.get(
                str(extra.get("severity", "")).upper(), Severity.LOW
            )
            findings.append(
                Finding(
                    path=fd.path,
                    line=line,
                    severity=sev,
                    lane=Lane.SECURITY,
                    category="sast",
                    rule=f"semgrep/{item.get('check_id', 'rule')}",
                    title=str(extra.get("message", item.get("check_id", ""))).split("\n")[0][:200],
                    message=str(extra.get("message", "")),
                    source=self.name,
                    evidence=str(extra.get("lines", "")).split("\n")[0],
                    cwe=_semgrep_cwe(extra.get("metadata", {})),
                )
            )
        return findings
