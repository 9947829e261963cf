"""Change signals from the code graph: untested behaviour, removed tests, docs drift, complexity growth."""

from __future__ import annotations

import asyncio
import re

from swarm_core import codegraph
from swarm_core.analyzers.base import AnalyzerContext, is_doc_path, is_test_path
from swarm_core.diff import FileDiff, FileStatus
from swarm_core.models import Finding, Lane, Severity, Side

__all__ = ["ComplexityAnalyzer", "DocsDriftAnalyzer", "TestsSignalAnalyzer"]

_COMMENT_PREFIXES = ("#", "//", "/*", "*", "*/", '"""', "'''", "--")
_ASSERTION = re.compile(
    r"\bassert\w*\b|\bexpect\s*\(|\bself\.assert\w+\(|\bt\.(Error|Fatal|Fail)\w*\(|\brequire\.\w+\(|"
    r"\bassert_eq!|\bassert!|\bshould\b|\.to(Be|Equal|Throw|Match)\w*\("
)
_TEST_FN = re.compile(r"^(test|it|should)|Test|_test$|^Test")


def _behaviour_lines(fd: FileDiff) -> int:
    """Added or removed lines that are not blank and not comments."""
    count = 0
    for hunk in fd.hunks:
        for raw in hunk.lines:
            if raw[:1] in "+-":
                text = raw[1:].strip()
                if text and not text.startswith(_COMMENT_PREFIXES):
                    count += 1
    return count


def _is_source(path: str) -> bool:
    return codegraph.language_for(path) is not None and not is_test_path(path)


class TestsSignalAnalyzer:
    """Behaviour changed without a test change; tests or assertions removed."""

    name = "tests"
    __test__ = False  # not a pytest class, despite the name

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when no source or test file changed."""
        if any(_is_source(f.path) or is_test_path(f.path) for f in ctx.files):
            return None
        return "no source or test files changed"

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Compare source and test changes, and test functions and assertions at base and head."""
        return await asyncio.to_thread(self._scan, ctx)

    def _scan(self, ctx: AnalyzerContext) -> list[Finding]:
        out: list[Finding] = []
        tests = [f for f in ctx.files if is_test_path(f.path)]
        sources = [f for f in ctx.files if _is_source(f.path) and _behaviour_lines(f) > 0]
        touched_tests = [f for f in tests if f.status != FileStatus.DELETED and (f.added or f.removed)]
        if sources and not touched_tests:
            main = max(sources, key=_behaviour_lines)
            names = ", ".join(f.path for f in sources[:5]) + (" …" if len(sources) > 5 else "")
            out.append(
                Finding(
                    path=main.path,
                    line=None,
                    severity=Severity.MEDIUM,
                    lane=Lane.TESTS,
                    category="tests",
                    rule="tests/no-test-change",
                    title=f"Behaviour changed in {len(sources)} source file(s) with no test change",
                    message=f"Changed: {names}. Add or update tests that cover the new behaviour.",
                    source=self.name,
                    confidence=0.8,
                )
            )
        for fd in tests:
            out.extend(self._test_file(ctx, fd))
        return out

    def _test_file(self, ctx: AnalyzerContext, fd: FileDiff) -> list[Finding]:
        out = []
        if fd.status == FileStatus.DELETED:
            return [
                self._finding(
                    fd,
                    None,
                    "tests/file-deleted",
                    f"Test file deleted: {fd.path}",
                    "Tests were removed; make sure what they covered is still tested.",
                )
            ]
        removed = sum(1 for h in fd.hunks for r in h.lines if r[:1] == "-" and _ASSERTION.search(r[1:]))
        added = sum(1 for h in fd.hunks for r in h.lines if r[:1] == "+" and _ASSERTION.search(r[1:]))
        if removed > added:
            out.append(
                self._finding(
                    fd,
                    None,
                    "tests/assertions-removed",
                    f"{removed - added} assertion(s) removed from {fd.path}",
                    f"The change deletes {removed} assertion line(s) and adds {added}: tests got weaker.",
                )
            )
        head, base = ctx.parsed(fd, Side.RIGHT), ctx.parsed(fd, Side.LEFT)
        if head is not None and base is not None:

            def names(p: codegraph.Symbol) -> bool:
                return p.is_function and bool(_TEST_FN.search(p.name))

            before = {s.qualname for s in codegraph.symbols(base.tree, base.source, base.lang) if names(s)}
            after = {s.qualname for s in codegraph.symbols(head.tree, head.source, head.lang) if names(s)}
            lost = sorted(before - after)
            if lost:
                shown = ", ".join(lost[:5]) + (" …" if len(lost) > 5 else "")
                out.append(
                    self._finding(
                        fd,
                        None,
                        "tests/tests-removed",
                        f"{len(lost)} test function(s) removed from {fd.path}",
                        f"Removed: {shown}.",
                    )
                )
        return out

    def _finding(self, fd: FileDiff, line: int | None, rule: str, title: str, message: str) -> Finding:
        return Finding(
            path=fd.path,
            line=line,
            severity=Severity.MEDIUM,
            lane=Lane.TESTS,
            category="tests",
            rule=rule,
            title=title,
            message=message,
            source=self.name,
            confidence=0.8,
        )


