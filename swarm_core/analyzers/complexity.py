"""Complexity growth: changed functions that cross the project's own limit, or grow by a step past it."""

from __future__ import annotations

import asyncio

from swarm_core import codegraph
from swarm_core.analyzers.base import AnalyzerContext
from swarm_core.analyzers.project import complexity_limits
from swarm_core.errors import AnalyzerError
from swarm_core.models import Finding, Lane, Severity, Side

__all__ = ["ComplexityAnalyzer"]


class ComplexityAnalyzer:
    """Changed functions whose complexity crossed the threshold, or grew by `step` beyond it.

    The threshold is the project's policy: `analyzers.complexity.threshold` when the user sets
    it, else the project's ruff (C901 selected, `max-complexity`) or flake8 `max-complexity`.
    A project that sets no limit has chosen not to police complexity: nothing is reported.
    """

    name = "complexity"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when no source file gained lines."""
        ok = any(codegraph.language_for(f.path) and f.added for f in ctx.files)
        return None if ok else "no changed source files"

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Compare complexity of each changed function at base and head."""
        return await asyncio.to_thread(self._scan, ctx)

    @staticmethod
    def _limits(ctx: AnalyzerContext) -> dict[str, tuple[int, str]]:
        """Each changed file's limit and where it comes from; raises when no file has one."""
        chosen = ctx.config.analyzers.complexity.threshold
        paths = [f.path for f in ctx.files if f.added]
        if chosen is not None:
            return dict.fromkeys(paths, (chosen, "swarm's analyzers.complexity.threshold"))
        limits = complexity_limits(ctx, paths)
        if not limits:
            raise AnalyzerError("the project sets no complexity limit")
        return limits

    def _scan(self, ctx: AnalyzerContext) -> list[Finding]:
        limits = self._limits(ctx)
        step = ctx.config.analyzers.complexity.step
        # Functions the change deletes elsewhere: one that reappears here was moved, not written.
        moved_from = {}
        for fd in ctx.files:
            if fd.removed:
                kept = {sym.qualname for sym, _ in ctx.definitions(fd, Side.RIGHT)}
                for sym, node in ctx.definitions(fd, Side.LEFT):
                    if sym.is_function and sym.qualname not in kept:
                        moved_from[sym.qualname] = node
        out = []
        for fd in ctx.files:
            if fd.path not in limits:
                continue
            threshold, policy = limits[fd.path]
            head = ctx.parsed(fd, Side.RIGHT)
            if head is None:
                continue
            before = {sym.qualname: node for sym, node in ctx.definitions(fd, Side.LEFT) if sym.is_function}
            before = {**moved_from, **before}
            for sym, node in ctx.definitions(fd, Side.RIGHT):
                if not sym.is_function:
                    continue
                if not any(n in fd.added for n in range(sym.start_line, sym.end_line + 1)):
                    continue
                cc = codegraph.complexity(node)
                old_node = before.get(sym.qualname)
                old = codegraph.complexity(old_node) if old_node is not None else 0
                # Report the crossing, or a real jump; +1 on a function long past the line is noise.
                if cc <= threshold or cc <= old or (old > threshold and cc - old < step):
                    continue
                growth = f"grew from {old} to {cc}" if old else f"is {cc} (new function)"
                out.append(
                    Finding(
                        path=fd.path,
                        line=sym.start_line,
                        severity=Severity.MEDIUM if cc >= 2 * threshold else Severity.LOW,
                        lane=Lane.PERFORMANCE_ARCHITECTURE,
                        category="complexity",
                        rule="complexity/cyclomatic",
                        title=f"Complexity of {sym.qualname}() {growth} (threshold {threshold})",
                        message=f"The limit is set by {policy}. Split the function or simplify its "
                        "branching; complex code hides bugs.",
                        source=self.name,
                        evidence=ctx.line_text(head.source, sym.start_line),
                        confidence=0.9,
                    )
                )
        return out
