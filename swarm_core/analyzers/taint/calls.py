"""What a call does to taint: sources, sinks, sanitizers, container methods and same-file helpers."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import tree_sitter as ts

from swarm_core.analyzers.taint.nodes import line_of, text_of
from swarm_core.analyzers.taint.tables import Sink
from swarm_core.analyzers.taint.values import CLEAN, Value, derived, join_all, tainted, with_step

if TYPE_CHECKING:
    from swarm_core.analyzers.taint.engine import Env, TaintEngine

__all__ = ["evaluate_call"]

_SAFE_YAML = ("SafeLoader", "CSafeLoader", "BaseLoader", "safe_load")
_XML_TREE = frozenset(
    {
        "xml.etree.ElementTree.parse",
        "xml.etree.ElementTree.fromstring",
        "xml.etree.ElementTree.XML",
        "xml.etree.cElementTree.parse",
        "lxml.etree.parse",
        "lxml.etree.fromstring",
        "lxml.etree.XML",
        "defusedxml.ElementTree.parse",
        "defusedxml.ElementTree.fromstring",
    }
)
# `.replace(c, ...)` of these characters escapes a value for that sink kind.
_ESCAPES = (("'\"", "xpathi"), ("<>", "xss"), ("..", "pathtraver"))
_CONTAINERS = frozenset({"configparser.ConfigParser", "configparser.RawConfigParser", "builtins.dict"})


class _Args:
    """A call's evaluated arguments, with their nodes (for names and keyword constants)."""

    def __init__(self, engine: TaintEngine, node: ts.Node | None, env: Env) -> None:
        self.values: list[Value] = []
        self.nodes: list[ts.Node] = []
        self.kw: dict[str, Value] = {}
        self.kw_nodes: dict[str, ts.Node] = {}
        for arg in node.named_children if node is not None else []:
            if arg.type == "comment":
                continue
            if arg.type == "keyword_argument":
                name = text_of(arg.child_by_field_name("name"))
                value_node = arg.child_by_field_name("value")
                self.kw[name] = engine.eval(value_node, env)
                if value_node is not None:
                    self.kw_nodes[name] = value_node
            else:
                self.values.append(engine.eval(arg, env))
                self.nodes.append(arg)

    def all(self) -> list[Value]:
        return [*self.values, *self.kw.values()]

    def get(self, pos: int, name: str = "") -> Value | None:
        if pos < len(self.values):
            return self.values[pos]
        return self.kw.get(name) if name else None


def evaluate_call(engine: TaintEngine, node: ts.Node, env: Env) -> Value:
    """The value a call returns; records any flow into a sink it is."""
    fn = node.child_by_field_name("function")
    args = _Args(engine, node.child_by_field_name("arguments"), env)
    line = line_of(node)
    receiver_node: ts.Node | None = None
    receiver = CLEAN
    method = ""
    qualified = ""
    if fn is not None and fn.type == "identifier":
        name = text_of(fn)
        if name in engine.functions and name not in env and name not in engine.stack:
            return _inline(engine, name, args, line)
        qualified = engine.qualify(fn) or (f"builtins.{name}" if engine.is_builtin(name, env) else "")
    elif fn is not None and fn.type == "attribute":
        method = text_of(fn.child_by_field_name("attribute"))
        receiver_node = fn.child_by_field_name("object")
        if engine.is_module(receiver_node, env):
            qualified = engine.qualify(fn)
        else:
            receiver = engine.eval(receiver_node, env)
            is_self = receiver_node is not None and text_of(receiver_node) in ("self", "cls")
            if is_self and method in engine.functions and method not in engine.stack:
                return _inline(engine, method, args, line)
    else:
        receiver = engine.eval(fn, env)

    t = engine.tables
    if qualified and _under(qualified, t.fixed_attributes):
        return derived(args.all(), line)
    if qualified and (qualified in t.source_calls or _under(qualified, t.sources)):
        return Value(flow=(line,))
    if method == "setFeature" and receiver_node is not None and len(args.values) >= 2:
        # xml.sax parsers resolve external entities only when this feature is switched on.
        feature = engine.qualify(args.nodes[0]) or text_of(args.nodes[0])
        if (
            feature.endswith(("feature_external_ges", "feature_external_pes"))
            and args.values[1].const is True
        ):
            name = text_of(receiver_node)
            if name in env:
                env[name] = replace(env[name], tags=env[name].tags | {"xxe"})
        return CLEAN
    sinks = engine.sinks_for(qualified) if qualified else engine.sinks_for(f".{method}") if method else ()
    for sink in sinks:
        _check_sink(engine, sink, qualified or f".{method}", args, receiver, node, line)
    if method == "set_cookie" and not qualified:
        _check_cookie(engine, args, line)

    sanitized = t.sanitizers.get(qualified) or (t.sanitizers.get(f".{method}") if method else None)
    if sanitized is not None:
        if "*" in sanitized:
            return CLEAN
        out = derived([*args.all(), receiver], line)
        return replace(out, safe=out.safe | sanitized) if out.flow else out
    if qualified in t.clean_calls or (sinks and not qualified.endswith(".parse")):
        return CLEAN
    if qualified in _CONTAINERS and not args.values:
        return Value(keys=())
    if qualified in ("builtins.list", "builtins.tuple"):
        first = args.get(0)
        return (
            Value(items=first.items)
            if first is not None and first.items is not None
            else (Value(items=()) if first is None else derived([first], line))
        )
    if qualified in _XML_TREE or (method and "xmltree" in receiver.tags):
        return replace(derived(args.all(), line), tags=frozenset({"xmltree"}))
    if qualified == "xml.sax.make_parser":
        return Value(tags=frozenset({"saxparser"}))
    if qualified == "lxml.etree.XMLParser":
        resolve = args.kw.get("resolve_entities")
        on = resolve is not None and resolve.const is True
        return Value(tags=frozenset({"xxe"} if on else set()))
    if method and receiver_node is not None and not qualified:
        handled = _container_method(engine, method, receiver_node, receiver, args, env, line)
        if handled is not None:
            return handled
    if method == "replace" and len(args.values) >= 2 and isinstance(args.values[0].const, str):
        out = derived([receiver, args.values[1]], line)
        made_safe = frozenset(k for chars, k in _ESCAPES if any(c in args.values[0].const for c in chars))
        return replace(out, safe=out.safe | made_safe, origin=receiver.origin) if out.flow else out
    if method == "join" and receiver.is_const():
        parts = [*(args.values[0].items or ()), args.values[0]] if args.values else []
        return derived(parts, line)
    out = derived([*args.all(), receiver], line)
    if out.flow is not None and args.nodes and args.nodes[0].type == "identifier":
        out = replace(out, origin=text_of(args.nodes[0]))
    return out


