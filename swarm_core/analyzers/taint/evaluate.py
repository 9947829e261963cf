"""Evaluating an expression: constants folded, taint carried with its flow, sources recognised."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import tree_sitter as ts

from swarm_core.analyzers.taint.binding import bind_target
from swarm_core.analyzers.taint.calls import evaluate_call
from swarm_core.analyzers.taint.expressions import (
    compare,
    comprehension,
    dictionary,
    fold_binop,
    string_value,
    subscript,
)
from swarm_core.analyzers.taint.nodes import line_of, named, text_of
from swarm_core.analyzers.taint.values import CLEAN, Value, derived, join, tainted

if TYPE_CHECKING:
    from swarm_core.analyzers.taint.engine import Env, TaintEngine

__all__ = ["evaluate"]


def evaluate(eng: TaintEngine, node: ts.Node | None, env: Env) -> Value:
    """The abstract value of an expression: its constant, its taint and the flow that carried it."""
    if node is None:
        return CLEAN
    kind = node.type
    if kind == "identifier":
        return _name(eng, node, env)
    if kind == "string":
        return string_value(eng, node, env)
    if kind == "concatenated_string":
        parts = [string_value(eng, c, env) for c in named(node)]
        if all(p.is_const() for p in parts):
            return Value(const="".join(str(p.const) for p in parts))
        return derived(parts, line_of(node))
    if kind == "integer":
        try:
            return Value(const=int(text_of(node).replace("_", ""), 0))
        except ValueError:
            return CLEAN
    if kind == "float":
        try:
            return Value(const=float(text_of(node).replace("_", "")))
        except ValueError:
            return CLEAN
    if kind in ("true", "false", "none"):
        return Value(const={"true": True, "false": False, "none": None}[kind])
    if kind == "binary_operator":
        left = evaluate(eng, node.child_by_field_name("left"), env)
        right = evaluate(eng, node.child_by_field_name("right"), env)
        return fold_binop(eng, node, left, right)
    if kind == "boolean_operator":
        left = evaluate(eng, node.child_by_field_name("left"), env)
        right = evaluate(eng, node.child_by_field_name("right"), env)
        op = text_of(node.child_by_field_name("operator"))
        if left.is_const() and not left.flow:
            return (right if left.const else left) if op == "and" else (left if left.const else right)
        return join(left, right)
    if kind == "not_operator":
        arg = evaluate(eng, node.child_by_field_name("argument"), env)
        return Value(const=not arg.const) if arg.is_const() and not arg.flow else CLEAN
    if kind == "comparison_operator":
        return compare(eng, node, env)
    if kind == "unary_operator":
        arg = evaluate(eng, node.child_by_field_name("argument"), env)
        op = text_of(node.child_by_field_name("operator"))
        if arg.is_const() and isinstance(arg.const, int | float) and op in ("-", "+"):
            return Value(const=-arg.const if op == "-" else arg.const)
        return derived([arg], line_of(node))
    if kind in ("parenthesized_expression", "await", "expression_statement"):
        inner = named(node)
        return evaluate(eng, inner[0], env) if inner else CLEAN
    if kind == "conditional_expression":
        branches = named(node)
        if len(branches) != 3:
            return CLEAN
        cond = evaluate(eng, branches[1], env)
        if cond.is_const() and not cond.flow:
            return evaluate(eng, branches[0] if cond.const else branches[2], env)
        return join(evaluate(eng, branches[0], env), evaluate(eng, branches[2], env))
    if kind in ("list", "tuple", "expression_list"):
        elements = [evaluate(eng, c, env) for c in named(node)]
        if any(c.type == "list_splat" for c in named(node)):
            return derived(elements, line_of(node))
        return Value(items=tuple(elements))
    if kind in ("list_splat", "dictionary_splat"):
        inner = named(node)
        return evaluate(eng, inner[0], env) if inner else CLEAN
    if kind == "set":
        return derived([evaluate(eng, c, env) for c in named(node)], line_of(node))
    if kind == "dictionary":
        return dictionary(eng, node, env)
    if kind in (
        "list_comprehension",
        "generator_expression",
        "set_comprehension",
        "dictionary_comprehension",
    ):
        return comprehension(eng, node, env)
    if kind == "subscript":
        return subscript(eng, node, env)
    if kind == "attribute":
        return _attribute(eng, node, env)
    if kind == "call":
        return evaluate_call(eng, node, env)
    if kind in ("assignment", "named_expression"):
        target = node.child_by_field_name("left") or node.child_by_field_name("name")
        value = evaluate(eng, node.child_by_field_name("right") or node.child_by_field_name("value"), env)
        if target is not None:
            bind_target(eng, target, value, env, line_of(node))
        return value
    if kind == "keyword_argument":
        return evaluate(eng, node.child_by_field_name("value"), env)
    if kind in ("lambda", "ellipsis"):
        return CLEAN
    return derived([evaluate(eng, c, env) for c in named(node)], line_of(node))


def _name(eng: TaintEngine, node: ts.Node, env: Env) -> Value:
    name = text_of(node)
    if name in env:
        return env[name]
    qualified = eng.imports.get(name, "")
    if qualified and _is_source(eng, qualified):
        return Value(flow=(line_of(node),))
    return CLEAN


def _is_source(eng: TaintEngine, qualified: str) -> bool:
    return any(qualified == s or qualified.startswith(s + ".") for s in eng.tables.sources)


def _attribute(eng: TaintEngine, node: ts.Node, env: Env) -> Value:
    dotted = text_of(node)
    if dotted in env:
        return env[dotted]
    qualified = eng.qualify(node)
    if qualified:
        if qualified in eng.tables.fixed_attributes:
            return CLEAN
        return Value(flow=(line_of(node),)) if _is_source(eng, qualified) else CLEAN
    base = evaluate(eng, node.child_by_field_name("object"), env)
    if tainted(base) is None:
        return CLEAN
    out = derived([base], line_of(node))
    return replace(out, origin=base.origin, safe=base.safe)


# -- calls ------------------------------------------------------------------------------