class DocsDriftAnalyzer:
    """Public symbols added, removed or re-signatured with no docs or changelog change."""

    name = "docs"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when no source file changed."""
        return None if any(_is_source(f.path) for f in ctx.files) else "no source files changed"

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Diff public symbols between base and head."""
        return await asyncio.to_thread(self._scan, ctx)

    def _scan(self, ctx: AnalyzerContext) -> list[Finding]:
        if any(is_doc_path(f.path) for f in ctx.files):
            return []
        out = []
        for fd in ctx.files:
            if not _is_source(fd.path):
                continue
            head = ctx.parsed(fd, Side.RIGHT)
            base = ctx.parsed(fd, Side.LEFT)
            after = (
                {s.qualname: s for s in codegraph.symbols(head.tree, head.source, head.lang)} if head else {}
            )
            before = (
                {s.qualname: s for s in codegraph.symbols(base.tree, base.source, base.lang)} if base else {}
            )
            if head is None and base is None:
                continue
            after = {k: s for k, s in after.items() if s.public}
            before = {k: s for k, s in before.items() if s.public}
            added = sorted(after.keys() - before.keys())
            removed = sorted(before.keys() - after.keys())
            changed = sorted(
                k for k in after.keys() & before.keys() if after[k].signature != before[k].signature
            )
            if not (added or removed or changed):
                continue
            parts = []
            for label, names in (
                ("added", added),
                ("removed", removed),
                ("signature changed", changed),
            ):
                if names:
                    parts.append(f"{label}: " + ", ".join(names[:6]) + (" …" if len(names) > 6 else ""))
            first = (
                after[added[0]].start_line if added else (after[changed[0]].start_line if changed else None)
            )
            out.append(
                Finding(
                    path=fd.path,
                    line=first,
                    severity=Severity.LOW,
                    lane=Lane.DOCS_INTENT,
                    category="docs",
                    rule="docs/public-api-drift",
                    title="Public API changed with no docs or changelog update",
                    message="; ".join(parts) + ". Update the docs or CHANGELOG so users learn of it.",
                    source=self.name,
                    confidence=0.7,
                )
            )
        return out


class ComplexityAnalyzer:
    """Changed functions whose cyclomatic complexity grew past the threshold."""

    name = "complexity"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when no source file gained lines."""
        ok = any(codegraph.language_for(f.path) and f.added for f in ctx.files)
        return None if ok else "no changed source files"

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Compare complexity of each changed function at base and head."""
        return await asyncio.to_thread(self._scan, ctx)

    def _scan(self, ctx: AnalyzerContext) -> list[Finding]:
        threshold = ctx.config.analyzers.complexity.threshold
        out = []
        for fd in ctx.files:
            if not fd.added:
                continue
            head = ctx.parsed(fd, Side.RIGHT)
            if head is None:
                continue
            base = ctx.parsed(fd, Side.LEFT)
            before = {}
            if base is not None:
                for sym, node in codegraph.definitions(base.tree, base.source, base.lang):
                    if sym.is_function:
                        before[sym.qualname] = codegraph.complexity(node)
            for sym, node in codegraph.definitions(head.tree, head.source, head.lang):
                if not sym.is_function:
                    continue
                if not any(n in fd.added for n in range(sym.start_line, sym.end_line + 1)):
                    continue
                cc = codegraph.complexity(node)
                old = before.get(sym.qualname, 0)
                if cc <= threshold or cc <= old:
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
                        message="Split the function or simplify its branching; complex code hides bugs.",
                        source=self.name,
                        evidence=ctx.line_text(head.source, sym.start_line),
                        confidence=0.9,
                    )
                )
        return out
