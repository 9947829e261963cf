"""Python version guards decided by the oldest Python a project supports: tests no supported Python runs.

A test marked `skipif(sys.version_info >= (3, 10))`, or defined under
`if sys.version_info < (3, 10):`, only ever runs on Python 3.9 and older. Once the project
requires 3.10 it is dead code, and deleting it weakens no suite. Conditions are read, never
run: `sys.version_info` (whole or `[:2]`) compared with a literal tuple, `not`/`and`/`or`,
and a flag name (`PY_3_10_PLUS`) only when the test module defines it, or imports it from a
module of the project that defines it, as such a comparison. Anything else is undecided.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

import tree_sitter as ts

from swarm_core import codegraph
from swarm_core.analyzers.base import AnalyzerContext
from swarm_core.analyzers.project import python_target
from swarm_core.models import Side

__all__ = ["Flags", "dead_test", "dead_tests", "flags_of", "holds", "lines_of"]

# A flag name -> its defining expression, resolved lazily (the defining module is read once asked).
Flags = Callable[[str], ts.Node | None]
# Reads a project file at the reviewed side (None when absent).
Reader = Callable[[str], bytes | None]

_SKIP_IF = frozenset({"skipif", "skipIf"})
_SKIP_UNLESS = frozenset({"skipUnless"})
_SKIP_CALLS = frozenset({"skip", "skipTest"})
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}


def _text(node: ts.Node | None) -> str:
    return (node.text or b"").decode("utf-8", "replace") if node is not None else ""


def _version_form(node: ts.Node) -> str | None:
    """'full' for `sys.version_info`, 'pair' for `sys.version_info[:2]`, else None."""
    if node.type == "subscript":
        value = node.child_by_field_name("value")
        index = node.child_by_field_name("subscript")
        if value is not None and _version_form(value) == "full" and _text(index).replace(" ", "") == ":2":
            return "pair"
        return None
    return "full" if _text(node).replace(" ", "") in ("sys.version_info", "version_info") else None


def _literal_version(node: ts.Node) -> tuple[int, ...] | None:
    if node.type != "tuple" or not node.named_children:
        return None
    parts = [_text(c) for c in node.named_children]
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def _compare(minor: int, form: str, op: str, target: tuple[int, ...]) -> bool | None:
    """`version OP target` on Python 3.<minor> (any micro release); None when the micro decides."""
    ours: tuple[int, ...]
    if target[0] != 3 or len(target) == 1:
        ours, theirs = (3,), target[:1]
    elif len(target) == 2 or minor != target[1]:
        ours, theirs = (3, minor), target[:2]
    else:
        return None
    if ours == theirs and (form == "full" or len(target) == 1):
        # (3, 10, 0, 'final', 0) > (3, 10): of two equal prefixes the longer tuple is the greater.
        return op in (">", ">=", "!=")
    return {
        "<": ours < theirs,
        "<=": ours <= theirs,
        ">": ours > theirs,
        ">=": ours >= theirs,
        "==": ours == theirs,
        "!=": ours != theirs,
    }[op]


def _comparison(node: ts.Node, floor: int) -> bool | None:
    operands = node.named_children
    ops = [_text(c) for c in node.children if c not in operands]
    if len(operands) != 2 or len(ops) != 1 or ops[0] not in _FLIP:
        return None
    left, right = operands
    op = ops[0]
    form, target = _version_form(left), _literal_version(right)
    if form is None:
        form, target, op = _version_form(right), _literal_version(left), _FLIP[op]
    if form is None or target is None:
        return None
    # Every supported minor from the floor on: below the literal's minor the answer is one, at it
    # another, past it a third; so the floor and the minors around the literal's decide (a
    # literal of (3, 10**9) costs no more than (3, 10)).
    minor = target[1] if len(target) > 1 else floor
    top = max(floor, minor) + 2
    seen = {_compare(m, form, op, target) for m in {floor, minor - 1, minor, minor + 1} if floor <= m < top}
    return seen.pop() if len(seen) == 1 else None


def _no_flags(_name: str) -> ts.Node | None:
    return None


def holds(node: ts.Node | None, floor: int, flags: Flags, depth: int = 0) -> bool | None:
    """True when a condition holds on every Python 3.<floor>+, False when on none, else None."""
    if node is None or depth > 8:
        return None
    kind = node.type
    if kind == "parenthesized_expression" and node.named_child_count == 1:
        return holds(node.named_children[0], floor, flags, depth + 1)
    if kind == "not_operator":
        inner = holds(node.child_by_field_name("argument"), floor, flags, depth + 1)
        return None if inner is None else not inner
    if kind == "boolean_operator":
        left = holds(node.child_by_field_name("left"), floor, flags, depth + 1)
        right = holds(node.child_by_field_name("right"), floor, flags, depth + 1)
        if _text(node.child_by_field_name("operator")) == "and":
            return False if False in (left, right) else (True if left and right else None)
        return True if True in (left, right) else (False if left is False and right is False else None)
    if kind == "comparison_operator":
        return _comparison(node, floor)
    if kind == "identifier":
        # A flag counts only when defined from the version (not a constant, not a platform
        # probe), and its definition is read on its own: one hop, no further names.
        defined = flags(_text(node))
        if defined is None or b"version_info" not in (defined.text or b""):
            return None
        return holds(defined, floor, _no_flags, depth + 1)
    return None


def _assignments(root: ts.Node) -> dict[str, ts.Node]:
    """Module-level `NAME = expression` statements: name -> expression."""
    out = {}
    for stmt in root.children:
        inner = (
            stmt.named_children[0] if stmt.type == "expression_statement" and stmt.named_children else None
        )
        if inner is not None and inner.type == "assignment":
            left, right = inner.child_by_field_name("left"), inner.child_by_field_name("right")
            if left is not None and left.type == "identifier" and right is not None:
                out[_text(left)] = right
    return out


def _imported(root: ts.Node) -> dict[str, tuple[str, str]]:
    """`from M import NAME [as ALIAS]` at module level: local name -> (module, name)."""
    out = {}
    for stmt in root.children:
        module = stmt.child_by_field_name("module_name")
        if stmt.type != "import_from_statement" or module is None:
            continue
        for item in stmt.children_by_field_name("name"):
            if item.type == "aliased_import":
                name, alias = item.child_by_field_name("name"), item.child_by_field_name("alias")
                out[_text(alias)] = (_text(module), _text(name))
            else:
                out[_text(item)] = (_text(module), _text(item))
    return out


def _module_files(module: str, importer: str) -> list[str]:
    """Where a module may live in the project: from the root, `src/`, or relative to its importer."""
    dots = len(module) - len(module.lstrip("."))
    parts = [p for p in module[dots:].split(".") if p]
    parents = PurePosixPath(importer).parents
    if dots > len(parents):
        return []  # above the project's root
    if dots:
        base = parents[dots - 1]
        roots = [base.joinpath(*parts)] if parts else [base]
    elif parts:
        roots = [PurePosixPath(*parts), PurePosixPath("src", *parts)]
    else:
        return []
    return [p for r in roots for p in (f"{r.as_posix()}.py", f"{r.as_posix()}/__init__.py")]


def flags_of(root: ts.Node, path: str, read: Reader) -> Flags:
    """Names a module's conditions may use: its own assignments, and names imported from the project."""
    local = _assignments(root)
    imports = _imported(root)
    cache: dict[str, Flags] = {}

    def lookup(name: str) -> ts.Node | None:
        if name in local:
            return local[name]
        if name not in imports:
            return None
        module, original = imports[name]
        if module not in cache:
            cache[module] = lambda _name: None
            for candidate in _module_files(module, path):
                data = read(candidate)
                if data is not None:
                    tree = codegraph.parse(data, "python")
                    defined = _assignments(tree.root_node)
                    cache[module] = defined.get
                    break
        return cache[module](original)

    return lookup


