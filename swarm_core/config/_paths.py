"""Path filters: gitignore-style patterns (pathspec) matched against repository paths."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import pathspec

__all__ = ["paths_match"]


@cache
def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    # Brackets stay literal: route files such as `app/[slug]/page.tsx` (Next.js, SvelteKit)
    # are far more common in path filters than character classes, and were literal before.
    escaped = [p.replace("[", r"\[").replace("]", r"\]") for p in patterns]
    return pathspec.GitIgnoreSpec.from_lines(escaped)


def paths_match(patterns: Sequence[str], path: str) -> bool:
    """True when a repository path matches a list of gitignore-style patterns.

    The patterns read as in a `.gitignore`: `*` stays within a directory, `**` crosses
    directories, a pattern without a slash matches a name at any depth, one ending in `/`
    matches everything under that directory, a leading `/` anchors at the root, and a later
    `!pattern` takes back what an earlier one matched (the last match wins). Brackets are
    literal, unlike git's.

    Args:
        patterns: the patterns, in order.
        path: a slash-separated path relative to the repository root.

    Returns:
        Whether the last pattern that matches the path is not a negation.
    """
    return _spec(tuple(patterns)).match_file(path)
