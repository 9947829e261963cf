"""The taint analyzer: flows in changed Python files that the change introduces or touches, as findings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import cache

import tree_sitter as ts

from swarm_core import codegraph
from swarm_core.analyzers.base import AnalyzerContext, is_test_path
from swarm_core.analyzers.taint.engine import Flow, TaintEngine
from swarm_core.analyzers.taint.tables import KINDS, Tables, merged
from swarm_core.changeset import split_lines
from swarm_core.diff import FileDiff, FileStatus
from swarm_core.models import Finding, FlowStep, Lane, Severity, Side

__all__ = ["TaintAnalyzer", "flows_in", "taint_overrules"]

# bandit tests that flag a sink by its shape alone (a shell, eval, pickle, SQL text); in web
# code the taint engine knows whether request data reaches that sink.
_SINK_PATTERNS = frozenset(
    {"B102", "B301", "B302", "B307", "B506", "B602", "B603", "B604", "B605", "B606", "B608"}
)

_SEVERITY = {
    "sqli": Severity.HIGH,
    "cmdi": Severity.HIGH,
    "codeinj": Severity.HIGH,
    "deserialization": Severity.HIGH,
    "pathtraver": Severity.MEDIUM,
    "xxe": Severity.MEDIUM,
    "ldapi": Severity.MEDIUM,
    "xpathi": Severity.MEDIUM,
    "xss": Severity.MEDIUM,
    "redirect": Severity.MEDIUM,
    "trustbound": Severity.LOW,
    "securecookie": Severity.LOW,
    "httponly": Severity.LOW,
}


logger = logging.getLogger(__name__)


@cache
def _tables() -> Tables:
    return merged()


# The last analyses by source text: the taint analyzer and bandit's deferral (taint_overrules)
# read the same files in one review, and the engine is the expensive part.
_ANALYSES: dict[bytes, tuple[tuple[Flow, ...], bool]] = {}
_KEEP = 64


def _analysis(source: bytes, tree: ts.Tree | None = None) -> tuple[tuple[Flow, ...], bool]:
    """(every flow, whether the source is web code), computed once per source text."""
    found = _ANALYSES.get(source)
    if found is None:
        engine = TaintEngine(tree if tree is not None else codegraph.parse(source, "python"), _tables())
        found = (tuple(engine.run()), engine.web)
        if len(_ANALYSES) >= _KEEP:
            _ANALYSES.pop(next(iter(_ANALYSES)), None)  # the oldest
        _ANALYSES[source] = found
    return found


def flows_in(source: bytes, tree: ts.Tree | None = None) -> list[Flow]:
    """Every taint flow in one Python source (parsed with tree-sitter when `tree` is not given)."""
    return list(_analysis(source, tree)[0])


def taint_overrules(finding: Finding, source: bytes | None) -> bool:
    """True when a sink-shape finding (bandit's shell, eval, pickle, SQL tests) sits in web code
    where the taint engine found no request data reaching that sink.

    Outside web code (no Flask, Django, FastAPI or Starlette import) the shape alone stands:
    the engine models request data, not a script's arguments.
    """
    test_id = finding.rule.partition("/")[2]
    if not finding.rule.startswith("bandit/") or test_id not in _SINK_PATTERNS or source is None:
        return False
    try:
        flows, web = _analysis(source)
    except RecursionError:
        return False  # too deep to analyse: bandit's finding stands
    if not web or finding.line is None:
        return False
    last = finding.last_line or finding.line
    return not any(f.cwe == finding.cwe and finding.line <= f.line <= last for f in flows)


class TaintAnalyzer:
    """Request data followed into injection sinks in changed Python files (security lane)."""

    name = "taint"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when no Python file gained lines."""
        return None if any(self._wanted(f) for f in ctx.files) else "no changed Python files"

    @staticmethod
    def _wanted(fd: FileDiff) -> bool:
        return (
            fd.path.endswith(".py")
            and fd.status != FileStatus.DELETED
            and not fd.binary
            and bool(fd.added)
            and not is_test_path(fd.path)
        )

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Flows with a step or the sink on an added line; the path is the finding's evidence."""
        return await asyncio.to_thread(self._scan, ctx)

    def _scan(self, ctx: AnalyzerContext) -> list[Finding]:
        out: list[Finding] = []
        for fd in ctx.files:
            if not self._wanted(fd):
                continue
            parsed = ctx.parsed(fd, Side.RIGHT)
            if parsed is None or parsed.lang != "python":
                continue
            lines = split_lines(parsed.source)
            try:
                flows = flows_in(parsed.source, parsed.tree)
            except RecursionError:
                # Expressions nested hundreds deep (generated code): this file alone is skipped.
                logger.warning("taint: %s is nested too deeply to analyse; skipped", fd.path)
                continue
            for flow in flows:
                if any(n in fd.added for n in flow.steps):
                    out.append(_finding(fd.path, flow, lines))
        return out


def _finding(path: str, flow: Flow, lines: Sequence[str]) -> Finding:
    def code(n: int) -> str:
        return lines[n - 1].strip() if 0 < n <= len(lines) else ""

    cwe, title = KINDS[flow.kind]
    steps = tuple(FlowStep(n, code(n)) for n in flow.steps)
    if len(steps) > 1:
        path_text = " → ".join(f"line {s.line} `{s.note[:80]}`" for s in steps)
        message = f"Flow from source to sink: {path_text}."
    else:
        message = f"At line {flow.line}: `{code(flow.line)[:120]}`."
    return Finding(
        path=path,
        line=flow.line,
        severity=_SEVERITY[flow.kind],
        lane=Lane.SECURITY,
        category="sast",
        rule=f"taint/{flow.kind}",
        title=title,
        message=message,
        source="taint",
        evidence=code(flow.line),
        cwe=cwe,
        # A shown source-to-sink path outranks a sink-shape match on the same line when merged.
        confidence=0.95 if len(steps) > 1 else 0.6,
        flow=steps if len(steps) > 1 else (),
    )