def _skip_call(call: ts.Node | None, floor: int, flags: Flags) -> bool:
    """`pytest.mark.skipif(C)`, `unittest.skipIf(C)` with C always true, or `skipUnless(C)` with C never."""
    if call is None or call.type != "call":
        return False
    function = call.child_by_field_name("function")
    name = _text(function).rsplit(".", 1)[-1]
    args = call.child_by_field_name("arguments")
    if args is None or name not in _SKIP_IF | _SKIP_UNLESS:
        return False
    condition = next((a for a in args.named_children if a.type != "keyword_argument"), None)
    for a in args.named_children:
        if a.type == "keyword_argument" and _text(a.child_by_field_name("name")) == "condition":
            condition = a.child_by_field_name("value")
    wanted = name in _SKIP_IF
    return holds(condition, floor, flags) is wanted


def _dead_branch(block: ts.Node, floor: int, flags: Flags) -> bool:
    """A block of an `if` chain that no supported Python enters."""
    clause = block.parent
    if clause is None:
        return False
    chain = clause if clause.type == "if_statement" else clause.parent
    if chain is None or chain.type != "if_statement":
        return False
    branches = [chain, *(c for c in chain.children if c.type in ("elif_clause", "else_clause"))]
    for branch in branches:
        condition = branch.child_by_field_name("condition")
        verdict = holds(condition, floor, flags) if condition is not None else True
        if branch == clause:
            return verdict is False
        if verdict is True:
            return True  # an earlier branch is always taken
    return False


