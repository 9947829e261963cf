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

from dataclasses import dataclass, field

import tree_sitter as ts

from swarm_core.analyzers.taint.binding import assign_statement, bind_target
from swarm_core.analyzers.taint.calls import evaluate_call
from swarm_core.analyzers.taint.control import exec_if, exec_loop, exec_match, exec_try
from swarm_core.analyzers.taint.evaluate import evaluate
from swarm_core.analyzers.taint.expressions import (
    fold_binop,
)
from swarm_core.analyzers.taint.nodes import line_of, named, text_of
from swarm_core.analyzers.taint.tables import KINDS, Sink, Tables
from swarm_core.analyzers.taint.values import (
    CLEAN,
    Value,
    derived,
    join_all,
    tainted,
    with_step,
)

__all__ = ["Flow", "TaintEngine"]

Env = dict[str, Value]

_WEB = frozenset({"flask", "django", "fastapi", "starlette", "werkzeug"})
_MAX_DEPTH = 4  # nested inlining of same-file helpers
_SHELLS = frozenset(
    {"sh", "bash", "zsh", "dash", "/bin/sh", "/bin/bash", "cmd", "cmd.exe", "powershell", "pwsh"}
)
_BUILTINS = frozenset(
    {"open", "eval", "exec", "compile", "input", "int", "float", "bool", "len", "str", "bytes", "hash"}
    | {"isinstance", "type", "id", "list", "dict", "tuple", "set", "repr", "print", "sorted", "reversed"}
)


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
                        self._imports[text_of(item.child_by_field_name("alias"))] = text_of(
                            item.child_by_field_name("name")
                        )
                    elif item.type == "dotted_name":
                        head = text_of(item).split(".")[0]
                        self._imports[head] = head
                self._django |= "django" in text_of(child)
            elif child.type == "import_from_statement":
                module = text_of(child.child_by_field_name("module_name")).lstrip(".")
                self._django |= module.startswith("django")
                for item in child.children_by_field_name("name"):
                    if item.type == "aliased_import":
                        name = text_of(item.child_by_field_name("name"))
                        self._imports[text_of(item.child_by_field_name("alias"))] = f"{module}.{name}"
                    else:
                        self._imports[text_of(item)] = f"{module}.{text_of(item)}"
            elif child.type == "function_definition":
                defs.append(child)
                self._functions[text_of(child.child_by_field_name("name"))] = child
            self._collect(child, defs)

    def _entry(self, fn: ts.Node) -> None:
        route = self._is_route(fn)
        env: Env = {}
        params = fn.child_by_field_name("parameters")
        for p in named(params) if params is not None else []:
            name, annotation = self._param(p)
            if not name or name in ("self", "cls"):
                continue
            request_type = self._qualify(annotation) in self._t.request_types if annotation else False
            django_view = self._django and name in self._t.request_params
            if route or request_type or django_view:
                env[name] = Value(flow=(line_of(p),))
            else:
                env[name] = CLEAN
        body = fn.child_by_field_name("body")
        if body is not None:
            # Only Flask sends a returned string as HTML; FastAPI encodes it as JSON and a
            # Django view returns an HttpResponse (a sink of its own).
            html = route and any(q.split(".")[0] == "flask" for q in self._imports.values())
            self._exec_block(body, env, _Frame(route=html, depth=0))

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
            if (
                expr is not None
                and expr.type == "attribute"
                and text_of(expr.child_by_field_name("attribute")) in self._t.route_decorators
            ):
                return True
        return False

    @staticmethod
    def _param(p: ts.Node) -> tuple[str, ts.Node | None]:
        if p.type == "identifier":
            return text_of(p), None
        if p.type in ("typed_parameter", "typed_default_parameter"):
            ident = next((c for c in p.named_children if c.type == "identifier"), None)
            return text_of(ident), p.child_by_field_name("type")
        if p.type == "default_parameter":
            return text_of(p.child_by_field_name("name")), None
        return "", None

    # -- names ------------------------------------------------------------------------------
    def _qualify(self, node: ts.Node | None) -> str:
        """The dotted name an expression stands for through the imports, or '' when it is no import."""
        if node is None:
            return ""
        if node.type == "type":
            return self._qualify(node.named_children[0]) if node.named_children else ""
        if node.type == "identifier":
            return self._imports.get(text_of(node), "")
        if node.type == "attribute":
            base = self._qualify(node.child_by_field_name("object"))
            return f"{base}.{text_of(node.child_by_field_name('attribute'))}" if base else ""
        return ""

    def _is_module(self, node: ts.Node | None, env: Env) -> bool:
        """True when the expression names an imported module or object, not a local value."""
        while node is not None and node.type == "attribute":
            node = node.child_by_field_name("object")
        return (
            node is not None
            and node.type == "identifier"
            and text_of(node) not in env
            and text_of(node) in self._imports
        )

    # -- statements ---------------------------------------------------------------------------
    def _exec_block(self, block: ts.Node, env: Env | None, frame: _Frame) -> Env | None:
        for stmt in named(block):
            if env is None:
                return None
            env = self._exec(stmt, env, frame)
        return env

    def _exec(self, stmt: ts.Node, env: Env, frame: _Frame) -> Env | None:
        kind = stmt.type
        if kind == "expression_statement":
            for expr in named(stmt):
                if expr.type == "assignment":
                    self._assign_stmt(expr, env)
                elif expr.type == "augmented_assignment":
                    left = expr.child_by_field_name("left")
                    right = expr.child_by_field_name("right")
                    if left is not None and right is not None:
                        value = derived([self._eval(left, env), self._eval(right, env)], line_of(expr))
                        old = self._eval(left, env)
                        if value.flow is None and old.is_const():
                            value = fold_binop(self, expr, old, self._eval(right, env))
                        self._bind(left, value, env, line_of(expr))
                else:
                    self._eval(expr, env)
            return env
        if kind == "return_statement":
            value = join_all([self._eval(e, env) for e in named(stmt)])
            if frame.route and frame.depth == 0:
                self._check_returned_html(stmt, value)
            frame.returns.append(value)
            return None
        if kind == "raise_statement":
            for e in named(stmt):
                self._eval(e, env)
            return None
        if kind == "if_statement":
            return exec_if(self, stmt, env, frame)
        if kind in ("for_statement", "while_statement"):
            return exec_loop(self, stmt, env, frame)
        if kind == "try_statement":
            return exec_try(self, stmt, env, frame)
        if kind == "with_statement":
            for item in stmt.named_children:
                if item.type == "with_clause":
                    for w in item.named_children:
                        item_node = w.child_by_field_name("value")
                        if item_node is not None and item_node.type == "as_pattern":
                            target = item_node.child_by_field_name("alias")
                            bound = self._eval(item_node.named_children[0], env)
                            if target is not None and target.named_children:
                                self._bind(target.named_children[0], bound, env, line_of(w))
                        elif item_node is not None:
                            self._eval(item_node, env)
            body = stmt.child_by_field_name("body")
            return self._exec_block(body, env, frame) if body is not None else env
        if kind == "match_statement":
            return exec_match(self, stmt, env, frame)
        if kind == "block":
            return self._exec_block(stmt, env, frame)
        if kind == "decorated_definition":
            return env
        if kind in ("assert_statement", "delete_statement", "print_statement", "exec_statement"):
            for e in named(stmt):
                self._eval(e, env)
        return env

    def _assign_stmt(self, node: ts.Node, env: Env) -> Value:
        return assign_statement(self, node, env)

    def _bind(self, target: ts.Node, value: Value, env: Env, line: int) -> None:
        bind_target(self, target, value, env, line)

    # -- expressions ------------------------------------------------------------------------
    def _eval(self, node: ts.Node | None, env: Env) -> Value:
        return evaluate(self, node, env)

    def _call(self, node: ts.Node, env: Env) -> Value:
        return evaluate_call(self, node, env)

    def _check_returned_html(self, stmt: ts.Node, value: Value) -> None:
        expr = named(stmt)[0] if named(stmt) else None
        if expr is not None and expr.type == "call":
            fn = expr.child_by_field_name("function")
            if fn is not None and fn.type == "identifier" and text_of(fn) in self._functions:
                return  # the called handler reports its own return
        if value.keys is not None:
            return  # a dict becomes a JSON response
        flow = tainted(value, "xss")
        if flow is not None:
            self._report("xss", line_of(stmt), flow, "return")

    def _report(self, kind: str, line: int, flow: tuple[int, ...], sink: str) -> None:
        key = (kind, line)
        if key not in self._flows:
            self._flows[key] = Flow(kind, KINDS[kind][0], line, with_step(flow, line), sink)

    @property
    def web(self) -> bool:
        """True when the file imports a web framework the tables model (after `run`)."""
        return any(q.split(".")[0] in _WEB for q in self._imports.values())

    # Shared with the call evaluator (calls.py), which owns the per-call rules.
    @property
    def imports(self) -> dict[str, str]:
        """Local names of imported modules and objects -> their qualified names."""
        return self._imports

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

    def exec_block(self, block: ts.Node, env: Env | None, frame: _Frame) -> Env | None:
        """Run a block's statements; None once every path has returned or raised."""
        return self._exec_block(block, env, frame)

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
        positional = [self._param(p)[0] for p in (named(params) if params is not None else [])]
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
        return (
            name in _BUILTINS
            and name not in env
            and name not in self._imports
            and name not in self._functions
        )

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
