"""Renderers: one Review, many formats (terminal, markdown, JSON, SARIF).

The terminal renderer and the CLI's live progress load on first use: they need rich,
which the App and the Action never do.
"""

from __future__ import annotations

import json as _json
import typing as _typing

from swarm_core._lazy import lazy_namespace as _lazy_namespace
from swarm_core.models import Review
from swarm_core.render.json import SCHEMA_VERSION, review_from_dict, review_to_dict, to_json
from swarm_core.render.markdown import render_inline_comment, render_markdown, render_summary
from swarm_core.render.sarif import to_sarif

if _typing.TYPE_CHECKING:
    from swarm_core.render.terminal import LiveProgress, render_terminal

__all__ = [
    "FORMATS",
    "SCHEMA_VERSION",
    "LiveProgress",
    "render",
    "render_inline_comment",
    "render_markdown",
    "render_summary",
    "render_terminal",
    "review_from_dict",
    "review_to_dict",
    "to_json",
    "to_sarif",
]

FORMATS = ("terminal", "markdown", "json", "sarif")

_EXPORTS: dict[str, str] = dict.fromkeys(("LiveProgress", "render_terminal"), "terminal")

__getattr__, __dir__ = _lazy_namespace(__name__, _EXPORTS, __all__)


def render(review: Review, fmt: str) -> str:
    """Render a Review as text in one of the file formats (markdown, json, sarif).

    Raises:
        ValueError: an unknown format (the terminal format is rendered by render.terminal).
    """
    if fmt == "markdown":
        return render_markdown(review)
    if fmt == "json":
        return to_json(review)
    if fmt == "sarif":
        return _json.dumps(to_sarif(review), indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown format {fmt!r}; choose one of markdown, json, sarif")
