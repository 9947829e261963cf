"""Placeholder gate: TODO/FIXME markers, NotImplementedError, empty bodies, "not implemented" stubs."""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import tree_sitter as ts

from swarm_core import codegraph
from swarm_core.analyzers.base import AnalyzerContext, Parsed, is_doc_path, is_example_path, is_test_path
from swarm_core.changeset import split_lines
from swarm_core.diff import FileDiff
from swarm_core.models import Finding, Lane, Severity, Side

__all__ = ["PlaceholderAnalyzer"]

# A marker opens its comment line ("# TODO: …", "// FIXME(ann) …", " * XXX …"): the same word inside
# a sentence ("the MONGOLIAN TODO SOFT HYPHEN", "a TODO list") marks nothing.
_MARKER = re.compile(r"^\s*(?:#+|//+|/\*+|\*+|<!--|--|;+)?\s*(TODO|FIXME|XXX|HACK)\b")
_NOT_IMPLEMENTED = re.compile(r"not\s+(yet\s+)?implemented|unimplemented", re.IGNORECASE)
_RAISE_NIE = re.compile(r"\braise\s+NotImplementedError\b")
_RUST_STUB = re.compile(r"\b(todo|unimplemented)!\s*\(")
_FALLBACK_COMMENT = re.compile(r"(#|//|/\*|<!--|--|;)\s*(TODO|FIXME|XXX)\b")
_ABSTRACT = re.compile(r"@\s*([\w.]+\.)?(abstractmethod|abstractproperty|overload)\b")
_PROTOCOL_BASE = re.compile(r"\b(Protocol|ABC|ABCMeta)\b")
_EMPTY_PY = frozenset({"pass_statement", "expression_statement", "comment"})


