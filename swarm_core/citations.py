"""What a finding cites (quoted code, names) checked against the change's real contents.

Shared by two stages that must agree on what "the quote is there" means: a lane drops or
moves a model finding before any judge sees it, and verification suppresses what still
does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from swarm_core.changeset import Contents, split_lines
from swarm_core.models import Finding, Side

__all__ = ["check_symbols", "code_at", "evidence_holds", "known_names", "normalize", "relocate"]

_SPACE = re.compile(r"\s+")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def normalize(text: str) -> str:
    """Whitespace-insensitive form of code: quotes and lines compare equal across reindentation."""
    return _SPACE.sub(" ", text).strip()


def code_at(contents: Contents | None, f: Finding) -> list[str] | None:
    """The code a finding points at; None when unknown, [] when the line is past the end of the file."""
    if contents is None or f.line is None:
        return None
    data = contents.read(f.path, f.side)
    if data is None:
        return None
    return list(split_lines(data)[f.line - 1 : f.last_line or f.line])


def evidence_holds(f: Finding, code: Sequence[str] | None) -> bool:
    """The line must exist and the quoted code must really be there (redacted quotes are not compared)."""
    if code is None:
        return True  # contents unavailable (a patch without its repo): nothing to check against
    if not code:
        return False  # a line past the end of the file
    if not f.evidence or "[redacted" in f.evidence:
        return True
    return normalize(f.evidence) in normalize(" ".join(code))


def relocate(f: Finding, contents: Contents | None, window: int = 5) -> Finding | None:
    """Anchor a model finding to the line its quoted code is really on.

    Models miscount lines; a quote found on exactly one line within `window` lines of the
    claimed line moves the finding there. A quote found nowhere near is a hallucinated
    location: None. Findings without a quote or without contents are returned unchanged
    (the reviewer pass judges them).
    """
    if f.line is None or not f.evidence.strip() or contents is None:
        return f
    data = contents.read(f.path, f.side)
    if data is None:
        return f
    lines = split_lines(data)
    code = list(lines[f.line - 1 : f.last_line or f.line])
    if evidence_holds(f, code):
        return f
    needle = normalize(next(line for line in f.evidence.splitlines() if line.strip()))
    lo = max(1, f.line - window)
    hi = min(len(lines), (f.last_line or f.line) + window)
    hits = [n for n in range(lo, hi + 1) if needle and needle in normalize(lines[n - 1])]
    if not hits:
        return None
    distance = min(abs(n - f.line) for n in hits)
    nearest = [n for n in hits if abs(n - f.line) == distance]
    if len(nearest) > 1:
        return None  # two equally near matches: the location is ambiguous
    delta = nearest[0] - f.line
    return replace(f, line=nearest[0], end_line=None if f.end_line is None else f.end_line + delta)


def known_names(contents: Contents | None, paths: Iterable[str]) -> frozenset[str] | None:
    """Every identifier in the head and base versions of the changed files (None without contents).

    This is the code graph's vocabulary for the symbol check: definitions, imports and
    every name used.
    """
    if contents is None:
        return None
    names: set[str] = set()
    seen_any = False
    for path in paths:
        for side in (Side.RIGHT, Side.LEFT):
            data = contents.read(path, side)
            if data is not None:
                seen_any = True
                names.update(_IDENT.findall(data.decode("utf-8", "replace")))
    return frozenset(names) if seen_any else None


def check_symbols(f: Finding, names: frozenset[str] | None) -> str | None:
    """The first name a finding cites that exists nowhere in the change, or None when all exist."""
    if names is None:
        return None
    for symbol in f.symbols:
        parts = _IDENT.findall(symbol.split("(", 1)[0])
        for part in parts:
            if part not in names:
                return symbol
    return None
