"""Syntax gate: parse errors the change introduces, judged by the project's target grammar."""

from __future__ import annotations

import asyncio
import json

from swarm_core import codegraph
from swarm_core.analyzers.base import AnalyzerContext
from swarm_core.analyzers.lint import ruff_binary
from swarm_core.analyzers.project import python_target
from swarm_core.analyzers.tool_process import run_tool
from swarm_core.diff import FileDiff
from swarm_core.models import Finding, Lane, Severity, Side

__all__ = ["SyntaxAnalyzer"]

# tree-sitter's Python grammar lags the language; ruff's parser knows every version's grammar.
_NEWEST_PYTHON = (3, 14)


class SyntaxAnalyzer:
    """Reports parse errors on added lines, and new errors elsewhere a change caused.

    tree-sitter finds candidate errors in every language. For Python, ruff's parser then
    judges the file at the project's target version (ruff `target-version`, else
    `requires-python`): valid newer syntax is no error, syntax newer than the target is one,
    and each place is reported once.
    """

    name = "syntax"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when no changed file has a grammar."""
        if not any(codegraph.language_for(f.path) for f in ctx.files):
            return "no changed file in a language with a grammar"
        return None

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Parse every changed file at head (and base when it has errors)."""
        suspects = await asyncio.to_thread(self._scan, ctx)
        out: list[Finding] = []
        ruff: tuple[str, tuple[int, int]] | None = None
        for fd, lang, findings in suspects:
            if lang == "python":
                if findings:  # the change made a tree-sitter error: let the target grammar judge it
                    # Once per review, off the event loop: a git read, a TOML parse, a PATH search.
                    if ruff is None:
                        ruff = await asyncio.to_thread(_ruff_and_target, ctx)
                    out.extend(await self._python(ctx, fd, *ruff))
            else:
                out.extend(findings)
        return out

    def _scan(self, ctx: AnalyzerContext) -> list[tuple[FileDiff, str, list[Finding]]]:
        out = []
        for fd in ctx.files:
            head = ctx.parsed(fd, Side.RIGHT)
            if head is not None and head.tree.root_node.has_error:
                out.append((fd, head.lang, self._file(ctx, fd)))
        return out

    def _file(self, ctx: AnalyzerContext, fd: FileDiff) -> list[Finding]:
        head = ctx.parsed(fd, Side.RIGHT)
        if head is None:
            return []
        errors = codegraph.error_nodes(head.tree)
        base = ctx.parsed(fd, Side.LEFT)
        base_count = len(codegraph.error_nodes(base.tree)) if base is not None else 0
        out = []
        indirect = []
        for first, last, desc in errors:
            on_added = [n for n in range(first, last + 1) if n in fd.added]
            if on_added:
                out.append(self._finding(ctx, fd, head.source, on_added[0], f"The {head.lang} parser", desc))
            else:
                indirect.append((first, desc))
        # An edit can break code it did not touch (a deleted bracket): report errors beyond
        # the base version's count at their own line.
        for first, desc in indirect[: max(0, len(errors) - base_count - len(out))]:
            out.append(self._finding(ctx, fd, head.source, first, f"The {head.lang} parser", desc))
        return out

    async def _python(
        self, ctx: AnalyzerContext, fd: FileDiff, binary: str, target: tuple[int, int]
    ) -> list[Finding]:
        """ruff's verdict on a Python file tree-sitter could not parse: errors on the change's lines."""
        source = ctx.head(fd)
        if source is None:
            return []
        major, minor = target
        argv = [
            binary,
            "check",
            "--isolated",
            "--output-format",
            "json",
            "--exit-zero",
            "--no-cache",
            "--quiet",
            f"--target-version=py{major}{minor}",
            "--stdin-filename",
            fd.path,
            "-",
        ]
        _code, out, _err = await run_tool(argv, ctx.workdir, stdin=source)
        try:
            items = json.loads(out or b"[]")
        except json.JSONDecodeError:
            return []  # ruff could not judge; tree-sitter alone is not trusted for Python
        rows: dict[int, str] = {}
        for item in items if isinstance(items, list) else []:
            if item.get("code") in (None, "", "invalid-syntax"):
                row = int((item.get("location") or {}).get("row", 0))
                rows.setdefault(row, str(item.get("message", "")).removeprefix("SyntaxError: "))
        on_change = {r: m for r, m in rows.items() if r in fd.added}
        chosen = on_change or dict(sorted(rows.items())[:1])
        label = f"Python {major}.{minor} (the project's target)"
        return [self._finding(ctx, fd, source, row, label, msg) for row, msg in sorted(chosen.items())]

    @staticmethod
    def _finding(
        ctx: AnalyzerContext, fd: FileDiff, source: bytes, line: int, parser: str, desc: str
    ) -> Finding:
        return Finding(
            path=fd.path,
            line=line,
            severity=Severity.HIGH,
            lane=Lane.CORRECTNESS,
            category="syntax",
            rule="syntax/parse-error",
            title=f"Syntax error: {desc}",
            message=f"{parser} cannot parse this code ({desc}); it will not compile or import.",
            source="syntax",
            evidence=ctx.line_text(source, line),
        )


def _ruff_and_target(ctx: AnalyzerContext) -> tuple[str, tuple[int, int]]:
    return ruff_binary(), python_target(ctx) or _NEWEST_PYTHON
