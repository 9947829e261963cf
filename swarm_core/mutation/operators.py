"""Mutation operators: small, behaviour-changing source edits found on a Python module's AST.

Each mutant is one edit of the source text at positions the AST gives, so the rest of the
file keeps its formatting (and its line numbers, except where a removed call spanned
several lines). Only code inside functions, on the lines asked for, is mutated; a line
ending in `# pragma: no mutate` is left alone. Every mutant is checked to still parse.

The operator set, one mutant per site:

    comparison  `>`→`>=`, `>=`→`>`, `<`→`<=`, `<=`→`<` (boundaries);
                `==`↔`!=`, `is`↔`is not`, `in`↔`not in` (negation)
    boolean     `and`↔`or`; `not x` → `x`
    constant    0→1, 1→0, n→n+1, True↔False, a non-empty string → ""
    return      `return x` → `return None`
    call        a call statement `f(x)` → `pass`
    arithmetic  `+`↔`-`, `+=`↔`-=`
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Set
from dataclasses import dataclass

__all__ = ["OPERATORS", "Mutant", "apply", "mutants_in"]

OPERATORS = ("comparison", "boolean", "constant", "return", "call", "arithmetic")

# What may surround an operator between its operands: parentheses, spaces, continuations, comments.
_FILLER = re.compile(r"[\s()\\]*(#[^\n]*\n[\s()\\]*)*")
_NO_MUTATE = re.compile(r"#\s*pragma:\s*no mutate")

_COMPARE: dict[type[ast.cmpop], tuple[str, str]] = {
    ast.Gt: (">", ">="),
    ast.GtE: (">=", ">"),
    ast.Lt: ("<", "<="),
    ast.LtE: ("<=", "<"),
    ast.Eq: ("==", "!="),
    ast.NotEq: ("!=", "=="),
    ast.Is: ("is", "is not"),
    ast.IsNot: ("is not", "is"),
    ast.In: ("in", "not in"),
    ast.NotIn: ("not in", "in"),
}
_ARITHMETIC: dict[type[ast.operator], tuple[str, str]] = {ast.Add: ("+", "-"), ast.Sub: ("-", "+")}
_BOOL: dict[type[ast.boolop], tuple[str, str]] = {ast.And: ("and", "or"), ast.Or: ("or", "and")}


@dataclass(frozen=True, slots=True, order=True)
class Mutant:
    """One edit of one file: replace `original` at `start`..`end` (character offsets) with `replacement`.

    `line` is the 1-based line of the edit's start, where a surviving mutant is reported.
    """

    path: str
    line: int
    start: int
    end: int
    original: str
    replacement: str
    operator: str

    @property
    def description(self) -> str:
        """What the mutant changes, as markdown for a message: "`>` becomes `>=`"."""
        before = _quoted(self._before())
        if not self.replacement:
            return f"{before} is removed"
        return f"{before} becomes {_quoted(self.replacement)}"

    @property
    def plain(self) -> str:
        """What the mutant changes, as plain text for a title: '">" becomes ">="'.

        Titles are escaped as a whole (`<` included), which code spans would show verbatim.
        """
        if not self.replacement:
            return f'"{self._before()}" is removed'
        return f'"{self._before()}" becomes "{self.replacement}"'

    def _before(self) -> str:
        before = " ".join(self.original.split())
        return before if len(before) <= 60 else before[:57] + "..."


def _quoted(code: str) -> str:
    """Inline code that stays inline code whatever backticks `code` holds."""
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", code)), default=0) + 1)
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{ticks}{pad}{code}{pad}{ticks}"


def apply(source: str, mutant: Mutant) -> str:
    """The source with the mutant's edit made."""
    return source[: mutant.start] + mutant.replacement + source[mutant.end :]


class _Positions:
    """Line/column (AST: 1-based lines, UTF-8 byte columns) to character offsets in the text."""

    def __init__(self, source: str) -> None:
        self.lines = source.splitlines(keepends=True)
        self.starts = [0]
        for text in self.lines:
            self.starts.append(self.starts[-1] + len(text))

    def offset(self, line: int, col: int) -> int:
        text = self.lines[line - 1] if line - 1 < len(self.lines) else ""
        return self.starts[line - 1] + len(text.encode("utf-8")[:col].decode("utf-8", "replace"))

    def line_of(self, offset: int) -> int:
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:  # the last start <= offset
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1


def _span(pos: _Positions, node: ast.AST) -> tuple[int, int]:
    start = pos.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
    end = pos.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
    return start, end


def _operator_in_gap(source: str, start: int, end: int, token: str) -> tuple[int, int] | None:
    """Where `token` (an operator) sits between two operands: only parentheses, spaces,
    line continuations and comments may surround it there."""
    gap = source[start:end]
    words = r"\s+".join(re.escape(w) for w in token.split())
    edge = r"\b" if token[0].isalpha() else r"(?<![<>=!+\-*/%&|^@])"
    tail = r"\b" if token[-1].isalpha() else r"(?![=<>])"
    for match in re.finditer(edge + words + tail, gap):
        before = gap[: match.start()]
        if "#" in before.rsplit("\n", 1)[-1]:
            continue  # inside a comment
        if _FILLER.fullmatch(before) and _FILLER.fullmatch(gap[match.end() :]):
            return start + match.start(), start + match.end()
    return None


