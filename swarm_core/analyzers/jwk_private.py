"""swarm's own secrets rule: the private members of a JSON Web Key (RFC 7517/7518) in added lines.

A JWK's private key material is base64url text: `d` (the private exponent or scalar), `p`,
`q`, `dp`, `dq` and `qi` (an RSA key's factors and CRT values), and `k` (an "oct" key's
whole secret). Neither detect-secrets nor CredSweeper reads them as keys: a long RSA member
is usually split over lines (Python's implicit concatenation inside parentheses, or strings
one per line), and one line of it carries no keyword. This rule finds a member by its name
in a mapping that looks like a JWK (a `kty` or `crv` member nearby, or `n` with `e`, or `x`
with `y`) and reports every line its value spans.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from swarm_core.analyzers.secret_engines import AddedLines, SecretHit
from swarm_core.models import Severity

__all__ = ["JWK", "KIND", "jwk_hits"]

JWK = "swarm-jwk"
KIND = "JWK private key"

# Added lines this far (in line numbers) from a member still count as the same key's: an RSA
# 4096 key written 60 characters a line has its `qi` about 60 lines below its `kty`.
_WINDOW = 80

# A member name, bare (YAML), quoted (JSON, a Python dict) or with escaped quotes (JSON inside
# a JSON string), then `:` or `=` (Python's `dict(d=...)`).
_MEMBER = re.compile(
    r"(?<![\w\\\"'.-])(?P<open>\\?[\"']|)(?P<name>dp|dq|qi|d|p|q|k)(?P=open)\s*(?P<sep>[:=])[ \t]*"
)
_CONTEXT = {
    name: re.compile(r"(?<![\w.-])\\?[\"']?" + name + r"\\?[\"']?\s*[:=]")
    for name in ("kty", "crv", "n", "e", "x", "y")
}
_OCT = re.compile(r"(?<![\w.-])\\?[\"']?kty\\?[\"']?\s*[:=]\s*\\?[\"']?oct\b")

# One string literal of base64 or base64url text (a Python prefix allowed), or the separator
# between two of Python's implicitly concatenated literals (space, newlines, comments, a `+`).
_LITERAL = re.compile(r"(?:[bBrRuU]{1,2})?(?P<quote>\\?[\"'])(?P<text>[A-Za-z0-9_\-+/]*={0,2})(?P=quote)")
_BETWEEN = re.compile(r"(?:\s|#[^\n]*|\\\n|\+)*")
_PLAIN = re.compile(r"(?P<text>[A-Za-z0-9_\-+/]+={0,2})(?=[ \t]*(?:[,}\]#\n]|$))")
# YAML: a block scalar's indicator (`d: |` or `d: >-`), and one more indented line of a value
# (a plain scalar folded over lines, a block scalar, or a value that opens on the next line).
_BLOCK = re.compile(r"[|>][+-]?[ \t]*(?=\n)")
_INDENTED = re.compile(r"[ \t]*\n[ \t]+(?P<text>[A-Za-z0-9_\-+/]+={0,2})[ \t]*(?=\n|$)")

# Shortest plausible values, in base64 characters: a P-192 scalar or a 512-bit RSA factor is
# 32 or more; an "oct" key of 128 bits is 22.
_MIN_PRIVATE = 32
_MIN_OCT = 22
_MIN_DISTINCT = 12


@dataclass(frozen=True, slots=True)
class _Piece:
    line: int
    text: str


class _Run:
    """Consecutive added lines joined with newlines, so a value may span them."""

    def __init__(self, lines: list[tuple[int, str]]) -> None:
        self.text = "\n".join(text for _, text in lines)
        self._numbers = [number for number, _ in lines]
        self._offsets = list(itertools.accumulate((len(text) + 1 for _, text in lines[:-1]), initial=0))

    def line_at(self, offset: int) -> int:
        """The number of the line that holds the character at `offset`."""
        return self._numbers[bisect.bisect_right(self._offsets, offset) - 1]


def _runs(lines: AddedLines) -> Iterator[_Run]:
    current: list[tuple[int, str]] = []
    for number, text in lines:
        if current and number != current[-1][0] + 1:
            yield _Run(current)
            current = []
        current.append((number, text))
    if current:
        yield _Run(current)


def _value(run: _Run, pos: int, bare_name: bool, sep: str) -> list[_Piece]:
    """The pieces of the string value that starts at `pos`: one per literal, each on its line."""
    text = run.text
    paren = text.startswith("(", pos)
    if paren:
        pos = _BETWEEN.match(text, pos + 1).end()  # type: ignore[union-attr]
    pieces: list[_Piece] = []
    while m := _LITERAL.match(text, pos):
        pieces.append(_Piece(run.line_at(m.start("text")), m.group("text")))
        pos = _BETWEEN.match(text, m.end()).end()  # type: ignore[union-attr]
    if pieces:
        return pieces
    # A YAML scalar: only after a bare name and a colon, where no code can stand. Its text may
    # go on over more indented lines, or open on the next one; each line is a piece to redact.
    if not (bare_name and sep == ":" and not paren):
        return []
    if m := _PLAIN.match(text, pos):
        pieces.append(_Piece(run.line_at(m.start()), m.group("text")))
        pos = m.end()
    elif m := _BLOCK.match(text, pos):
        pos = m.end()
    while m := _INDENTED.match(text, pos):
        pieces.append(_Piece(run.line_at(m.start("text")), m.group("text")))
        pos = m.end()
    return pieces


def _random_bytes(value: str, minimum: int) -> bool:
    """Base64 (url) text of at least `minimum` characters that decodes to binary, not words."""
    body = value.rstrip("=")
    if len(body) < minimum or len(set(body)) < _MIN_DISTINCT or len(body) % 4 == 1:
        return False
    try:
        raw = base64.b64decode(body.replace("-", "+").replace("_", "/") + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return False
    # Key material is uniformly random bytes; a dummy ("c2VjcmV0" is "secret") decodes to text.
    return any(b > 0x7E or (b < 0x20 and b not in (9, 10, 13)) for b in raw)


def _near(lines: AddedLines, numbers: Sequence[int], line: int) -> str:
    """The added lines within the window around `line` (`numbers` are the lines' numbers, sorted)."""
    lo = bisect.bisect_left(numbers, line - _WINDOW)
    hi = bisect.bisect_right(numbers, line + _WINDOW)
    return "\n".join(text for _, text in lines[lo:hi])


def _looks_like_jwk(context: str, name: str) -> bool:
    if name == "k":
        return bool(_OCT.search(context))
    has = {key: bool(pattern.search(context)) for key, pattern in _CONTEXT.items()}
    return has["kty"] or has["crv"] or (has["n"] and has["e"]) or (has["x"] and has["y"])


def jwk_hits(lines: AddedLines) -> list[SecretHit]:
    """The private members of JWKs in the added lines of one file, one hit per member's value.

    A hit spans the lines the value's text stands on (not the member name's line when the
    value opens on the next), and carries every piece of the value and the whole of it, so
    redaction covers each line.
    """
    numbers = [n for n, _ in lines]
    hits = []
    for run in _runs(lines):
        for m in _MEMBER.finditer(run.text):
            pieces = _value(run, m.end(), bare_name=not m.group("open"), sep=m.group("sep"))
            value = "".join(p.text for p in pieces)
            name = m.group("name")
            if not pieces or not _random_bytes(value, _MIN_OCT if name == "k" else _MIN_PRIVATE):
                continue
            first, last = pieces[0].line, pieces[-1].line
            if not _looks_like_jwk(_near(lines, numbers, first), name):
                continue
            values = tuple(dict.fromkeys([value, *(p.text for p in pieces if len(p.text) >= 4)]))
            hits.append(
                SecretHit(
                    JWK,
                    KIND,
                    first,
                    last if last > first else None,
                    values,
                    Severity.CRITICAL,
                    0.9,
                    specific=True,
                )
            )
    return hits
