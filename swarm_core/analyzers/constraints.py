"""How a version constraint moved between base and head: a major upgrade, loosened, a floor raised."""

from __future__ import annotations

import re

__all__ = ["change_kind"]

_CLAUSE = re.compile(r"(===|==|!=|~=|>=|<=|>|<|\^|~|=)?\s*v?(\d+(?:\.[\d*]+)*)")
_LOWER_OPS = frozenset([">=", ">", "~=", "==", "===", "^", "~", "=", ""])
_UPPER_OPS = frozenset(["<", "<=", "~=", "==", "===", "^", "~", "=", ""])


def _clauses(spec: str) -> list[tuple[str, tuple[int, ...]]] | None:
    """`>=1.2,<2` as (operator, version) pairs; None when the spec is not versions (a URL, a path, a tag)."""
    if re.search(r"[/@:]", spec) or (spec.strip() not in ("", "*") and not _CLAUSE.search(spec)):
        return None
    return [(op, tuple(int(n) for n in re.findall(r"\d+", version))) for op, version in _CLAUSE.findall(spec)]


def _floor(clauses: list[tuple[str, tuple[int, ...]]]) -> tuple[int, ...] | None:
    lows = [v for op, v in clauses if op in _LOWER_OPS]
    return max(lows) if lows else None


def _ceiling_major(clauses: list[tuple[str, tuple[int, ...]]]) -> int | None:
    """The newest major version a constraint lets install (`<5` → 4, `<5.1` → 5); None when unbounded."""
    majors = []
    for op, v in clauses:
        if op == "<" and not any(v[1:]):
            majors.append(v[0] - 1)
        elif op in _UPPER_OPS:
            majors.append(v[0])
    return min(majors) if majors else None


def change_kind(old: str, new: str) -> str:
    """How a constraint moved, from what a user's install can get.

    'major': the newest installable major rose (`==3.7 -> ==4.0`, `<5 -> <6`);
    'loosened': the project now accepts what it refused (a floor lowered, an upper bound or pin
    dropped); 'floor': the minimum rose, nothing newer became installable; 'other': anything else
    (a re-pin within a major, a tightened bound, a URL). Only the first two are review findings:
    a floor raise is the change's own requirement and restates it.
    """
    before, after = _clauses(old), _clauses(new)
    if before is None or after is None:
        return "other"
    ceil_before, ceil_after = _ceiling_major(before), _ceiling_major(after)
    if ceil_before is not None and ceil_after is not None and ceil_after > ceil_before:
        return "major"
    floor_before, floor_after = _floor(before), _floor(after)
    if (ceil_before is not None and ceil_after is None) or (
        floor_before is not None and (floor_after is None or floor_after < floor_before)
    ):
        return "loosened"
    if floor_before is None or (floor_after is not None and floor_after > floor_before):
        return "floor" if floor_after is not None else "other"
    return "other"
