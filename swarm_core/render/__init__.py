"""Renderers: one Review, many formats (terminal, markdown, JSON, SARIF)."""

from __future__ import annotations

import json as _json

from swarm_core.models import Review
from swarm_core.render.json import SCHEMA_VERSION, review_from_dict, review_to_dict, to_json
from swarm_core.render.markdown import render_inline_comment, render_markdown, render_summary
from swarm_core.render.sarif import to_sarif

__all__ = [
    "FORMATS",
    "SCHEMA_VERSION",
    "render",
    "render_inline_comment",
    "render_markdown",
    "render_summary",
    "review_from_dict",
    "review_to_dict",
    "to_json",
    "to_sarif",
]

FORMATS = ("terminal", "markdown", "json", "sarif")


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
