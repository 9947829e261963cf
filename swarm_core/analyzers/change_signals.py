"""Change signals from the code graph: untested behaviour, removed tests, weaker assertions.

Docs drift lives in `docs_drift`, complexity growth in `complexity`.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import PurePosixPath

import tree_sitter as ts

from swarm_core.analyzers.base import (
    AnalyzerContext,
    is_source_path,
    is_test_path,
)
from swarm_core.analyzers.behaviour import COMMENT_PREFIXES, behaviour_changed, behaviour_lines, moves_of
from swarm_core.analyzers.intent import keeps_behaviour
from swarm_core.analyzers.meaning import code_tokens, similar
from swarm_core.analyzers.version_guards import dead_tests, lines_of
from swarm_core.changeset import split_lines
from swarm_core.diff import FileDiff, FileStatus
from swarm_core.models import Finding, Lane, Severity, Side

__all__ = ["TestsSignalAnalyzer"]

_ASSERTION = re.compile(
    r"\bassert\w*\b|\bexpect\s*\(|\bself\.assert\w+\(|\bt\.(Error|Fatal|Fail)\w*\(|\brequire\.\w+\(|"
    r"\bassert_eq!|\bassert!|\bshould\b|\.to(Be|Equal|Throw|Match)\w*\(|\bpytest\.raises\("
)
_TEST_FN = re.compile(r"^(test|it|should)|Test|_test$|^Test")


def _is_source(path: str) -> bool:
    return is_source_path(path)


def _tests_of(ctx: AnalyzerContext, fd: FileDiff, side: Side) -> dict[str, ts.Node]:
    """Test functions of one side of a file: qualified name -> definition node."""
    return {
        sym.qualname: node
        for sym, node in ctx.definitions(fd, side)
        if sym.is_function and _TEST_FN.search(sym.name)
    }


def _body(node: ts.Node) -> tuple[str, ...]:
    return code_tokens(node.child_by_field_name("body"))


def _code_lines(text: str) -> list[str]:
    return [ln for ln in text.split("\n") if not ln.strip().startswith(COMMENT_PREFIXES)]


def _assertions(
    ctx: AnalyzerContext, fds: list[FileDiff], side: Side, dead: dict[str, set[int]] | None = None
) -> dict[str, int]:
    """Assertions per test file on one side, counting a call of a helper that asserts as one.

    `dead` holds, per file, the (1-based) lines of tests no supported Python runs: left out.
    So are pytest hooks (`pytest_collection_modifyitems`, ...): they set up the run, they
    test nothing (loguru 800b18a6). A comment saying "should" makes no helper an assertion.
    """
    texts = {}
    helpers: set[str] = set()
    for fd in fds:
        data = ctx.head(fd) if side is Side.RIGHT else ctx.base(fd)
        if data is None:
            continue
        skipped = set((dead or {}).get(fd.path, set()))
        for sym, node in ctx.definitions(fd, side):
            if not sym.is_function:
                continue
            if sym.name.startswith("pytest_"):
                skipped.update(lines_of(node))
            elif not _TEST_FN.search(sym.name) and any(
                _ASSERTION.search(ln) for ln in _code_lines((node.text or b"").decode("utf-8", "replace"))
            ):
                helpers.add(sym.name)
        texts[fd.path] = [ln for n, ln in enumerate(split_lines(data), 1) if n not in skipped]
    helper_call = (
        re.compile(r"\b(" + "|".join(map(re.escape, sorted(helpers))) + r")\s*\(") if helpers else None
    )
    counts = {}
    for path, lines in texts.items():
        n = 0
        for ln in _code_lines("\n".join(lines)):
            if _ASSERTION.search(ln) or (
                helper_call is not None and helper_call.search(ln) and not ln.lstrip().startswith("def ")
            ):
                n += 1
        counts[path] = n
    return counts


class TestsSignalAnalyzer:
    """Behaviour changed without a test change; tests or assertions removed (renames and moves matched)."""

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
        changed = [f for f in ctx.files if _is_source(f.path)]
        moves = moves_of(ctx, changed)
        sources = [f for f in changed if behaviour_changed(ctx, f, moves)]
        touched_tests = [f for f in tests if f.status != FileStatus.DELETED and (f.added or f.removed)]
        if sources and not touched_tests and not keeps_behaviour(ctx.change.title):
            main = max(sources, key=behaviour_lines)
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
        dead = dead_tests(ctx, self._gone(ctx, tests))
        out.extend(self._removed_tests(ctx, tests, dead))
        out.extend(self._weaker_assertions(ctx, tests, dead))
        return out

    def _removed_tests(
        self, ctx: AnalyzerContext, tests: list[FileDiff], dead: dict[str, dict[str, ts.Node]]
    ) -> list[Finding]:
        """Tests gone from the change, less those renamed, rewritten or moved to another file.

        A removed test that no Python the head supports would run is dead code, not coverage.
        """
        before = {
            fd.path: {
                k: v for k, v in _tests_of(ctx, fd, Side.LEFT).items() if k not in dead.get(fd.path, {})
            }
            for fd in tests
        }
        after = {fd.path: _tests_of(ctx, fd, Side.RIGHT) for fd in tests}
        new_tests = [
            (name.rsplit(".", 1)[-1], node)
            for fd in tests
            for name, node in after[fd.path].items()
            if name not in before[fd.path]
        ]
        new_names = {short for short, _ in new_tests}
        new_bodies: list[tuple[str, ...]] | None = None
        out = []
        for fd in tests:
            lost = []
            for name, node in before[fd.path].items():
                if name in after[fd.path] or name.rsplit(".", 1)[-1] in new_names:
                    continue  # kept, or moved to another class or file under its name
                if new_bodies is None:
                    new_bodies = [_body(n) for _, n in new_tests]
                body = _body(node)
                if not any(similar(body, other) for other in new_bodies):
                    lost.append(name)
            if fd.status == FileStatus.DELETED:
                if PurePosixPath(fd.path).stem in new_names:
                    continue  # the file's tests folded into one test named after it (anyio 12d0aa7a)
                if lost or not (before[fd.path] or dead.get(fd.path)):
                    out.append(
                        self._finding(
                            fd,
                            None,
                            "tests/file-deleted",
                            f"Test file deleted: {fd.path}",
                            "Tests were removed; make sure what they covered is still tested.",
                        )
                    )
                continue
            if lost:
                shown = ", ".join(sorted(lost)[:5]) + (" …" if len(lost) > 5 else "")
                out.append(
                    self._finding(
                        fd,
                        None,
                        "tests/tests-removed",
                        f"{len(lost)} test function(s) removed from {fd.path}",
                        f"Removed: {shown} (no renamed, rewritten or moved test matches).",
                    )
                )
        return out

    @staticmethod
    def _gone(ctx: AnalyzerContext, tests: list[FileDiff]) -> dict[str, dict[str, ts.Node]]:
        """Per Python test file, the test functions at base that the head no longer has by name."""
        gone = {}
        for fd in tests:
            parsed = ctx.parsed(fd, Side.LEFT)
            if parsed is not None and parsed.lang == "python":
                kept = set(_tests_of(ctx, fd, Side.RIGHT))
                gone[fd.path] = {k: v for k, v in _tests_of(ctx, fd, Side.LEFT).items() if k not in kept}
        return gone

    def _weaker_assertions(
        self, ctx: AnalyzerContext, tests: list[FileDiff], dead: dict[str, dict[str, ts.Node]]
    ) -> list[Finding]:
        """Fewer assertions over all changed test files together, helpers and moves counted.

        Assertions of removed tests that no supported Python runs are not counted at base.
        """
        kept = [fd for fd in tests if fd.status != FileStatus.DELETED]
        lines = {path: {n for node in nodes.values() for n in lines_of(node)} for path, nodes in dead.items()}
        before = _assertions(ctx, tests, Side.LEFT, lines)
        after = _assertions(ctx, kept, Side.RIGHT)
        lost = sum(before.values()) - sum(after.values())
        if lost <= 0 or not kept:
            return []
        worst = max(kept, key=lambda fd: before.get(fd.path, 0) - after.get(fd.path, 0))
        return [
            self._finding(
                worst,
                None,
                "tests/assertions-removed",
                f"{lost} assertion(s) removed from the tests",
                f"The changed test files hold {sum(after.values())} assertions, {lost} fewer than before "
                "(calls of asserting helpers counted): tests got weaker.",
            )
        ]

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
