"""The intra-procedural taint interpreter: walks a tree-sitter Python tree and reports source-to-sink flows.

Parsing is tree-sitter-python, not `ast`: swarm runs on Python 3.11, whose `ast` rejects the
PEP 701 f-strings of Python 3.12 code (nested same-kind quotes); tree-sitter accepts them, is
already a dependency, and keeps going past a syntax error instead of losing the file.

The interpreter runs each function once as an entry (its parameters are request data when a
route decorator, a request annotation or a Django view says so) and inlines calls to the
same file's functions as summaries of their returns. It folds constants, so a branch whose
condition is a constant (`if 7 * 42 - num > 200` with `num = 86`) or a `match` on a constant
runs alone; containers remember what each constant key or index holds, so reading `keyA`
after tainting `keyB` stays clean.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import tree_sitter as ts

from swarm_core.analyzers.taint.calls import evaluate_call
from swarm_core.analyzers.taint.tables import KINDS, Sink, Tables
from swarm_core.analyzers.taint.values import (
    CLEAN,
    NOCONST,
    Value,
    derived,
    join,
    join_all,
    tainted,
    with_step,
)

__all__ = ["Flow", "TaintEngine"]

Env = dict[str, Value]

_MAX_DEPTH = 4  # nested inlining of same-file helpers
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "/bin/sh", "/bin/bash", "cmd", "cmd.exe", "powershell", "pwsh"})
_BUILTINS = frozenset(
    {"open", "eval", "exec", "compile", "input", "int", "float", "bool", "len", "str", "bytes", "hash"}
    | {"isinstance", "type", "id", "list", "dict", "tuple", "set", "repr", "print", "sorted", "reversed"}
)
_VALIDATORS = frozenset(
    {"startswith", "endswith", "isalnum", "isalpha", "isdigit", "isidentifier", "isdecimal", "match", "fullmatch"}
)
_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "&": operator.and_,
    "|": operator.or_,
    "^": operator.xor,
}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
    "is": operator.is_,
    "is not": operator.is_not,
}


@dataclass(frozen=True, slots=True)
class Flow:
    """One source-to-sink flow: the sink's kind, CWE and line, and the lines it passed through."""

    kind: str
    cwe: int
    line: int
    steps: tuple[int, ...]
    sink: str


@dataclass
class _Frame:
    returns: list[Value] = field(default_factory=list)
    route: bool = False
    depth: int = 0


def _line(node: ts.Node) -> int:
    return node.start_point[0] + 1


