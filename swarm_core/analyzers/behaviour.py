"""Whether a change alters what code does: tokens by meaning, moved, renamed and typing-only code aside.

Comments, docstrings and layout never count; neither does code the project excludes from
coverage (`# pragma: no cover` and its block); nor annotations (and typing's
modernised spellings) in a module that nothing reads the annotations of at run time, nor
code moved whole between the changed files, renamed on the way or not.
"""

from __future__ import annotations

import re

from swarm_core.analyzers.base import AnalyzerContext
from swarm_core.analyzers.meaning import code_tokens
from swarm_core.analyzers.moves import IMPORTS, Moves, find_moves
from swarm_core.analyzers.no_cover import changes_excluded_from_coverage
from swarm_core.diff import FileDiff, FileStatus
from swarm_core.models import Side

__all__ = ["COMMENT_PREFIXES", "behaviour_changed", "behaviour_lines", "moves_of"]

COMMENT_PREFIXES = ("#", "//", "/*", "*", "*/", '"""', "'''", "--")


def behaviour_lines(fd: FileDiff) -> int:
    """Added or removed lines that are not blank and not comments (for files without a grammar)."""
    count = 0
    for hunk in fd.hunks:
        for raw in hunk.lines:
            if raw[:1] in "+-":
                text = raw[1:].strip()
                if text and not text.startswith(COMMENT_PREFIXES):
                    count += 1
    return count


# Libraries that read type annotations at run time (validation, CLI options, request parsing,
# converters): in a module that imports one, an annotation is behaviour.
_ANNOTATION_READERS = re.compile(
    rb"^\s*(?:from|import)\s+(?:pydantic\w*|fastapi|typer|sqlmodel|strawberry|cattrs|beartype|typeguard"
    rb"|apischema|ninja|litestar)\b",
    re.MULTILINE,
)
# Libraries that read only the annotations of class fields (dataclass-style declarations): in a
# module that imports one and no reader above, a function's annotations are still only typing.
_FIELD_READERS = re.compile(
    rb"^\s*(?:from|import)\s+(?:dataclasses|attrs?|msgspec|sqlalchemy|marshmallow_dataclass|dacite)\b",
    re.MULTILINE,
)


# The standard library's own readers of function annotations: `singledispatch` dispatches on
# them, `get_type_hints` and `inspect.signature` hand them to whatever asked.
_SIGNATURE_READERS = re.compile(
    rb"\b(?:singledispatch\w*|get_type_hints|get_annotations|__annotations__)\b|\bsignature\s*\("
)


def _reads_annotations(ctx: AnalyzerContext, fd: FileDiff) -> tuple[bool, bool]:
    """(fields, signatures): whether class-field and function annotations are read at run time."""
    if not fd.path.endswith((".py", ".pyi")):
        return True, True
    sources = [s for s in (ctx.head(fd), ctx.base(fd)) if s is not None]
    if any(_ANNOTATION_READERS.search(source) or _SIGNATURE_READERS.search(source) for source in sources):
        return True, True
    return any(_FIELD_READERS.search(source) for source in sources), False


def _top_level(
    ctx: AnalyzerContext, fd: FileDiff, side: Side, *, annotations: bool = True, signatures: bool = True
) -> list[tuple[str, tuple[str, ...]]] | None:
    """A file's top-level statements as (node type, code tokens); None without a grammar.

    `__all__`'s names are read as a set: sorting the export list changes nothing.
    """
    parsed = ctx.parsed(fd, side)
    if parsed is None:
        return None
    return [
        (n.type, _exports_as_set(code_tokens(n, annotations=annotations, signatures=signatures)))
        for n in parsed.tree.root_node.children
    ]


def _exports_as_set(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """`__all__ = [...]` (or `+=`, or a tuple) with its names sorted; any other statement as it is.

    Only a plain display of strings, one comma between each: `['a' 'b']` (a missing comma,
    one name "ab") is left as it is, and so is anything computed.
    """
    if tokens[:1] != ("__all__",) or tokens[1:2] not in (("=",), ("+=",)):
        return tokens
    display = tokens[2:]
    if len(display) < 2 or (display[0], display[-1]) not in (("[", "]"), ("(", ")")):
        return tokens
    inner = display[1:-1]
    names, commas = inner[0::2], inner[1::2]
    if not all(t[:1] in ('"', "'") for t in names) or any(t != "," for t in commas):
        return tokens
    return (*tokens[:2], *sorted(t.strip("\"'") for t in names))


def behaviour_changed(ctx: AnalyzerContext, fd: FileDiff, moves: Moves) -> bool:
    """True when the code's tokens differ between base and head.

    Comments, docstrings and layout aside, and so is code moved whole between the changed
    files (with the imports that follow it): definitions, renamed or not, and module
    statements. The base side is read with the moved definitions' new names.
    """
    if behaviour_lines(fd) == 0 or changes_excluded_from_coverage(ctx, fd):
        return False
    head = [] if fd.status == FileStatus.DELETED else _top_level(ctx, fd, Side.RIGHT)
    base = [] if fd.status == FileStatus.ADDED else _top_level(ctx, fd, Side.LEFT)
    if head is None or base is None:
        return True
    fields, signatures = _reads_annotations(ctx, fd)
    typed = fields and signatures

    def kept(
        side: Side, items: list[tuple[str, tuple[str, ...]]], elsewhere: frozenset[tuple[str, ...]]
    ) -> list[object]:
        # Moved code is recognised by its whole tokens; what is left is compared without
        # annotations where nothing reads them at run time.
        bare = (
            items
            if typed or not items
            else _top_level(ctx, fd, side, annotations=fields, signatures=signatures) or []
        )
        if side is Side.LEFT:
            items = [(kind, moves.renamed(tokens)) for kind, tokens in items]
            bare = [(kind, moves.renamed(tokens)) for kind, tokens in bare]
        return [
            compared
            for (kind, tokens), (_, compared) in zip(items, bare, strict=True)
            if kind not in IMPORTS and not moves.moved(kind, tokens, elsewhere)
        ]

    return kept(Side.RIGHT, head, moves.base_defs) != kept(Side.LEFT, base, moves.head_defs)


def moves_of(ctx: AnalyzerContext, files: list[FileDiff]) -> Moves:
    """Definitions and statements the change moved or renamed between its source files."""
    base = {fd.path: _top_level(ctx, fd, Side.LEFT) or [] for fd in files if fd.status != FileStatus.ADDED}
    head = {fd.path: _top_level(ctx, fd, Side.RIGHT) or [] for fd in files if fd.status != FileStatus.DELETED}
    return find_moves(base, head)