def _under(qualified: str, names: frozenset[str]) -> bool:
    return any(qualified == s or qualified.startswith(s + ".") for s in names)


def _inline(engine: TaintEngine, name: str, args: _Args, line: int) -> Value:
    depth = len(engine.stack) + 1
    if depth > engine.max_depth():
        return derived(args.all(), line)
    stepped = [replace(v, flow=with_step(v.flow, line)) if v.flow is not None else v for v in args.values]
    kwargs = {
        k: replace(v, flow=with_step(v.flow, line)) if v.flow is not None else v for k, v in args.kw.items()
    }
    engine.stack.append(name)
    try:
        result = engine.inline(engine.functions[name], stepped, kwargs, depth)
    finally:
        engine.stack.pop()
    return replace(result, flow=with_step(result.flow, line)) if result.flow is not None else result


def _check_sink(
    engine: TaintEngine, sink: Sink, name: str, args: _Args, receiver: Value, node: ts.Node, line: int
) -> None:
    kind = sink.kind
    candidates: list[Value] = []
    for pos in sink.args:
        value = args.get(pos)
        if value is not None:
            candidates.append(value)
    for kw in sink.keywords:
        if kw in args.kw:
            candidates.append(args.kw[kw])
    if sink.receiver:
        candidates.append(receiver)
    if sink.check == "argv":
        flow = _argv_flow(engine, args, kind)
    elif sink.check == "yaml":
        loader = args.kw_nodes.get("Loader") or (args.nodes[1] if len(args.nodes) > 1 else None)
        if loader is not None and any(s in text_of(loader) for s in _SAFE_YAML):
            return
        flow = _first(candidates, kind)
    elif sink.check == "xxe":
        parser = args.kw.get("parser") or (args.values[1] if len(args.values) > 1 else None)
        parser_on = parser is not None and "xxe" in parser.tags
        receiver_on = name == ".parse" and "xxe" in receiver.tags
        if not (parser_on or receiver_on):
            return
        flow = _first(candidates, kind)
    elif sink.check == "xmltree":
        if "xmltree" not in receiver.tags:
            return
        flow = _first(candidates, kind)
    elif sink.check == "body":
        body = args.get(0)
        if body is not None and body.items:
            candidates = [body.items[0]]
        flow = _first(candidates, kind)
    elif sink.check == "path":
        if receiver.is_const():
            return
        flow = _first(candidates, kind)
    else:
        flow = _first(candidates, kind)
    if flow is not None:
        engine.report(kind, line, flow, name.lstrip("."))


def _first(values: list[Value], kind: str) -> tuple[int, ...] | None:
    for v in values:
        flow = tainted(v, kind)
        if flow is not None:
            return flow
    return None