def _skipped_body(function: ts.Node, floor: int, flags: Flags) -> bool:
    """A body that opens with `if C: pytest.skip(...)` (C always true) or is all under `if C:` (never)."""
    body = function.child_by_field_name("body")
    statements = [
        s
        for s in (body.named_children if body is not None else [])
        if "comment" not in s.type
        and not (
            s.type == "expression_statement" and s.named_children and s.named_children[0].type == "string"
        )
    ]
    if not statements or statements[0].type != "if_statement":
        return False
    first = statements[0]
    verdict = holds(first.child_by_field_name("condition"), floor, flags)
    if verdict is False and len(statements) == 1 and first.child_by_field_name("alternative") is None:
        return True
    consequence = first.child_by_field_name("consequence")
    opening = (
        consequence.named_children[0] if consequence is not None and consequence.named_children else None
    )
    if verdict is not True or opening is None:
        return False
    if opening.type in ("return_statement", "raise_statement"):
        return opening.type == "return_statement" or "SkipTest" in _text(opening)
    call = (
        opening.named_children[0]
        if opening.type == "expression_statement" and opening.named_children
        else None
    )
    function_name = call.child_by_field_name("function") if call is not None and call.type == "call" else None
    return _text(function_name).rsplit(".", 1)[-1] in _SKIP_CALLS


def _marked(scope: ts.Node, floor: int, flags: Flags) -> bool:
    """A module or class body whose `pytestmark` skips on every supported Python."""
    for stmt in scope.children:
        inner = (
            stmt.named_children[0] if stmt.type == "expression_statement" and stmt.named_children else None
        )
        if (
            inner is None
            or inner.type != "assignment"
            or _text(inner.child_by_field_name("left")) != "pytestmark"
        ):
            continue
        value = inner.child_by_field_name("right")
        marks = value.named_children if value is not None and value.type == "list" else [value]
        if any(_skip_call(m, floor, flags) for m in marks):
            return True
    return False


def dead_test(function: ts.Node, floor: int, flags: Flags) -> bool:
    """True when no Python 3.<floor>+ runs this test: skipped by a marker, a guard or its own opening."""
    if _skipped_body(function, floor, flags):
        return True
    node: ts.Node | None = function
    while node is not None:
        if node.type == "decorated_definition" and any(
            _skip_call(d.named_children[0] if d.named_children else None, floor, flags)
            for d in node.children
            if d.type == "decorator"
        ):
            return True
        if node.type == "block" and _dead_branch(node, floor, flags):
            return True
        if node.type in ("module", "block") and _marked(node, floor, flags):
            return True
        node = node.parent
    return False


def lines_of(node: ts.Node) -> range:
    """The 1-based lines of a definition with its decorators."""
    outer = node.parent if node.parent is not None and node.parent.type == "decorated_definition" else node
    return range(outer.start_point[0] + 1, outer.end_point[0] + 2)


def dead_tests(ctx: AnalyzerContext, gone: dict[str, dict[str, ts.Node]]) -> dict[str, dict[str, ts.Node]]:
    """Of the tests a change removed (per file, name -> node at base), those no supported Python runs.

    Their guards are read at base against the head's oldest supported Python: a change that
    drops Python 3.9 may drop 3.9-only tests. The floor is read only when a test went (the
    App reads files over the API).
    """
    floor = python_target(ctx, Side.RIGHT) if any(gone.values()) else None
    if floor is None or floor[0] != 3:
        return {}
    out: dict[str, dict[str, ts.Node]] = {}
    for fd in ctx.files:
        parsed = ctx.parsed(fd, Side.LEFT)
        if parsed is None or not gone.get(fd.path):
            continue
        flags = flags_of(parsed.tree.root_node, ctx.old_path(fd), lambda p: ctx.read(p, Side.LEFT))
        dead = {name: node for name, node in gone[fd.path].items() if dead_test(node, floor[1], flags)}
        if dead:
            out[fd.path] = dead
    return out
