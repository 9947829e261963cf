"""Control flow for the taint interpreter: folded branches, allow-list guards, loops, try, match."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import tree_sitter as ts

from swarm_core.analyzers.taint.nodes import line_of, named, text_of
from swarm_core.analyzers.taint.values import CLEAN, NOCONST, Value, derived, join, join_all, tainted

if TYPE_CHECKING:
    from swarm_core.analyzers.taint.engine import Env, TaintEngine, _Frame

__all__ = ["exec_if", "exec_loop", "exec_match", "exec_try", "join_envs"]

_VALIDATORS = frozenset(
    {
        "startswith",
        "endswith",
        "isalnum",
        "isalpha",
        "isdigit",
        "isidentifier",
        "isdecimal",
        "match",
        "fullmatch",
    }
)


def exec_if(engine: TaintEngine, stmt: ts.Node, env: Env, frame: _Frame) -> Env | None:
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
            outs.append(engine.exec_block(body, dict(current), frame) if body is not None else current)
            current = None
            break
        value = engine.eval(cond, current)
        if value.is_const() and not value.flow:
            if value.const:
                outs.append(engine.exec_block(body, dict(current), frame) if body is not None else current)
                current = None
                break
            continue  # a dead branch
        names, negative = _guard(engine, cond)
        branch = dict(current)
        if names and not negative:
            _mark_safe(branch, names)
        result = engine.exec_block(body, branch, frame) if body is not None else branch
        outs.append(result)
        current = dict(current)
        if names and negative and result is None:
            _mark_safe(current, names)
    if current is not None:
        outs.append(current)
    return join_envs(outs)


def _guard(engine: TaintEngine, cond: ts.Node) -> tuple[list[str], bool]:
    """The names an allow-list test validates, and whether the test is true when they are invalid."""
    node = cond
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    if node.type == "boolean_operator":
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        op = text_of(node.child_by_field_name("operator"))
        if left is None or right is None:
            return [], False
        (ln, lneg), (rn, rneg) = _guard(engine, left), _guard(engine, right)
        if ln and rn and lneg == rneg and (op == "or") == lneg:
            return ln + rn, lneg
        return [], False
    if node.type == "comparison_operator":
        ops = [text_of(c) for c in node.children if not c.is_named]
        operands = named(node)
        if len(ops) != 1 or len(operands) != 2 or ops[0] not in ("in", "not in", "==", "!="):
            return [], False
        if _constant_like(engine, operands[1]):
            return _names(engine, operands[0]), ops[0] in ("not in", "!=")
        if ops[0] in ("in", "not in") and _constant_like(engine, operands[0]):
            # `'../' in name`: true when the value holds what is forbidden.
            return _names(engine, operands[1]), ops[0] == "in"
        return [], False
    if node.type == "not_operator":
        arg = node.child_by_field_name("argument")
        if arg is not None and arg.type == "call":
            fn = arg.child_by_field_name("function")
            if (
                fn is not None
                and fn.type == "attribute"
                and text_of(fn.child_by_field_name("attribute")) in _VALIDATORS
            ):
                return _names(engine, fn.child_by_field_name("object")), True
    return [], False


def _constant_like(engine: TaintEngine, node: ts.Node) -> bool:
    if node.type in ("string", "integer", "float", "true", "false", "none", "concatenated_string"):
        return True
    if node.type in ("list", "tuple", "set"):
        return all(_constant_like(engine, c) for c in named(node))
    # ALLOWED_HOSTS and friends: module-level constants by convention.
    return node.type == "identifier" and text_of(node).isupper()


def _names(engine: TaintEngine, node: ts.Node | None) -> list[str]:
    """Local names an expression reads (not the names of functions it calls)."""
    if node is None:
        return []
    if node.type == "identifier":
        return [text_of(node)]
    if node.type == "attribute":
        return _names(engine, node.child_by_field_name("object"))
    if node.type == "call":
        args = node.child_by_field_name("arguments")
        fn = node.child_by_field_name("function")
        own = (
            _names(engine, fn.child_by_field_name("object"))
            if fn is not None and fn.type == "attribute"
            else []
        )
        return own + [n for a in (named(args) if args is not None else []) for n in _names(engine, a)]
    return [n for c in named(node) for n in _names(engine, c)]


def _mark_safe(env: Env, names: list[str]) -> None:
    for name in names:
        v = env.get(name)
        if v is None:
            continue
        env[name] = replace(v, safe=v.safe | {"*"})
        if v.origin and v.origin in env:
            o = env[v.origin]
            env[v.origin] = replace(o, safe=o.safe | {"*"})


def exec_loop(engine: TaintEngine, stmt: ts.Node, env: Env, frame: _Frame) -> Env | None:
    body = stmt.child_by_field_name("body")
    if stmt.type == "while_statement":
        cond = stmt.child_by_field_name("condition")
        value = engine.eval(cond, env) if cond is not None else CLEAN
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
            iterable = engine.eval(right, current) if right is not None else CLEAN
            element = join_all(iterable.items) if iterable.items else derived([iterable], line_of(stmt))
            if iterable.keys:
                element = Value(flow=tainted(iterable))
            if left is not None:
                engine.bind(left, element, current, line_of(stmt))
        current = engine.exec_block(body, current, frame) if body is not None else current
        states.append(current)
    result = join_envs(states)
    alt = stmt.child_by_field_name("alternative")
    if alt is not None and result is not None:
        inner = alt.child_by_field_name("body")
        result = engine.exec_block(inner, result, frame) if inner is not None else result
    return result


def exec_try(engine: TaintEngine, stmt: ts.Node, env: Env, frame: _Frame) -> Env | None:
    body = stmt.child_by_field_name("body")
    after = engine.exec_block(body, dict(env), frame) if body is not None else env
    outs: list[Env | None] = []
    finally_block = None
    for clause in stmt.named_children:
        if clause.type == "except_clause" or clause.type == "except_group_clause":
            start = join_envs([env, after])
            block = next((c for c in clause.named_children if c.type == "block"), None)
            if start is not None and block is not None:
                outs.append(engine.exec_block(block, dict(start), frame))
        elif clause.type == "else_clause" and after is not None:
            inner = clause.child_by_field_name("body")
            after = engine.exec_block(inner, after, frame) if inner is not None else after
        elif clause.type == "finally_clause":
            finally_block = next((c for c in clause.named_children if c.type == "block"), None)
    result = join_envs([after, *outs])
    if finally_block is not None:
        start = result if result is not None else dict(env)
        end = engine.exec_block(finally_block, start, frame)
        return end if result is not None else None
    return result


def exec_match(engine: TaintEngine, stmt: ts.Node, env: Env, frame: _Frame) -> Env | None:
    subject_node = stmt.child_by_field_name("subject")
    subject = engine.eval(subject_node, env) if subject_node is not None else CLEAN
    body = stmt.child_by_field_name("body")
    outs: list[Env | None] = []
    exhaustive = False
    for case in body.named_children if body is not None else []:
        if case.type != "case_clause":
            continue
        block = case.child_by_field_name("consequence")
        patterns = [c for c in case.named_children if c.type == "case_pattern"]
        verdict = _case_matches(engine, patterns, subject)
        if verdict is False:
            continue
        branch = dict(env)
        for p in patterns:
            if text_of(p).isidentifier() and text_of(p) != "_" and p.named_children:
                engine.bind(p.named_children[0], subject, branch, line_of(case))
        outs.append(engine.exec_block(block, branch, frame) if block is not None else branch)
        if verdict is True:
            exhaustive = True
            break
    if not exhaustive:
        outs.append(env)
    return join_envs(outs)


def _case_matches(engine: TaintEngine, patterns: list[ts.Node], subject: Value) -> bool | None:
    """True/False when a constant subject surely (does not) match; None when unknown."""
    if any(text_of(p).isidentifier() for p in patterns):
        return True  # `case _:` or a capture pattern matches anything
    if not subject.is_const():
        return None
    literals: list[object] = []
    for p in patterns:
        for leaf in _pattern_literals(engine, p):
            if leaf is NOCONST:
                return None
            literals.append(leaf)
    return subject.const in literals


def _pattern_literals(engine: TaintEngine, node: ts.Node) -> list[object]:
    if node.type in ("case_pattern", "union_pattern"):
        return [lit for c in named(node) for lit in _pattern_literals(engine, c)]
    value = engine.eval(node, {})
    return [value.const]


def join_envs(envs: list[Env | None]) -> Env | None:
    live = [e for e in envs if e is not None]
    if not live:
        return None
    out = dict(live[0])
    for other in live[1:]:
        for k in set(out) | set(other):
            a, b = out.get(k), other.get(k)
            out[k] = join(a, b) if a is not None and b is not None else (a or b or CLEAN)
    return out
