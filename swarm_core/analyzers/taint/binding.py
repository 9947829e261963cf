"""Binding values to assignment targets: names, unpacking, containers with constant keys, the session."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import tree_sitter as ts

from swarm_core.analyzers.taint.nodes import line_of, named, text_of
from swarm_core.analyzers.taint.values import CLEAN, Value, derived, join, tainted, with_step

if TYPE_CHECKING:
    from swarm_core.analyzers.taint.engine import Env, TaintEngine

__all__ = ["assign_statement", "bind_target"]


def assign_statement(eng: TaintEngine, node: ts.Node, env: Env) -> Value:
    """Bind an assignment's targets (chained ones too) and return the assigned value."""
    right = node.child_by_field_name("right")
    left = node.child_by_field_name("left")
    if right is None:
        return CLEAN
    value = assign_statement(eng, right, env) if right.type == "assignment" else eng.eval(right, env)
    if left is not None:
        bind_target(eng, left, value, env, line_of(node))
    return value


def bind_target(eng: TaintEngine, target: ts.Node, value: Value, env: Env, line: int) -> None:
    """Bind a value to a target: names, unpacking, subscripts (constant keys kept), attributes."""
    flow = tainted(value)
    if flow is not None and value.flow is not None:
        value = replace(value, flow=with_step(value.flow, line))
    kind = target.type
    if kind == "identifier":
        env[text_of(target)] = value
    elif kind in ("pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "expression_list"):
        parts = named(target)
        items = value.items if value.items is not None and len(value.items) == len(parts) else None
        for i, part in enumerate(parts):
            bind_target(eng, part, items[i] if items is not None else derived([value], line), env, line)
    elif kind == "subscript":
        _bind_subscript(eng, target, value, env, line)
    elif kind == "attribute":
        env[text_of(target)] = value
    elif kind == "parenthesized_expression" and target.named_children:
        bind_target(eng, target.named_children[0], value, env, line)


def _bind_subscript(eng: TaintEngine, target: ts.Node, value: Value, env: Env, line: int) -> None:
    base = target.child_by_field_name("value")
    index = target.child_by_field_name("subscript")
    key = eng.eval(index, env) if index is not None else CLEAN
    if base is not None and _is_session(eng, base, env):
        flow = tainted(value, "trustbound") or tainted(key, "trustbound")
        if flow is not None:
            eng.report("trustbound", line, flow, text_of(base))
        return
    if base is None or base.type not in ("identifier", "attribute"):
        return
    name = text_of(base)
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


def _is_session(eng: TaintEngine, base: ts.Node, env: Env) -> bool:
    if eng.qualify(base) in eng.tables.session_names:
        return True
    # Django keeps the session on the request object.
    return (
        base.type == "attribute"
        and text_of(base.child_by_field_name("attribute")) == "session"
        and (tainted(eng.eval(base.child_by_field_name("object"), env)) is not None)
    )
