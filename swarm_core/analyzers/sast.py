"""SAST gates: bandit on changed Python files and semgrep (when installed); changed lines only."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
from typing import Any

from swarm_core.analyzers.base import AnalyzerContext, is_test_path, safe_relpath
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
    """Bandit over the head version of changed Python files; findings kept on changed lines."""

    name = "bandit"

    def __init__(self, *, defer_to_taint: bool = True) -> None:
        # In web code the taint engine decides bandit's sink-shape findings (taint_overrules).
        self.defer_to_taint = defer_to_taint

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when no Python file gained lines."""
        return None if _python_files(ctx) else "no changed Python files"

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Run `python -m bandit -f json` on the files written from the head commit."""
        files = _python_files(ctx)
        root = await ctx.materialize(Side.RIGHT, [f.path for f in files])
        present = [f.path for f in files if (root / f.path).is_file()]
        if not present:
            return []
        argv = [sys.executable, "-m", "bandit", "-f", "json", "-q", "--exit-zero"]
        skip = ctx.config.analyzers.sast.bandit_skip
        if skip:
            argv += ["-s", ",".join(skip)]
        code, out, err = await run_tool([*argv, *present], root)
        try:
            report = json.loads(out or b"{}")
        except json.JSONDecodeError:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise AnalyzerError(f"bandit failed (exit {code}): {tail[0]}") from None
        by_path = {f.path: f for f in files}
        findings = []
        for item in report.get("results", []):
            finding = self._finding(item, by_path)
            if finding is not None:
                findings.append(finding)
        if self.defer_to_taint:
            findings = await asyncio.to_thread(self._not_overruled, ctx, findings)
        return findings

    @staticmethod
    def _not_overruled(ctx: AnalyzerContext, findings: list[Finding]) -> list[Finding]:
        return [f for f in findings if not taint_overrules(f, ctx.read(f.path, Side.RIGHT))]

    def _finding(self, item: dict[str, Any], by_path: dict[str, FileDiff]) -> Finding | None:
        path = str(item.get("filename", "")).removeprefix("./")
        fd = by_path.get(path)
        if fd is None:
            return None
        test_id = str(item.get("test_id", ""))
        if test_id == "B101" and is_test_path(path):
            return None  # asserts are how tests work
        lines = [int(n) for n in item.get("line_range") or [item.get("line_number", 0)]]
        line = _touches(fd, lines)
        if line is None:
            return None
        code = str(item.get("code", ""))
        evidence = ""
        for raw in code.splitlines():
            num, _, text = raw.partition(" ")
            if num.strip().isdigit() and int(num) == line:
                evidence = text
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
