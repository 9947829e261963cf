"""Docs drift: public symbols added, removed or re-signatured with no docs or changelog change."""

from __future__ import annotations

import asyncio
import re

import tree_sitter as ts

from swarm_core.analyzers.base import AnalyzerContext, is_doc_path, is_private_module, is_source_path
from swarm_core.analyzers.meaning import bare_signature
from swarm_core.diff import FileDiff
from swarm_core.models import Finding, Lane, Severity, Side

__all__ = ["DocsDriftAnalyzer", "public_surface"]


def public_surface(ctx: AnalyzerContext, fd: FileDiff, side: Side) -> dict[str, tuple[int, str]]:
    """Public symbols of one side of a file: qualified name -> (line, signature without annotations)."""
    parsed = ctx.parsed(fd, side)
    if parsed is None:
        return {}
    return {
        sym.qualname: (sym.start_line, bare_signature(node, sym.signature))
        for sym, node in ctx.definitions(fd, side)
        if sym.public
    }


def _extends_base(node: ts.Node, name: str) -> bool:
    """True when a method calls the base class's method of its own name (`super().name(`)."""
    call = re.compile(rb"\bsuper\s*\([^)]*\)\s*\.\s*" + re.escape(name.encode()) + rb"\s*\(")
    return call.search(node.text or b"") is not None


# Class decorators that write the class's `__init__` from its fields (dataclasses, attrs,
# msgspec), unless told not to (`init=False`); `kw_only=True` makes every field keyword-only.
_GENERATES_INIT = re.compile(rb"^@\s*(?:\w+\.)*(?:dataclass|define|frozen|mutable|attrs|s)\b")
_NO_INIT = re.compile(rb"\binit\s*=\s*False\b")
_KW_ONLY = re.compile(rb"\bkw_only\s*=\s*True\b")


def _generated_inits(ctx: AnalyzerContext, fd: FileDiff, side: Side) -> dict[str, bool]:
    """`Class.__init__` -> keyword-only, for each class of one side whose decorator writes its `__init__`."""
    out = {}
    for sym, node in ctx.definitions(fd, side):
        holder = node.parent
        if sym.is_function or holder is None or holder.type != "decorated_definition":
            continue
        texts = [d.text or b"" for d in holder.children if d.type == "decorator"]
        writing = [t for t in texts if _GENERATES_INIT.match(t) and not _NO_INIT.search(t)]
        if writing:
            out[f"{sym.qualname}.__init__"] = any(_KW_ONLY.search(t) for t in writing)
    return out


def _still_callable(removed_signature: str, keyword_only: bool) -> bool:
    """Whether a generated `__init__` takes the calls the removed one did.

    A keyword-only generated `__init__` replaces only a removed one that was keyword-only too
    (`(self, *, url)`); a positional one takes positional and keyword calls alike.
    """
    if not keyword_only:
        return True
    params = [p.strip() for p in removed_signature.strip().strip("()").split(",")]
    return len(params) < 2 or params[1] == "*"


def _overrides(ctx: AnalyzerContext, fd: FileDiff, side: Side) -> set[str]:
    """Methods of one side of a file that extend their base class's method of the same name."""
    return {
        sym.qualname
        for sym, node in ctx.definitions(fd, side)
        if sym.is_function and "." in sym.qualname and _extends_base(node, sym.name)
    }


class DocsDriftAnalyzer:
    """Public symbols removed or re-signatured (new ones listed beside) with no docs or changelog change.

    One finding per change, listing every file and name: a reviewer writes one comment
    "public API changed with no docs", not one per module. A change that only adds names is
    none. A removed override that called the base class's method of the same name is not a
    removal: the name still resolves.
    """

    name = "docs"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when no source file changed."""
        return None if any(is_source_path(f.path) for f in ctx.files) else "no source files changed"

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Diff public symbols between base and head."""
        return await asyncio.to_thread(self._scan, ctx)

    def _scan(self, ctx: AnalyzerContext) -> list[Finding]:
        if any(is_doc_path(f.path) for f in ctx.files):
            return []
        sources = [f for f in ctx.files if is_source_path(f.path)]
        surfaces = {
            fd.path: (self._public(ctx, fd, Side.LEFT), self._public(ctx, fd, Side.RIGHT)) for fd in sources
        }
        gained = {k for before, after in surfaces.values() for k in after.keys() - before.keys()}
        lost = {k for before, after in surfaces.values() for k in before.keys() - after.keys()}
        # A symbol moved between modules (a private one included) is neither added nor removed.
        moved = gained & lost
        listed: list[str] = []
        anchor: tuple[FileDiff, int | None] | None = None
        breaking = False
        # Private modules (`_types.py`, `_core/`) are not the documented API.
        for fd in (f for f in sources if not is_private_module(f.path)):
            before, after = surfaces[fd.path]
            added = sorted(after.keys() - before.keys() - moved)
            removed = before.keys() - after.keys() - moved
            if removed:
                # An override that extended its base's method, or an `__init__` a dataclass-style
                # decorator now writes: the name still resolves.
                generated = _generated_inits(ctx, fd, Side.RIGHT)
                removed -= _overrides(ctx, fd, Side.LEFT)
                removed -= {
                    k for k in removed if k in generated and _still_callable(before[k][1], generated[k])
                }
            changed = sorted(k for k in after.keys() & before.keys() if after[k][1] != before[k][1])
            if not (added or removed or changed):
                continue
            breaking = breaking or bool(removed or changed)
            parts = []
            for label, names in (
                ("added", added),
                ("removed", sorted(removed)),
                ("signature changed", changed),
            ):
                if names:
                    parts.append(f"{label} " + ", ".join(names[:6]) + (" …" if len(names) > 6 else ""))
            listed.append(f"{fd.path}: " + "; ".join(parts))
            if anchor is None:
                anchor = (fd, after[added[0]][0] if added else (after[changed[0]][0] if changed else None))
        if anchor is None or not breaking:
            # New names alone are no drift: users who never called them lose nothing, and the
            # project documents them in its docstrings or its release notes (labels: 0 of 6
            # addition-only findings a maintainer wanted).
            return []
        shown = listed[:5] + ([f"{len(listed) - 5} more file(s)"] if len(listed) > 5 else [])
        return [
            Finding(
                path=anchor[0].path,
                line=anchor[1],
                severity=Severity.LOW,
                lane=Lane.DOCS_INTENT,
                category="docs",
                rule="docs/public-api-drift",
                title="Public API changed with no docs or changelog update",
                message=". ".join(shown) + ". Update the docs or CHANGELOG so users learn of it.",
                source=self.name,
                confidence=0.7,
            )
        ]

    @staticmethod
    def _public(ctx: AnalyzerContext, fd: FileDiff, side: Side) -> dict[str, tuple[int, str]]:
        return public_surface(ctx, fd, side)