class PlaceholderAnalyzer:
    """Flags stubs a change adds, so that unfinished work is never merged unnoticed."""

    name = "placeholders"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when nothing was added."""
        return None if any(f.added for f in ctx.files) else "no added lines"

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Scan added lines through each file's syntax tree (regexes where no grammar applies)."""
        return await asyncio.to_thread(self._scan, ctx)

    def _scan(self, ctx: AnalyzerContext) -> list[Finding]:
        out: list[Finding] = []
        for fd in ctx.files:
            if not fd.added:
                continue
            parsed = ctx.parsed(fd, Side.RIGHT)
            if parsed is not None:
                out.extend(self._tree_findings(ctx, fd, parsed))
            elif not is_doc_path(fd.path):
                out.extend(self._fallback(fd))
        return out

    def _tree_findings(self, ctx: AnalyzerContext, fd: FileDiff, p: Parsed) -> list[Finding]:
        out = []
        seen: set[tuple[int, str]] = set()

        def add(line: int, sev: Severity, rule: str, title: str, message: str) -> None:
            if (line, rule) in seen:
                return
            seen.add((line, rule))
            out.append(
                Finding(
                    path=fd.path,
                    line=line,
                    severity=sev,
                    lane=Lane.CORRECTNESS,
                    category="placeholder",
                    rule=rule,
                    title=title,
                    message=message,
                    source=self.name,
                    evidence=ctx.line_text(p.source, line),
                )
            )

        # A marker on a removed line that comes back on an added one was reworded or moved,
        # not added: each removed marker pays for one added marker of its kind.
        removed = Counter(m.group(2) for text in _removed_lines(fd) if (m := _FALLBACK_COMMENT.search(text)))
        for first, _last, text in codegraph.comments(p.tree):
            marked = [(first + i, m) for i, ln in enumerate(text.split("\n")) if (m := _MARKER.match(ln))]
            if not marked:
                continue
            line, m = marked[0]
            if line in fd.added and removed[m.group(1)] > 0:
                removed[m.group(1)] -= 1
            elif line in fd.added:
                add(
                    line,
                    Severity.LOW,
                    "placeholder/todo-comment",
                    f"{m.group(1)} marker added",
                    "Added code carries an unfinished-work marker; finish it or track it in an issue.",
                )
        if is_test_path(fd.path) or is_example_path(fd.path) or fd.path.endswith(".pyi"):
            # Tests, examples and development code (scripts, benchmarks, fuzz targets' no-op
            # callbacks) stub, raise and quote errors on purpose; a .pyi file is all bodiless
            # declarations.
            return out
        for line, text, _node in codegraph.string_literals(p.tree):
            if line in fd.added and _NOT_IMPLEMENTED.search(text):
                add(
                    line,
                    Severity.MEDIUM,
                    "placeholder/not-implemented",
                    "Stub: 'not implemented' in added code",
                    "A string says this code is not implemented; the feature looks unfinished.",
                )
        defs = ctx.definitions(fd, Side.RIGHT)
        lines = split_lines(p.source)
        for n in sorted(fd.added):
            text = lines[n - 1] if n <= len(lines) else ""
            if p.lang == "python" and _RAISE_NIE.search(text) and not _abstract_at(defs, p, n):
                add(
                    n,
                    Severity.MEDIUM,
                    "placeholder/not-implemented",
                    "Stub: raises NotImplementedError",
                    "This code path raises NotImplementedError; callers will fail at run time.",
                )
            elif p.lang == "rust" and _RUST_STUB.search(text):
                add(
                    n,
                    Severity.MEDIUM,
                    "placeholder/not-implemented",
                    "Stub: todo!() or unimplemented!()",
                    "This code path panics when reached.",
                )
        existing = self._base_functions(ctx, fd)
        for sym, node in defs:
            if not sym.is_function or sym.start_line not in fd.added or sym.kind == "constructor":
                continue
            if sym.qualname in existing or _is_dunder(sym.name):
                continue  # a hook kept from base, or a protocol method (`__enter__`) that may do nothing
            if _empty_body(node, p.lang) and not _abstract(defs, p, sym.start_line, node):
                sev = Severity.MEDIUM if p.lang == "python" else Severity.LOW
                add(
                    sym.start_line,
                    sev,
                    "placeholder/empty-body",
                    f"Stub: {sym.qualname}() has an empty body",
                    "The function was added without an implementation.",
                )
        return out

    @staticmethod
    def _base_functions(ctx: AnalyzerContext, fd: FileDiff) -> set[str]:
        """Qualified names of the functions the file already had at base."""
        return {sym.qualname for sym, _node in ctx.definitions(fd, Side.LEFT) if sym.is_function}

    def _fallback(self, fd: FileDiff) -> list[Finding]:
        out = []
        for hunk in fd.hunks:
            for dl in hunk.iter_lines():
                if dl.kind == "+" and dl.target_no is not None:
                    m = _FALLBACK_COMMENT.search(dl.text)
                    if m:
                        out.append(
                            Finding(
                                path=fd.path,
                                line=dl.target_no,
                                severity=Severity.LOW,
                                lane=Lane.CORRECTNESS,
                                category="placeholder",
                                rule="placeholder/todo-comment",
                                title=f"{m.group(2)} marker added",
                                message="Added text carries an unfinished-work marker.",
                                source=self.name,
                                evidence=dl.text.rstrip("\r"),
                            )
                        )
        return out


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _empty_body(node: ts.Node, lang: str) -> bool:
    body = node.child_by_field_name("body")
    if body is None:
        return False  # declarations without a body (interfaces, prototypes) are not stubs
    named = [c for c in body.named_children if "comment" not in c.type]
    if lang == "python":
        if not named or any(c.type not in _EMPTY_PY for c in named):
            return False
        # Only `pass`, `...` and a docstring: an expression statement must be one of those.
        for c in named:
            if c.type == "expression_statement":
                inner = c.named_children[0] if c.named_children else None
                if inner is None or inner.type not in ("ellipsis", "string"):
                    return False
        return not all(
            c.type == "expression_statement" and c.named_children[0].type == "string" for c in named
        )
    if lang == "ruby":
        return False  # Ruby methods have no body node when empty; too ambiguous to flag
    return not named


def _enclosing_class_line(defs: list[tuple[codegraph.Symbol, ts.Node]], line: int) -> ts.Node | None:
    best = None
    for sym, node in defs:
        if sym.kind == "class" and sym.start_line <= line <= sym.end_line:
            best = node
    return best


def _abstract(defs: list[tuple[codegraph.Symbol, ts.Node]], p: Parsed, line: int, node: ts.Node) -> bool:
    """True for abstract methods, overloads and Protocol/ABC members, where stubs are correct."""
    parent = node.parent
    if parent is not None and parent.type == "decorated_definition":
        for c in parent.children:
            if c.type == "decorator" and _ABSTRACT.search((c.text or b"").decode("utf-8", "replace")):
                return True
    cls = _enclosing_class_line(defs, line)
    if cls is not None:
        bases = cls.child_by_field_name("superclasses")
        header = (bases.text or b"") if bases is not None else b""
        if _PROTOCOL_BASE.search(header.decode("utf-8", "replace")[:200]):
            return True
    return False


def _abstract_at(defs: list[tuple[codegraph.Symbol, ts.Node]], p: Parsed, line: int) -> bool:
    enclosing = None
    for sym, node in defs:
        if sym.is_function and sym.start_line <= line <= sym.end_line:
            enclosing = (sym, node)
    if enclosing is None:
        return False
    return _abstract(defs, p, enclosing[0].start_line, enclosing[1])


def _removed_lines(fd: FileDiff) -> list[str]:
    return [dl.text for hunk in fd.hunks for dl in hunk.iter_lines() if dl.kind == "-"]
