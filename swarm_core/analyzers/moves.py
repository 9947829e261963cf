"""Code a change moved or renamed between its files: definitions and module statements, bodies unchanged.

Pure over the files' top-level statements as (node type, code tokens): a helper moved from
`_utils.py` to `_multipart.py` and renamed `_format_form_param` on the way (its callers
updated) does the same as before, and so does a constant moved with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["DEFINITIONS", "IMPORTS", "Item", "Moves", "find_moves"]

DEFINITIONS = frozenset({"function_definition", "class_definition", "decorated_definition"})
IMPORTS = frozenset({"import_statement", "import_from_statement", "future_import_statement"})

Tokens = tuple[str, ...]
# One top-level statement: its tree-sitter node type and its code tokens.
Item = tuple[str, Tokens]
_SELF = "\0name"


def _name(tokens: Tokens) -> str | None:
    """The name a definition's tokens define: the token after its first `def` or `class`."""
    for i, token in enumerate(tokens[:-1]):
        if token in ("def", "class"):
            return tokens[i + 1]
    return None


@dataclass(frozen=True)
class Moves:
    """What the change moved: old name -> new name, and the statements found elsewhere unchanged.

    `base_defs` and `head_defs` hold every top-level definition's tokens on each side (base
    ones with the renames applied); `statements` the other statements removed from one file
    and added to another.
    """

    renames: Mapping[str, str]
    base_defs: frozenset[Tokens]
    head_defs: frozenset[Tokens]
    statements: frozenset[Tokens]

    def renamed(self, tokens: Tokens) -> Tokens:
        """Base tokens with moved definitions' old names replaced by their new ones."""
        if not self.renames:
            return tokens
        return tuple(self.renames.get(t, t) for t in tokens)

    def moved(self, kind: str, tokens: Tokens, side_defs: frozenset[Tokens]) -> bool:
        """Whether a statement (base tokens renamed) is found whole on the other side.

        `side_defs` is the other side's definitions: a definition may move within its file too.
        """
        if kind in DEFINITIONS:
            return tokens in side_defs
        return tokens in self.statements


def _renames(base: Sequence[Tokens], head: Sequence[Tokens]) -> dict[str, str]:
    """Definitions gone at base and new at head whose tokens differ only in their own name."""
    gone, new = set(base) - set(head), set(head) - set(base)
    base_names = {_name(t) for t in base}
    head_names = {_name(t) for t in head}

    def keyed(defs: set[Tokens]) -> dict[Tokens, list[str]]:
        out: dict[Tokens, list[str]] = {}
        for tokens in defs:
            name = _name(tokens)
            if name is not None:
                out.setdefault(tuple(_SELF if t == name else t for t in tokens), []).append(name)
        return out

    before, after = keyed(gone), keyed(new)
    renames = {}
    for key, olds in before.items():
        news = after.get(key, [])
        if len(olds) == 1 and len(news) == 1 and olds[0] != news[0]:
            old, fresh = olds[0], news[0]
            # A name still defined at head, or one the base already had, is not a rename.
            if old not in head_names and fresh not in base_names:
                renames[old] = fresh
    return renames


def find_moves(base: Mapping[str, Sequence[Item]], head: Mapping[str, Sequence[Item]]) -> Moves:
    """The moves and renames between the changed files' top-level statements at base and head."""
    renames = _renames(
        [t for items in base.values() for kind, t in items if kind in DEFINITIONS],
        [t for items in head.values() for kind, t in items if kind in DEFINITIONS],
    )
    rename = Moves(renames, frozenset(), frozenset(), frozenset()).renamed
    base = {path: [(kind, rename(t)) for kind, t in items] for path, items in base.items()}

    def statements(items: Sequence[Item]) -> Counter[Tokens]:
        return Counter(t for kind, t in items if kind not in DEFINITIONS and kind not in IMPORTS)

    removed = {p: statements(items) - statements(head.get(p, ())) for p, items in base.items()}
    added = {p: statements(items) - statements(base.get(p, ())) for p, items in head.items()}
    moved = frozenset(
        t
        for path, tokens in removed.items()
        for t in tokens
        if any(t in others for other, others in added.items() if other != path)
    )
    return Moves(
        renames,
        frozenset(t for items in base.values() for kind, t in items if kind in DEFINITIONS),
        frozenset(t for items in head.values() for kind, t in items if kind in DEFINITIONS),
        moved,
    )
