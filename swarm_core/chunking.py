"""Token-budgeted chunking of a diff for model context: never splits a hunk, reports what it left out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from swarm_core.diff import Diff, FileDiff, Hunk

__all__ = ["Chunk", "ChunkPlan", "Omission", "chunk_diff", "estimate_tokens"]

# Per-file header overhead ("diff --git", ---/+++ lines) in tokens.
_FILE_OVERHEAD = 16


def estimate_tokens(text: str) -> int:
    """Offline token estimate: about four characters per token for code and English.

    Real tokenizers (tiktoken and kin) download vocabularies at run time, which fails
    offline; providers report exact usage after a call.
    """
    return (len(text) + 3) // 4


@dataclass(frozen=True, slots=True)
class Chunk:
    """A slice of the diff that fits the budget: whole hunks grouped by file."""

    files: tuple[tuple[str, tuple[Hunk, ...]], ...]
    tokens: int

    def text(self) -> str:
        """The chunk as diff text, one `--- path` header per file."""
        parts = []
        for path, hunks in self.files:
            parts.append(f"--- a/{path}\n+++ b/{path}")
            parts.extend(h.text() for h in hunks)
        return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class Omission:
    """Something the plan left out and why; `hunk` is None when the whole file was left out."""

    path: str
    reason: str
    hunk: str | None = None
    tokens: int = 0


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    """The chunks to send, and everything that did not fit."""

    chunks: tuple[Chunk, ...]
    omitted: tuple[Omission, ...]

    @property
    def omitted_paths(self) -> tuple[str, ...]:
        """Paths with at least one omitted part, in order, without repeats."""
        return tuple(dict.fromkeys(o.path for o in self.omitted))


def chunk_diff(
    diff: Diff | Iterable[FileDiff],
    budget_tokens: int,
    *,
    max_chunks: int | None = None,
    estimate: Callable[[str], int] = estimate_tokens,
) -> ChunkPlan:
    """Pack whole hunks into chunks of at most `budget_tokens` each.

    Files keep their diff order and hunks stay together with their file where they fit.
    A hunk larger than the budget is never split: it is omitted and reported, as are
    binary files and anything beyond `max_chunks`.

    Raises:
        ValueError: the budget is not positive.
    """
    if budget_tokens <= 0:
        raise ValueError("budget_tokens must be positive")
    files = diff.files if isinstance(diff, Diff) else tuple(diff)
    chunks: list[Chunk] = []
    omitted: list[Omission] = []
    current: list[tuple[str, list[Hunk]]] = []
    used = 0

    def close() -> None:
        nonlocal current, used
        if current:
            chunks.append(Chunk(tuple((p, tuple(hs)) for p, hs in current), used))
        current, used = [], 0

    for fd in files:
        if fd.binary:
            omitted.append(Omission(fd.path, "binary file"))
            continue
        if not fd.hunks:
            continue
        for hunk in fd.hunks:
            cost = estimate(hunk.text()) + 1
            if cost + _FILE_OVERHEAD > budget_tokens:
                omitted.append(Omission(fd.path, "hunk larger than the token budget", hunk.header, cost))
                continue
            same_file = bool(current) and current[-1][0] == fd.path
            extra = cost + (0 if same_file else _FILE_OVERHEAD)
            if used + extra > budget_tokens:
                close()
                same_file = False
                extra = cost + _FILE_OVERHEAD
            if max_chunks is not None and len(chunks) >= max_chunks:
                omitted.append(Omission(fd.path, "over the chunk limit", hunk.header, cost))
                continue
            if same_file:
                current[-1][1].append(hunk)
            else:
                current.append((fd.path, [hunk]))
            used += extra
    close()
    return ChunkPlan(tuple(chunks), tuple(omitted))
