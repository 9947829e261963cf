"""Code the project excludes from coverage: the lines coverage.py would leave out, read from the tree.

coverage.py's rule: a line matching one of the project's exclusion regexes (by default
`# pragma: no cover`) excludes its whole statement, and when that statement opens a block
(`def`, `class`, `if`, `except ...:`, a decorator) the whole block. A change confined to
such code asks for no test: the project decided not to measure it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

import tree_sitter as ts

from swarm_core.analyzers.base import AnalyzerContext, Parsed
from swarm_core.analyzers.project import coverage_exclusions
from swarm_core.changeset import split_lines
from swarm_core.diff import FileDiff, FileStatus
from swarm_core.models import Side

__all__ = ["changes_excluded_from_coverage", "excluded_lines"]


def _pattern(regexes: tuple[str, ...]) -> re.Pattern[str] | None:
    valid = []
    for regex in regexes:
        try:
            re.compile(regex)
        except re.error:
            continue  # coverage.py would refuse the config; swarm just ignores the pattern
        valid.append(f"(?:{regex})")
    return re.compile("|".join(valid)) if valid else None


def _header_end(node: ts.Node) -> int | None:
    """The last (0-based) line of a compound statement's header, None for a simple statement."""
    if node.type == "decorated_definition":  # the decorators and the signature are one header
        definition = node.child_by_field_name("definition")
        return _header_end(definition) if definition is not None else None
    block = next((c for c in node.children if c.type == "block"), None)
    return None if block is None else max(node.start_point[0], block.start_point[0] - 1)


def excluded_lines(parsed: Parsed, regexes: tuple[str, ...]) -> frozenset[int]:
    """The 1-based lines of a Python file that coverage.py would exclude under these regexes."""
    pattern = _pattern(regexes)
    if pattern is None or parsed.lang != "python":
        return frozenset()
    text = split_lines(parsed.source)
    matched = [n for n, line in enumerate(text) if pattern.search(line)]
    if not matched:
        return frozenset()

    def holds_match(start: int, end: int) -> bool:
        i = bisect.bisect_left(matched, start)
        return i < len(matched) and matched[i] <= end

    out: set[int] = set()
    stack = [parsed.tree.root_node]
    while stack:
        node = stack.pop()
        start, end = node.start_point[0], node.end_point[0]
        if node.is_named and node.type != "module" and node.type != "block":
            header = _header_end(node)
            if header is not None and holds_match(start, header):
                out.update(range(start, end + 1))  # a block opened under the pragma: all of it
                continue
            if header is None and node.type.endswith("statement"):
                out.update(range(start, end + 1))  # a statement, all its lines
        # Only down to the matched lines: a large module's other nodes are never visited.
        stack.extend(c for c in node.children if c.is_named and holds_match(c.start_point[0], c.end_point[0]))
    out.update(matched)
    return frozenset(n + 1 for n in out)


def _code(lines: Sequence[str], numbers: frozenset[int]) -> set[int]:
    """Of the given 1-based lines, those holding code (not blank, not only a comment)."""
    return {n for n in numbers if 0 < n <= len(lines) and lines[n - 1].strip()[:1] not in ("", "#")}


def changes_excluded_from_coverage(ctx: AnalyzerContext, fd: FileDiff) -> bool:
    """True when every changed code line of a Python file sits in code the project excludes from coverage."""
    regexes = coverage_exclusions(ctx)
    for side, numbers, present in (
        (Side.RIGHT, fd.added, fd.status != FileStatus.DELETED),
        (Side.LEFT, fd.removed, fd.status != FileStatus.ADDED),
    ):
        if not numbers:
            continue
        parsed = ctx.parsed(fd, side) if present else None
        if parsed is None:
            return False
        if not _code(split_lines(parsed.source), numbers) <= excluded_lines(parsed, regexes):
            return False
    return bool(fd.added or fd.removed)