def _argv_flow(engine: TaintEngine, args: _Args, kind: str) -> tuple[int, ...] | None:
    """Taint that chooses the program, or reaches a shell: a list without a shell passes data only."""
    argv = args.get(0, "args")
    if argv is None:
        return None
    shell = args.kw.get("shell")
    if shell is not None and (shell.const is True or (not shell.is_const())):
        return tainted(argv, kind)
    if argv.items is None:
        return tainted(argv, kind)
    if not argv.items:
        return None
    program = argv.items[0]
    flow = tainted(program, kind)
    if flow is not None:
        return flow
    if "shell" in program.tags or (
        program.is_const() and str(program.const).rsplit("/", 1)[-1] in engine.shells()
    ):
        return _first(list(argv.items[1:]), kind)
    return None


def _check_cookie(engine: TaintEngine, args: _Args, line: int) -> None:
    # Flask, Django and Starlette all default both flags to off.
    for flag, kind in (("secure", "securecookie"), ("httponly", "httponly")):
        value = args.kw.get(flag)
        if value is None or (value.is_const() and not value.const):
            engine.report(kind, line, (line,), "set_cookie")


def _container_method(
    engine: TaintEngine,
    method: str,
    receiver_node: ts.Node,
    receiver: Value,
    args: _Args,
    env: Env,
    line: int,
) -> Value | None:
    """List, dict and configparser methods on a local name; None when not one of them."""
    if receiver_node.type not in ("identifier", "attribute"):
        return None
    name = text_of(receiver_node)
    if name not in env:
        return None
    if receiver.items is not None:
        items = list(receiver.items)
        if method == "append" and args.values:
            env[name] = replace(receiver, items=(*items, _step(args.values[0], line)))
            return CLEAN
        if method == "insert" and len(args.values) == 2 and isinstance(args.values[0].const, int):
            items.insert(args.values[0].const, _step(args.values[1], line))
            env[name] = replace(receiver, items=tuple(items))
            return CLEAN
        if method == "extend" and args.values:
            more = args.values[0]
            env[name] = (
                replace(receiver, items=(*items, *more.items))
                if more.items is not None
                else Value(flow=tainted(receiver) or tainted(more))
            )
            return CLEAN
        if method == "pop":
            index = args.values[0].const if args.values else -1
            if isinstance(index, int) and items and -len(items) <= index < len(items):
                value = items.pop(index)
                env[name] = replace(receiver, items=tuple(items))
                return value
        if method == "copy":
            return receiver
        if method in ("append", "insert", "extend", "pop", "remove", "clear", "sort", "reverse"):
            env[name] = Value(flow=tainted(receiver) or tainted(join_all(args.all())))
            return derived([receiver], line)
        return None
    if receiver.keys is not None:
        if method == "set" and len(args.values) >= 3:
            section, key = args.values[0], args.values[1]
            if section.is_const() and key.is_const():
                env[name] = receiver.store((section.const, key.const), _step(args.values[2], line))
                return CLEAN
        if method == "set" and len(args.values) >= 3:
            env[name] = replace(receiver, flow=tainted(args.values[2]) or receiver.flow)
            return CLEAN
        if method in ("get", "pop") and args.values and all(a.is_const() for a in args.values[:2]):
            if _has_section_keys(receiver) and len(args.values) >= 2:
                # configparser.get(section, option): another option's value is not this one's.
                found = receiver.lookup((args.values[0].const, args.values[1].const))
                return found if found is not None else args.kw.get("fallback", CLEAN)
            found = receiver.lookup(args.values[0].const)
            default = args.values[1] if len(args.values) > 1 else CLEAN
            if method == "pop" and found is not None:
                env[name] = replace(
                    receiver, keys=tuple((k, v) for k, v in receiver.keys if k != args.values[0].const)
                )
            return found if found is not None else default
        if method in ("setdefault",) and args.values and args.values[0].is_const():
            found = receiver.lookup(args.values[0].const)
            if found is None:
                value = args.values[1] if len(args.values) > 1 else CLEAN
                env[name] = receiver.store(args.values[0].const, value)
                return value
            return found
        if method == "update" and args.values:
            other = args.values[0]
            merged = receiver
            for k, v in other.keys or ():
                merged = merged.store(k, v)
            if other.keys is None:
                merged = replace(merged, flow=tainted(other) or merged.flow)
            for k, v in args.kw.items():
                merged = merged.store(k, v)
            env[name] = merged
            return CLEAN
        if method in ("add_section", "has_section", "sections", "read", "read_string"):
            return CLEAN
        if method in ("values", "items", "keys", "copy"):
            return Value(flow=tainted(receiver)) if method != "copy" else receiver
    return None


def _has_section_keys(receiver: Value) -> bool:
    return any(isinstance(k, tuple) for k, _ in receiver.keys or ())


def _step(value: Value, line: int) -> Value:
    return replace(value, flow=with_step(value.flow, line)) if value.flow is not None else value
