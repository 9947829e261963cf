"""Expressions the taint interpreter folds or follows: strings, operators, containers, subscripts."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import tree_sitter as ts

from swarm_core.analyzers.taint.nodes import line_of, named, text_of
from swarm_core.analyzers.taint.values import CLEAN, Value, derived, join_all, tainted

if TYPE_CHECKING:
    from swarm_core.analyzers.taint.engine import Env, TaintEngine

__all__ = ["compare", "comprehension", "dictionary", "fold_binop", "string_value", "subscript"]

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


def string_value(engine: TaintEngine, node: ts.Node, env: Env) -> Value:
    if node.type != "string":
        return engine.eval(node, env)
    parts: list[Value] = []
    text: list[str] = []
    for child in node.named_children:
        if child.type == "string_content":
            text.append(text_of(child))
            parts.append(Value(const=text_of(child)))
        elif child.type == "escape_sequence":
            text.append(text_of(child))
        elif child.type == "interpolation":
            expr = child.child_by_field_name("expression")
            v = engine.eval(expr, env)
            parts.append(v)
            text.append(str(v.const) if v.is_const() else "")
    if all(p.is_const() for p in parts):
        const = "".join(text)
        # Kept through joins (where the constant is lost): `sh` on one branch, `cmd.exe` on the other.
        shell = const.strip().split(" ")[0].rsplit("/", 1)[-1] in engine.shells() if const else False
        return Value(const=const, tags=frozenset({"shell"}) if shell else frozenset())
    return derived(parts, line_of(node))


def fold_binop(engine: TaintEngine, node: ts.Node, left: Value, right: Value) -> Value:
    op = text_of(node.child_by_field_name("operator")).rstrip("=") or "+"
    if left.is_const() and right.is_const() and not left.flow and not right.flow and op in _BINOPS:
        try:
            return Value(const=_BINOPS[op](left.const, right.const))
        except Exception:
            return CLEAN
    if op == "+" and left.items is not None and right.items is not None:
        return Value(items=left.items + right.items)
    out = derived([left, right], line_of(node))
    origin = left.origin or right.origin
    return replace(out, origin=origin) if origin and out.flow else out


def compare(engine: TaintEngine, node: ts.Node, env: Env) -> Value:
    operands = [engine.eval(c, env) for c in named(node)]
    ops = [text_of(c) for c in node.children if not c.is_named]
    if len(operands) != len(ops) + 1 or not all(o.is_const() and not o.flow for o in operands):
        return CLEAN
    try:
        result = all(
            _COMPARE[op](operands[i].const, operands[i + 1].const)
            for i, op in enumerate(ops)
            if op in _COMPARE
        )
    except Exception:
        return CLEAN
    return Value(const=result)


def dictionary(engine: TaintEngine, node: ts.Node, env: Env) -> Value:
    out = Value(keys=())
    for pair in named(node):
        if pair.type == "pair":
            key = engine.eval(pair.child_by_field_name("key"), env)
            value = engine.eval(pair.child_by_field_name("value"), env)
            if key.is_const():
                out = out.store(key.const, value)
            else:
                out = replace(out, flow=tainted(value) or tainted(key) or out.flow)
        else:
            out = replace(out, flow=tainted(engine.eval(pair, env)) or out.flow)
    return out


def comprehension(engine: TaintEngine, node: ts.Node, env: Env) -> Value:
    inner = dict(env)
    for clause in node.named_children:
        if clause.type == "for_in_clause":
            right = clause.child_by_field_name("right")
            iterable = engine.eval(right, inner)
            element = join_all(iterable.items) if iterable.items else derived([iterable], line_of(clause))
            left = clause.child_by_field_name("left")
            if left is not None:
                engine.bind(left, element, inner, line_of(clause))
    body = node.child_by_field_name("body")
    value = engine.eval(body, inner)
    return Value(flow=tainted(value))


def subscript(engine: TaintEngine, node: ts.Node, env: Env) -> Value:
    base = engine.eval(node.child_by_field_name("value"), env)
    index_node = node.child_by_field_name("subscript")
    line = line_of(node)
    if index_node is not None and index_node.type == "slice":
        bounds = _slice_bounds(engine, index_node, env)
        if base.items is not None and all(b.is_const() for b in bounds):
            sl: Any = slice(*[b.const for b in bounds])
            try:
                return Value(items=base.items[sl])
            except (TypeError, ValueError):
                pass
        if base.is_const() and not base.flow and all(b.is_const() for b in bounds):
            const: Any = base.const
            try:
                return Value(const=const[slice(*[b.const for b in bounds])])
            except (TypeError, ValueError):
                return CLEAN
        return derived([base], line)
    index = engine.eval(index_node, env)
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


def _slice_bounds(engine: TaintEngine, node: ts.Node, env: Env) -> list[Value]:
    """start, stop and step of a slice, placed by its colons (`[1:]` is start 1, not stop 1)."""
    bounds = [Value(const=None)]
    for child in node.children:
        if child.type == ":":
            bounds.append(Value(const=None))
        elif child.is_named and child.type != "comment":
            bounds[-1] = engine.eval(child, env)
    return bounds
