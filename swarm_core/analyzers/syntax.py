"""Syntax gate: tree-sitter parse errors (ERROR and MISSING nodes) that the change introduces."""

from __future__ import annotations

import asyncio

from swarm_core import codegraph
from swarm_core.analyzers.base import AnalyzerContext
from swarm_core.diff import FileDiff
from swarm_core.models import Finding, Lane, Severity, Side

__all__ = ["SyntaxAnalyzer"]


class SyntaxAnalyzer:
    """Reports parse errors on added lines, and new errors elsewhere a change caused."""

    name = "syntax"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when no changed file has a grammar."""
        if not any(codegraph.language_for(f.path) for f in ctx.files):
            return "no changed file in a language with a grammar"
        return None

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Parse every changed file at head (and base when it has errors)."""
        return await asyncio.to_thread(self._scan, ctx)

    def _scan(self, ctx: AnalyzerContext) -> list[Finding]:
        out: list[Finding] = []
        for fd in ctx.files:
            out.extend(self._file(ctx, fd))
        return out

    def _file(self, ctx: AnalyzerContext, fd: FileDiff) -> list[Finding]:
        head = ctx.parsed(fd, Side.RIGHT)
        if head is None or not head.tree.root_node.has_error:
            return []
        errors = codegraph.error_nodes(head.tree)
        base = ctx.parsed(fd, Side.LEFT)
        base_count = len(codegraph.error_nodes(base.tree)) if base is not None else 0
        out = []
        indirect = []
        for first, last, desc in errors:
            on_added = [n for n in range(first, last + 1) if n in fd.added]
            if on_added:
                out.append(self._finding(ctx, fd, head.lang, head.source, on_added[0], desc))
            else:
                indirect.append((first, desc))
        # An edit can break code it did not touch (a deleted bracket): report errors beyond
        # the base version's count at their own line.
        for first, desc in indirect[: max(0, len(errors) - base_count - len(out))]:
            out.append(self._finding(ctx, fd, head.lang, head.source, first, desc))
        return out

    @staticmethod
    def _finding(
        ctx: AnalyzerContext, fd: FileDiff, lang: str, source: bytes, line: int, desc: str
    ) -> Finding:
        return Finding(
            path=fd.path,
            line=line,
            severity=Severity.HIGH,
            lane=Lane.CORRECTNESS,
            category="syntax",
            rule="syntax/parse-error",
            title=f"Syntax error: {desc}",
            message=f"The {lang} parser cannot parse this code ({desc}); it will not compile or import.",
            source="syntax",
            evidence=ctx.line_text(source, line),
        )