def _text(node: ts.Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text is not None else ""


def _named(node: ts.Node) -> list[ts.Node]:
    return [c for c in node.named_children if c.type != "comment"]


class TaintEngine:
    """Taint flows of one Python source.

    Args:
        tree: the tree-sitter tree of `source`.
        tables: the merged sources, sinks and sanitizers.
    """

    def __init__(self, tree: ts.Tree, tables: Tables) -> None:
        self._root = tree.root_node
        self._t = tables
        self._imports: dict[str, str] = {}
        self._functions: dict[str, ts.Node] = {}
        self._stack: list[str] = []
        self._flows: dict[tuple[str, int], Flow] = {}
        self._django = False

    # -- entry ------------------------------------------------------------------------------
    def run(self) -> list[Flow]:
        """Every flow in the file, one per (kind, sink line), in line order."""
        defs: list[ts.Node] = []
        self._collect(self._root, defs)
        self._exec_block(self._root, {}, _Frame())
        for fn in defs:
            self._entry(fn)
        return sorted(self._flows.values(), key=lambda f: (f.line, f.kind))

    def _collect(self, node: ts.Node, defs: list[ts.Node]) -> None:
        for child in node.named_children:
            if child.type == "import_statement":
                for item in child.named_children:
                    if item.type == "aliased_import":
                        self._imports[_text(item.child_by_field_name("alias"))] = _text(
                            item.child_by_field_name("name")
                        )
                    elif item.type == "dotted_name":
                        head = _text(item).split(".")[0]
                        self._imports[head] = head
                self._django |= "django" in _text(child)
            elif child.type == "import_from_statement":
                module = _text(child.child_by_field_name("module_name")).lstrip(".")
                self._django |= module.startswith("django")
                for item in child.children_by_field_name("name"):
                    if item.type == "aliased_import":
                        name = _text(item.child_by_field_name("name"))
                        self._imports[_text(item.child_by_field_name("alias"))] = f"{module}.{name}"
                    else:
                        self._imports[_text(item)] = f"{module}.{_text(item)}"
            elif child.type == "function_definition":
                defs.append(child)
                self._functions[_text(child.child_by_field_name("name"))] = child
            self._collect(child, defs)

    def _entry(self, fn: ts.Node) -> None:
        route = self._is_route(fn)
        env: Env = {}
        params = fn.child_by_field_name("parameters")
        for p in _named(params) if params is not None else []:
            name, annotation = self._param(p)
            if not name or name in ("self", "cls"):
                continue
            request_type = self._qualify(annotation) in self._t.request_types if annotation else False
            django_view = self._django and name in self._t.request_params
            if route or request_type or django_view:
                env[name] = Value(flow=(_line(p),))
            else:
                env[name] = CLEAN
        body = fn.child_by_field_name("body")
        if body is not None:
            self._exec_block(body, env, _Frame(route=route or self._django, depth=0))

    def _is_route(self, fn: ts.Node) -> bool:
        parent = fn.parent
        if parent is None or parent.type != "decorated_definition":
            return False
        for dec in parent.named_children:
            if dec.type != "decorator":
                continue
            expr = dec.named_children[0] if dec.named_children else None
            if expr is not None and expr.type == "call":
                expr = expr.child_by_field_name("function")
            if expr is not None and expr.type == "attribute":
                if _text(expr.child_by_field_name("attribute")) in self._t.route_decorators:
                    return True
        return False

    @staticmethod
    def _param(p: ts.Node) -> tuple[str, ts.Node | None]:
        if p.type == "identifier":
            return _text(p), None
        if p.type in ("typed_parameter", "typed_default_parameter"):
            ident = next((c for c in p.named_children if c.type == "identifier"), None)
            return _text(ident), p.child_by_field_name("type")
        if p.type == "default_parameter":
            return _text(p.child_by_field_name("name")), None
        return "", None

    # -- names ------------------------------------------------------------------------------
    def _qualify(self, node: ts.Node | None) -> str:
        """The dotted name an expression stands for through the imports, or '' when it is no import."""
        if node is None:
            return ""
        if node.type == "type":
            return self._qualify(node.named_children[0]) if node.named_children else ""
        if node.type == "identifier":
            return self._imports.get(_text(node), "")
        if node.type == "attribute":
            base = self._qualify(node.child_by_field_name("object"))
            return f"{base}.{_text(node.child_by_field_name('attribute'))}" if base else ""
        return ""

    def _is_module(self, node: ts.Node | None, env: Env) -> bool:
        """True when the expression names an imported module or object, not a local value."""
        while node is not None and node.type == "attribute":
            node = node.child_by_field_name("object")
        return node is not None and node.type == "identifier" and _text(node) not in env and _text(node) in self._imports

    # -- statements ---------------------------------------------------------------------------
    def _exec_block(self, block: ts.Node, env: Env | None, frame: _Frame) -> Env | None:
        for stmt in _named(block):
            if env is None:
                return None
            env = self._exec(stmt, env, frame)
        return env

    def _exec(self, stmt: ts.Node, env: Env, frame: _Frame) -> Env | None:  # noqa: C901 - a dispatch
        kind = stmt.type
        if kind == "expression_statement":
            for expr in _named(stmt):
                if expr.type == "assignment":
                    self._assign_stmt(expr, env)
                elif expr.type == "augmented_assignment":
                    left = expr.child_by_field_name("left")
                    right = expr.child_by_field_name("right")
                    if left is not None and right is not None:
                        value = derived([self._eval(left, env), self._eval(right, env)], _line(expr))
                        old = self._eval(left, env)
                        if value.flow is None and old.is_const():
                            value = self._fold_binop(expr, old, self._eval(right, env))
                        self._bind(left, value, env, _line(expr))
                else:
                    self._eval(expr, env)
            return env
        if kind == "return_statement":
            value = join_all([self._eval(e, env) for e in _named(stmt)])
            if frame.route and frame.depth == 0:
                self._check_returned_html(stmt, value)
            frame.returns.append(value)
            return None
        if kind == "raise_statement":
            for e in _named(stmt):
                self._eval(e, env)
            return None
        if kind == "if_statement":
            return self._exec_if(stmt, env, frame)
        if kind in ("for_statement", "while_statement"):
            return self._exec_loop(stmt, env, frame)
        if kind == "try_statement":
            return self._exec_try(stmt, env, frame)
        if kind == "with_statement":
            for item in stmt.named_children:
                if item.type == "with_clause":
                    for w in item.named_children:
                        value = w.child_by_field_name("value")
                        if value is not None and value.type == "as_pattern":
                            target = value.child_by_field_name("alias")
                            v = self._eval(value.named_children[0], env)
                            if target is not None and target.named_children:
                                self._bind(target.named_children[0], v, env, _line(w))
                        elif value is not None:
                            self._eval(value, env)
            body = stmt.child_by_field_name("body")
            return self._exec_block(body, env, frame) if body is not None else env
        if kind == "match_statement":
            return self._exec_match(stmt, env, frame)
        if kind == "block":
            return self._exec_block(stmt, env, frame)
        if kind == "decorated_definition":
            return env
        if kind in ("assert_statement", "delete_statement", "print_statement", "exec_statement"):
            for e in _named(stmt):
                self._eval(e, env)
        return env

    def _assign_stmt(self, node: ts.Node, env: Env) -> Value:
        right = node.child_by_field_name("right")
        left = node.child_by_field_name("left")
        if right is None:
            return CLEAN
        value = self._assign_stmt(right, env) if right.type == "assignment" else self._eval(right, env)
        if left is not None:
            self._bind(left, value, env, _line(node))
        return value

    def _bind(self, target: ts.Node, value: Value, env: Env, line: int) -> None:
        flow = tainted(value)
        if flow is not None and value.flow is not None:
            value = replace(value, flow=with_step(value.flow, line))
        kind = target.type
        if kind == "identifier":
            env[_text(target)] = value
        elif kind in ("pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "expression_list"):
            parts = _named(target)
            items = value.items if value.items is not None and len(value.items) == len(parts) else None
            for i, part in enumerate(parts):
                self._bind(part, items[i] if items is not None else derived([value], line), env, line)
        elif kind == "subscript":
            self._bind_subscript(target, value, env, line)
        elif kind == "attribute":
            env[_text(target)] = value
        elif kind == "parenthesized_expression" and target.named_children:
            self._bind(target.named_children[0], value, env, line)

    def _bind_subscript(self, target: ts.Node, value: Value, env: Env, line: int) -> None:
        base = target.child_by_field_name("value")
        index = target.child_by_field_name("subscript")
        key = self._eval(index, env) if index is not None else CLEAN
        if base is not None and self._is_session(base, env):
            flow = tainted(value, "trustbound") or tainted(key, "trustbound")
            if flow is not None:
                self._report("trustbound", line, flow, _text(base))
            return
        if base is None or base.type not in ("identifier", "attribute"):
            return
        name = _text(base)
        old = env.get(name, CLEAN)
        if key.is_const() and (old.keys is not None or old.items is None):
            env[name] = (old if old.keys is not None else replace(old, keys=())).store(key.const, value)
        elif old.items is not None and key.is_const() and isinstance(key.const, int):
            items = list(old.items)
            if -len(items) <= key.const < len(items):
                items[key.const] = value
            env[name] = replace(old, items=tuple(items))
        else:
            env[name] = join(old, Value(flow=tainted(value)))

    def _is_session(self, base: ts.Node, env: Env) -> bool:
        if self._qualify(base) in self._t.session_names:
            return True
        # Django keeps the session on the request object.
        return base.type == "attribute" and _text(base.child_by_field_name("attribute")) == "session" and (
            tainted(self._eval(base.child_by_field_name("object"), env)) is not None  # type: ignore[arg-type]
        )

    def _exec_if(self, stmt: ts.Node, env: Env, frame: _Frame) -> Env | None:
        clauses: list[tuple[ts.Node | None, ts.Node | None]] = [
            (stmt.child_by_field_name("condition"), stmt.child_by_field_name("consequence"))
        ]
        for alt in stmt.children_by_field_name("alternative"):
            if alt.type == "elif_clause":
                clauses.append((alt.child_by_field_name("condition"), alt.child_by_field_name("consequence")))
            else:
                clauses.append((None, alt.child_by_field_name("body")))
        outs: list[Env | None] = []
        current: Env | None = env
        for cond, body in clauses:
            if current is None:
                break
            if cond is None:
                outs.append(self._exec_block(body, dict(current), frame) if body is not None else current)
                current = None
                break
            value = self._eval(cond, current)
            if value.is_const() and not value.flow:
                if value.const:
                    outs.append(self._exec_block(body, dict(current), frame) if body is not None else current)
                    current = None
                    break
                continue  # a dead branch
            names, negative = self._guard(cond)
            branch = dict(current)
            if names and not negative:
                self._mark_safe(branch, names)
            result = self._exec_block(body, branch, frame) if body is not None else branch
            outs.append(result)
            current = dict(current)
            if names and negative and result is None:
                self._mark_safe(current, names)
        if current is not None:
            outs.append(current)
        return self._join_envs(outs)

    def _guard(self, cond: ts.Node) -> tuple[list[str], bool]:
        """The names an allow-list test validates, and whether the test is true when they are invalid."""
        node = cond
        while node.type == "parenthesized_expression" and node.named_children:
            node = node.named_children[0]
        if node.type == "boolean_operator":
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            op = _text(node.child_by_field_name("operator"))
            if left is None or right is None:
                return [], False
            (ln, lneg), (rn, rneg) = self._guard(left), self._guard(right)
            if ln and rn and lneg == rneg and (op == "or") == lneg:
                return ln + rn, lneg
            return [], False
        if node.type == "comparison_operator":
            ops = [_text(c) for c in node.children if not c.is_named]
            operands = _named(node)
            if len(ops) != 1 or len(operands) != 2 or ops[0] not in ("in", "not in", "==", "!="):
                return [], False
            if self._constant_like(operands[1]):
                return self._names(operands[0]), ops[0] in ("not in", "!=")
            if ops[0] in ("in", "not in") and self._constant_like(operands[0]):
                # `'../' in name`: true when the value holds what is forbidden.
                return self._names(operands[1]), ops[0] == "in"
            return [], False
        if node.type == "not_operator":
            arg = node.child_by_field_name("argument")
            if arg is not None and arg.type == "call":
                fn = arg.child_by_field_name("function")
                if fn is not None and fn.type == "attribute":
                    if _text(fn.child_by_field_name("attribute")) in _VALIDATORS:
                        return self._names(fn.child_by_field_name("object")), True
        return [], False

    def _constant_like(self, node: ts.Node) -> bool:
        if node.type in ("string", "integer", "float", "true", "false", "none", "concatenated_string"):
            return True
        if node.type in ("list", "tuple", "set"):
            return all(self._constant_like(c) for c in _named(node))
        # ALLOWED_HOSTS and friends: module-level constants by convention.
        return node.type == "identifier" and _text(node).isupper()

    def _names(self, node: ts.Node | None) -> list[str]:
        """Local names an expression reads (not the names of functions it calls)."""
        if node is None:
            return []
        if node.type == "identifier":
            return [_text(node)]
        if node.type == "attribute":
            return self._names(node.child_by_field_name("object"))
        if node.type == "call":
            args = node.child_by_field_name("arguments")
            fn = node.child_by_field_name("function")
            own = self._names(fn.child_by_field_name("object")) if fn is not None and fn.type == "attribute" else []
            return own + [n for a in (_named(args) if args is not None else []) for n in self._names(a)]
        return [n for c in _named(node) for n in self._names(c)]

    @staticmethod
    def _mark_safe(env: Env, names: list[str]) -> None:
        for name in names:
            v = env.get(name)
            if v is None:
                continue
            env[name] = replace(v, safe=v.safe | {"*"})
            if v.origin and v.origin in env:
                o = env[v.origin]
                env[v.origin] = replace(o, safe=o.safe | {"*"})

    @staticmethod
    def _join_envs(envs: list[Env | None]) -> Env | None:
        live = [e for e in envs if e is not None]
        if not live:
            return None
        out = dict(live[0])
        for other in live[1:]:
            for k in set(out) | set(other):
                a, b = out.get(k), other.get(k)
                out[k] = join(a, b) if a is not None and b is not None else (a or b or CLEAN)
        return out

    def _exec_loop(self, stmt: ts.Node, env: Env, frame: _Frame) -> Env | None:
        body = stmt.child_by_field_name("body")
        if stmt.type == "while_statement":
            cond = stmt.child_by_field_name("condition")
            value = self._eval(cond, env) if cond is not None else CLEAN
            if value.is_const() and not value.const:
                return env
        states: list[Env | None] = [env]
        current: Env | None = env
        for _ in range(2):  # twice: a value written late in the body reaches its start
            if current is None:
                break
            current = dict(current)
            if stmt.type == "for_statement":
                right = stmt.child_by_field_name("right")
                left = stmt.child_by_field_name("left")
                iterable = self._eval(right, current) if right is not None else CLEAN
                element = join_all(iterable.items) if iterable.items else derived([iterable], _line(stmt))
                if iterable.keys:
                    element = Value(flow=tainted(iterable))
                if left is not None:
                    self._bind(left, element, current, _line(stmt))
            current = self._exec_block(body, current, frame) if body is not None else current
            states.append(current)
        result = self._join_envs(states)
        alt = stmt.child_by_field_name("alternative")
        if alt is not None and result is not None:
            inner = alt.child_by_field_name("body")
            result = self._exec_block(inner, result, frame) if inner is not None else result
        return result

    def _exec_try(self, stmt: ts.Node, env: Env, frame: _Frame) -> Env | None:
        body = stmt.child_by_field_name("body")
        after = self._exec_block(body, dict(env), frame) if body is not None else env
        outs: list[Env | None] = []
        finally_block = None
        for clause in stmt.named_children:
            if clause.type == "except_clause" or clause.type == "except_group_clause":
                start = self._join_envs([env, after])
                block = next((c for c in clause.named_children if c.type == "block"), None)
                if start is not None and block is not None:
                    outs.append(self._exec_block(block, dict(start), frame))
            elif clause.type == "else_clause" and after is not None:
                inner = clause.child_by_field_name("body")
                after = self._exec_block(inner, after, frame) if inner is not None else after
            elif clause.type == "finally_clause":
                finally_block = next((c for c in clause.named_children if c.type == "block"), None)
        result = self._join_envs([after, *outs])
        if finally_block is not None:
            start = result if result is not None else dict(env)
            end = self._exec_block(finally_block, start, frame)
            return end if result is not None else None
        return result

    def _exec_match(self, stmt: ts.Node, env: Env, frame: _Frame) -> Env | None:
        subject_node = stmt.child_by_field_name("subject")
        subject = self._eval(subject_node, env) if subject_node is not None else CLEAN
        body = stmt.child_by_field_name("body")
        outs: list[Env | None] = []
        exhaustive = False
        for case in body.named_children if body is not None else []:
            if case.type != "case_clause":
                continue
            block = case.child_by_field_name("consequence")
            patterns = [c for c in case.named_children if c.type == "case_pattern"]
            verdict = self._case_matches(patterns, subject)
            if verdict is False:
                continue
            branch = dict(env)
            for p in patterns:
                if p.named_children and p.named_children[0].type in ("identifier", "dotted_name"):
                    capture = p.named_children[0]
                    if capture.type == "identifier" or "." not in _text(capture):
                        self._bind(capture, subject, branch, _line(case))
            outs.append(self._exec_block(block, branch, frame) if block is not None else branch)
            if verdict is True:
                exhaustive = True
                break
        if not exhaustive:
            outs.append(env)
        return self._join_envs(outs)

    def _case_matches(self, patterns: list[ts.Node], subject: Value) -> bool | None:
        """True/False when a constant subject surely (does not) match; None when unknown."""
        if any(p.named_children and p.named_children[0].type in ("identifier", "dotted_name") for p in patterns):
            if all(_text(p) == "_" or "." not in _text(p) for p in patterns):
                return True
        if any(_text(p) == "_" for p in patterns):
            return True
        if not subject.is_const():
            return None
        literals: list[object] = []
        for p in patterns:
            for leaf in self._pattern_literals(p):
                if leaf is NOCONST:
                    return None
                literals.append(leaf)
        return subject.const in literals

    def _pattern_literals(self, node: ts.Node) -> list[object]:
        if node.type in ("case_pattern", "union_pattern"):
            return [lit for c in _named(node) for lit in self._pattern_literals(c)]
        value = self._eval(node, {})
        return [value.const]

    # -- expressions ------------------------------------------------------------------------
    def _eval(self, node: ts.Node | None, env: Env) -> Value:  # noqa: C901 - a dispatch
        if node is None:
            return CLEAN
        kind = node.type
        if kind == "identifier":
            return self._name(node, env)
        if kind == "string":
            return self._string(node, env)
        if kind == "concatenated_string":
            parts = [self._string(c, env) for c in _named(node)]
            if all(p.is_const() for p in parts):
                return Value(const="".join(str(p.const) for p in parts))
            return derived(parts, _line(node))
        if kind == "integer":
            try:
                return Value(const=int(_text(node).replace("_", ""), 0))
            except ValueError:
                return CLEAN
        if kind == "float":
            try:
                return Value(const=float(_text(node).replace("_", "")))
            except ValueError:
                return CLEAN
        if kind in ("true", "false", "none"):
            return Value(const={"true": True, "false": False, "none": None}[kind])
        if kind == "binary_operator":
            left = self._eval(node.child_by_field_name("left"), env)
            right = self._eval(node.child_by_field_name("right"), env)
            return self._fold_binop(node, left, right)
        if kind == "boolean_operator":
            left = self._eval(node.child_by_field_name("left"), env)
            right = self._eval(node.child_by_field_name("right"), env)
            op = _text(node.child_by_field_name("operator"))
            if left.is_const() and not left.flow:
                return (right if left.const else left) if op == "and" else (left if left.const else right)
            return join(left, right)
        if kind == "not_operator":
            arg = self._eval(node.child_by_field_name("argument"), env)
            return Value(const=not arg.const) if arg.is_const() and not arg.flow else CLEAN
        if kind == "comparison_operator":
            return self._compare(node, env)
        if kind == "unary_operator":
            arg = self._eval(node.child_by_field_name("argument"), env)
            op = _text(node.child_by_field_name("operator"))
            if arg.is_const() and isinstance(arg.const, int | float) and op in ("-", "+"):
                return Value(const=-arg.const if op == "-" else arg.const)
            return derived([arg], _line(node))
        if kind in ("parenthesized_expression", "await", "expression_statement"):
            inner = _named(node)
            return self._eval(inner[0], env) if inner else CLEAN
        if kind == "conditional_expression":
            parts = _named(node)
            if len(parts) != 3:
                return CLEAN
            cond = self._eval(parts[1], env)
            if cond.is_const() and not cond.flow:
                return self._eval(parts[0] if cond.const else parts[2], env)
            return join(self._eval(parts[0], env), self._eval(parts[2], env))
        if kind in ("list", "tuple", "expression_list"):
            items = [self._eval(c, env) for c in _named(node)]
            if any(c.type == "list_splat" for c in _named(node)):
                return derived(items, _line(node))
            return Value(items=tuple(items))
        if kind in ("list_splat", "dictionary_splat"):
            inner = _named(node)
            return self._eval(inner[0], env) if inner else CLEAN
        if kind == "set":
            return derived([self._eval(c, env) for c in _named(node)], _line(node))
        if kind == "dictionary":
            return self._dictionary(node, env)
        if kind in ("list_comprehension", "generator_expression", "set_comprehension", "dictionary_comprehension"):
            return self._comprehension(node, env)
        if kind == "subscript":
            return self._subscript(node, env)
        if kind == "attribute":
            return self._attribute(node, env)
        if kind == "call":
            return self._call(node, env)
        if kind in ("assignment", "named_expression"):
            target = node.child_by_field_name("left") or node.child_by_field_name("name")
            value = self._eval(node.child_by_field_name("right") or node.child_by_field_name("value"), env)
            if target is not None:
                self._bind(target, value, env, _line(node))
            return value
        if kind == "keyword_argument":
            return self._eval(node.child_by_field_name("value"), env)
        if kind in ("lambda", "ellipsis"):
            return CLEAN
        return derived([self._eval(c, env) for c in _named(node)], _line(node))

    def _name(self, node: ts.Node, env: Env) -> Value:
        name = _text(node)
        if name in env:
            return env[name]
        qualified = self._imports.get(name, "")
        if qualified and self._is_source(qualified):
            return Value(flow=(_line(node),))
        return CLEAN

    def _is_source(self, qualified: str) -> bool:
        return any(qualified == s or qualified.startswith(s + ".") for s in self._t.sources)

    def _string(self, node: ts.Node, env: Env) -> Value:
        if node.type != "string":
            return self._eval(node, env)
        parts: list[Value] = []
        text: list[str] = []
        for child in node.named_children:
            if child.type == "string_content":
                text.append(_text(child))
                parts.append(Value(const=_text(child)))
            elif child.type == "escape_sequence":
                text.append(_text(child))
            elif child.type == "interpolation":
                expr = child.child_by_field_name("expression")
                v = self._eval(expr, env)
                parts.append(v)
                text.append(str(v.const) if v.is_const() else "")
        if all(p.is_const() for p in parts):
            const = "".join(text)
            # Kept through joins (where the constant is lost): `sh` on one branch, `cmd.exe` on the other.
            shell = const.strip().split(" ")[0].rsplit("/", 1)[-1] in _SHELLS if const else False
            return Value(const=const, tags=frozenset({"shell"}) if shell else frozenset())
        return derived(parts, _line(node))

    def _fold_binop(self, node: ts.Node, left: Value, right: Value) -> Value:
        op = _text(node.child_by_field_name("operator")).rstrip("=") or "+"
        if left.is_const() and right.is_const() and not left.flow and not right.flow and op in _BINOPS:
            try:
                return Value(const=_BINOPS[op](left.const, right.const))
            except Exception:  # noqa: BLE001 - a fold that fails at run time is just not a constant
                return CLEAN
        if op == "+" and left.items is not None and right.items is not None:
            return Value(items=left.items + right.items)
        out = derived([left, right], _line(node))
        origin = left.origin or right.origin
        return replace(out, origin=origin) if origin and out.flow else out

    def _compare(self, node: ts.Node, env: Env) -> Value:
        operands = [self._eval(c, env) for c in _named(node)]
        ops = [_text(c) for c in node.children if not c.is_named]
        if len(operands) != len(ops) + 1 or not all(o.is_const() and not o.flow for o in operands):
            return CLEAN
        try:
            result = all(
                _COMPARE[op](operands[i].const, operands[i + 1].const) for i, op in enumerate(ops) if op in _COMPARE
            )
        except Exception:  # noqa: BLE001 - a comparison that fails at run time is just not a constant
            return CLEAN
        return Value(const=result)

    def _dictionary(self, node: ts.Node, env: Env) -> Value:
        out = Value(keys=())
        for pair in _named(node):
            if pair.type == "pair":
                key = self._eval(pair.child_by_field_name("key"), env)
                value = self._eval(pair.child_by_field_name("value"), env)
                if key.is_const():
                    out = out.store(key.const, value)
                else:
                    out = replace(out, flow=tainted(value) or tainted(key) or out.flow)
            else:
                out = replace(out, flow=tainted(self._eval(pair, env)) or out.flow)
        return out

    def _comprehension(self, node: ts.Node, env: Env) -> Value:
        inner = dict(env)
        for clause in node.named_children:
            if clause.type == "for_in_clause":
                right = clause.child_by_field_name("right")
                iterable = self._eval(right, inner)
                element = join_all(iterable.items) if iterable.items else derived([iterable], _line(clause))
                left = clause.child_by_field_name("left")
                if left is not None:
                    self._bind(left, element, inner, _line(clause))
        body = node.child_by_field_name("body")
        value = self._eval(body, inner)
        return Value(flow=tainted(value))

    def _subscript(self, node: ts.Node, env: Env) -> Value:
        base = self._eval(node.child_by_field_name("value"), env)
        index_node = node.child_by_field_name("subscript")
        line = _line(node)
        if index_node is not None and index_node.type == "slice":
            bounds = [self._eval(c, env) for c in _named(index_node)]
            if base.items is not None and all(b.is_const() for b in bounds):
                try:
                    sl = slice(*[b.const for b in bounds])  # type: ignore[misc]
                    return Value(items=base.items[sl])
                except (TypeError, ValueError):
                    pass
            if base.is_const() and not base.flow and all(b.is_const() for b in bounds):
                try:
                    return Value(const=base.const[slice(*[b.const for b in bounds])])  # type: ignore[index,misc]
                except (TypeError, ValueError):
                    return CLEAN
            return derived([base], line)
        index = self._eval(index_node, env)
        if index.is_const():
            if base.items is not None and isinstance(index.const, int):
                try:
                    return base.items[index.const]
                except IndexError:
                    return CLEAN
            if base.keys is not None:
                found = base.lookup(index.const)
                if found is not None:
                    return found
                return derived([Value(flow=base.flow)], line) if base.flow else CLEAN
            if base.is_const() and not base.flow:
                try:
                    return Value(const=base.const[index.const])  # type: ignore[index]
                except (TypeError, IndexError, KeyError):
                    return CLEAN
        return derived([base], line)

    def _attribute(self, node: ts.Node, env: Env) -> Value:
        dotted = _text(node)
        if dotted in env:
            return env[dotted]
        qualified = self._qualify(node)
        if qualified:
            if qualified in self._t.fixed_attributes:
                return CLEAN
            return Value(flow=(_line(node),)) if self._is_source(qualified) else CLEAN
        base = self._eval(node.child_by_field_name("object"), env)
        if tainted(base) is None:
            return CLEAN
        out = derived([base], _line(node))
        return replace(out, origin=base.origin, safe=base.safe)

    # -- calls ------------------------------------------------------------------------------
    def _call(self, node: ts.Node, env: Env) -> Value:
        return evaluate_call(self, node, env)

    def _check_returned_html(self, stmt: ts.Node, value: Value) -> None:
        expr = _named(stmt)[0] if _named(stmt) else None
        if expr is not None and expr.type == "call":
            fn = expr.child_by_field_name("function")
            if fn is not None and fn.type == "identifier" and _text(fn) in self._functions:
                return  # the called handler reports its own return
        if value.keys is not None:
            return  # a dict becomes a JSON response
        flow = tainted(value, "xss")
        if flow is not None:
            self._report("xss", _line(stmt), flow, "return")

    def _report(self, kind: str, line: int, flow: tuple[int, ...], sink: str) -> None:
        key = (kind, line)
        if key not in self._flows:
            self._flows[key] = Flow(kind, KINDS[kind][0], line, with_step(flow, line), sink)

    # Shared with the call evaluator (calls.py), which owns the per-call rules.
    @property
    def tables(self) -> Tables:
        """The merged rule tables."""
        return self._t

    @property
    def functions(self) -> dict[str, ts.Node]:
        """Function definitions of this file by name."""
        return self._functions

    @property
    def stack(self) -> list[str]:
        """Names of the functions being inlined, outermost first."""
        return self._stack

    def qualify(self, node: ts.Node | None) -> str:
        """See `_qualify`."""
        return self._qualify(node)

    def is_module(self, node: ts.Node | None, env: Env) -> bool:
        """See `_is_module`."""
        return self._is_module(node, env)

    def eval(self, node: ts.Node | None, env: Env) -> Value:
        """The abstract value of an expression."""
        return self._eval(node, env)

    def bind(self, target: ts.Node, value: Value, env: Env, line: int) -> None:
        """Assign `value` to a target expression."""
        self._bind(target, value, env, line)

    def report(self, kind: str, line: int, flow: tuple[int, ...], sink: str) -> None:
        """Record a flow into a sink (first one per kind and line wins)."""
        self._report(kind, line, flow, sink)

    def inline(self, fn: ts.Node, args: list[Value], kwargs: dict[str, Value], depth: int) -> Value:
        """The join of a same-file function's returns for these arguments."""
        env: Env = {}
        params = fn.child_by_field_name("parameters")
        plist = [p for p in (_named(params) if params is not None else [])]
        positional = [self._param(p)[0] for p in plist]
        if positional and positional[0] in ("self", "cls"):
            positional = positional[1:]
        for i, name in enumerate(positional):
            if name:
                env[name] = args[i] if i < len(args) else kwargs.get(name, CLEAN)
        body = fn.child_by_field_name("body")
        frame = _Frame(depth=depth)
        if body is not None:
            self._exec_block(body, env, frame)
        return join_all(frame.returns)

    def is_builtin(self, name: str, env: Env) -> bool:
        """True when a bare name is a builtin here (not shadowed by a local, import or function)."""
        return name in _BUILTINS and name not in env and name not in self._imports and name not in self._functions

    @staticmethod
    def shells() -> frozenset[str]:
        """Program names that run their arguments as a shell command."""
        return _SHELLS

    @staticmethod
    def max_depth() -> int:
        """How deep same-file helpers are inlined."""
        return _MAX_DEPTH

    def sinks_for(self, name: str) -> tuple[Sink, ...]:
        """The sinks registered under a qualified or method name."""
        return self._t.sinks.get(name, ())