class _Finder:
    """Walks one module and yields the mutants on the wanted lines inside functions."""

    def __init__(self, path: str, source: str, lines: Set[int]) -> None:
        self.path = path
        self.source = source
        self.pos = _Positions(source)
        self.quiet: set[int] = set()
        self.lines = {
            n for n in lines if n <= len(self.pos.lines) and not _NO_MUTATE.search(self.pos.lines[n - 1])
        }

    def mutant(self, start: int, end: int, replacement: str, operator: str) -> Mutant | None:
        line = self.pos.line_of(start)
        if line not in self.lines:
            return None
        return Mutant(self.path, line, start, end, self.source[start:end], replacement, operator)

    def between(
        self, left: ast.AST, right: ast.AST, token: str, replacement: str, operator: str
    ) -> Mutant | None:
        found = _operator_in_gap(self.source, _span(self.pos, left)[1], _span(self.pos, right)[0], token)
        return self.mutant(found[0], found[1], replacement, operator) if found is not None else None

    def in_functions(self, tree: ast.Module) -> Iterator[ast.AST]:
        """Every node inside a function body (nested functions once), docstrings and f-string parts excluded.

        Strings in messages and annotations (under `raise`, `assert`'s message, a call
        statement such as logging, an annotation) are marked quiet: emptying them changes
        what a human reads, which tests rightly do not pin, so such mutants are noise.
        """
        seen: set[int] = set()
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            body = fn.body[1:] if _is_docstring(fn.body[0]) else fn.body
            stack: list[ast.AST] = list(reversed(body))
            while stack:
                node = stack.pop()
                if id(node) in seen or isinstance(node, ast.JoinedStr):
                    continue
                seen.add(id(node))
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and _is_docstring(
                    node.body[0]
                ):
                    seen.add(id(node.body[0]))  # a nested function's or class's docstring
                for part in _message_parts(node):
                    self.quiet.update(id(n) for n in ast.walk(part))
                yield node
                stack.extend(reversed(list(ast.iter_child_nodes(node))))

    def sites(self, node: ast.AST) -> Iterator[Mutant | None]:
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                token, other = _COMPARE[type(op)]
                yield self.between(operands[i], operands[i + 1], token, other, "comparison")
        elif isinstance(node, ast.BoolOp):
            token, other = _BOOL[type(node.op)]
            for left, right in zip(node.values, node.values[1:], strict=False):
                yield self.between(left, right, token, other, "boolean")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            start, _ = _span(self.pos, node)
            keyword = re.match(r"not[ \t]*", self.source[start:])
            if keyword is not None:
                yield self.mutant(start, start + keyword.end(), "", "boolean")
        elif isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            token, other = _ARITHMETIC[type(node.op)]
            yield self.between(node.left, node.right, token, other, "arithmetic")
        elif isinstance(node, ast.AugAssign) and type(node.op) in _ARITHMETIC:
            token, other = _ARITHMETIC[type(node.op)]
            yield self.between(node.target, node.value, token + "=", other + "=", "arithmetic")
        elif isinstance(node, ast.Constant) and id(node) not in self.quiet:
            replacement = _constant(node.value)
            if replacement is not None:
                yield self.mutant(*_span(self.pos, node), replacement, "constant")
        elif isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                yield self.mutant(*_span(self.pos, node.value), "None", "return")
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            yield self.mutant(*_span(self.pos, node), "pass", "call")


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _message_parts(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Raise) and node.exc is not None:
        return [node.exc]
    if isinstance(node, ast.Assert) and node.msg is not None:
        return [node.msg]
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return [node.value]
    if isinstance(node, ast.AnnAssign):
        return [node.annotation]
    return []


def _constant(value: object) -> str | None:
    if isinstance(value, bool):
        return str(not value)
    if isinstance(value, int):
        return {0: "1", 1: "0"}.get(value, str(value + 1))
    if isinstance(value, str) and value:
        return '""'
    return None


def mutants_in(path: str, source: str, lines: Set[int]) -> list[Mutant]:
    """Every mutant of `source` on `lines` inside functions, in source order.

    A file that does not parse has none; a mutant whose edit would not parse is dropped.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    finder = _Finder(path, source, lines)
    if not finder.lines:
        return []
    found: dict[tuple[int, int, str], Mutant] = {}
    for node in finder.in_functions(tree):
        for mutant in finder.sites(node):
            if mutant is None or (mutant.start, mutant.end, mutant.replacement) in found:
                continue
            try:
                ast.parse(apply(source, mutant))
            except (SyntaxError, ValueError):
                continue
            found[(mutant.start, mutant.end, mutant.replacement)] = mutant
    return sorted(found.values(), key=lambda m: (m.start, m.end, m.replacement))
