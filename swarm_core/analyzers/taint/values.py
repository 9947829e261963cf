"""Abstract values of the taint engine: taint with its flow, constants, containers, and how they join."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

__all__ = ["CLEAN", "NOCONST", "Value", "derived", "join", "join_all", "tainted", "with_step"]


class _NoConst:
    """The marker for 'not a known constant' (None is a constant in Python)."""

    def __repr__(self) -> str:
        return "NOCONST"


NOCONST: Final = _NoConst()
_MAX_FLOW = 24  # a flow longer than this keeps its source and its last steps


@dataclass(frozen=True, slots=True)
class Value:
    """What the engine knows of one Python value.

    `flow` is the line path from a source to here (None: not tainted by a source). `items`
    holds a list's or tuple's elements when every one is known; `keys` a dict's (or a
    configparser's) entries written with constant keys, so that reading another key is clean.
    `safe` names the sink kinds a sanitizer made this value harmless for ("*" for all).
    `tags` are facts about objects (an XML parser that resolves external entities, a parsed
    XML tree); `origin` is the variable a value was parsed from, for allow-list guards.
    """

    flow: tuple[int, ...] | None = None
    const: object = NOCONST
    items: tuple[Value, ...] | None = None
    keys: tuple[tuple[object, Value], ...] | None = None
    safe: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    origin: str | None = None

    def is_const(self) -> bool:
        """True when the value is a known constant."""
        return self.const is not NOCONST

    def lookup(self, key: object) -> Value | None:
        """The entry written at a constant key, or None when it was never written."""
        for k, v in self.keys or ():
            if k == key:
                return v
        return None

    def store(self, key: object, value: Value) -> Value:
        """This container with `key` set to `value`."""
        rest = tuple((k, v) for k, v in self.keys or () if k != key)
        return replace(self, keys=(*rest, (key, value)), const=NOCONST)


CLEAN: Final = Value()


def tainted(v: Value, kind: str | None = None) -> tuple[int, ...] | None:
    """The flow by which `v` (or anything it holds) carries taint not sanitized for `kind`."""
    if kind is not None and ("*" in v.safe or kind in v.safe):
        return None
    if v.flow is not None:
        return v.flow
    for item in v.items or ():
        flow = tainted(item, kind)
        if flow is not None:
            return flow
    for _, item in v.keys or ():
        flow = tainted(item, kind)
        if flow is not None:
            return flow
    return None


def with_step(flow: tuple[int, ...], line: int) -> tuple[int, ...]:
    """The flow extended by a step at `line` (not repeated, bounded in length)."""
    if flow and flow[-1] == line:
        return flow
    out = (*flow, line)
    if len(out) > _MAX_FLOW:
        out = (out[0], *out[-(_MAX_FLOW - 1) :])
    return out


def _join_flow(a: tuple[int, ...] | None, b: tuple[int, ...] | None) -> tuple[int, ...] | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if len(a) <= len(b) else b


def join(a: Value, b: Value) -> Value:
    """What is known of a value that is `a` on one path and `b` on another."""
    if a == b:
        return a
    fa, fb = tainted(a), tainted(b)
    if fa is not None and fb is not None:
        safe = a.safe & b.safe
    else:
        safe = a.safe if fa is not None else b.safe if fb is not None else a.safe & b.safe
    items = None
    if a.items is not None and b.items is not None and len(a.items) == len(b.items):
        items = tuple(join(x, y) for x, y in zip(a.items, b.items, strict=True))
    keys = None
    flow = _join_flow(a.flow, b.flow)
    if a.keys is not None and b.keys is not None:
        merged: dict[object, Value] = {}
        for k, v in (*a.keys, *b.keys):
            merged[k] = join(merged[k], v) if k in merged else v
        keys = tuple(merged.items())
    elif items is None and (a.items is not None or b.items is not None or a.keys or b.keys):
        # The shapes differ: keep the taint, lose the structure.
        flow = _join_flow(fa, fb)
    return Value(
        flow=flow,
        const=a.const if a.const == b.const and type(a.const) is type(b.const) else NOCONST,
        items=items,
        keys=keys,
        safe=safe,
        tags=a.tags | b.tags,
        origin=a.origin if a.origin == b.origin else None,
    )


def join_all(values: list[Value] | tuple[Value, ...]) -> Value:
    """The join of any number of values (CLEAN for none)."""
    out: Value | None = None
    for v in values:
        out = v if out is None else join(out, v)
    return out if out is not None else CLEAN


def derived(values: list[Value] | tuple[Value, ...], line: int) -> Value:
    """A new value computed from `values` (string formatting, an unknown call): their taint, no structure."""
    flows = [f for v in values if (f := tainted(v)) is not None]
    if not flows:
        return CLEAN
    flow = min(flows, key=len)
    safes = [s for v in values if (s := _safe_of(v)) is not None]
    safe = frozenset.intersection(*safes) if safes else frozenset()
    return Value(flow=with_step(flow, line), safe=safe)


def _safe_of(v: Value) -> frozenset[str] | None:
    """The sink kinds every tainted part of `v` is sanitized for; None when nothing in it is tainted."""
    if v.flow is not None:
        return v.safe
    inner = [
        s for item in (*(v.items or ()), *(x for _, x in v.keys or ())) if (s := _safe_of(item)) is not None
    ]
    if not inner:
        return None
    return v.safe | frozenset.intersection(*inner)
