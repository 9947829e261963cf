"""tree-sitter node helpers every part of the taint engine reads nodes with: line, text, named children."""

from __future__ import annotations

import tree_sitter as ts

__all__ = ["line_of", "named", "text_of"]


def line_of(node: ts.Node) -> int:
    """The node's first line, 1-based."""
    return node.start_point[0] + 1


def text_of(node: ts.Node | None) -> str:
    """The node's source text ("" for no node)."""
    return node.text.decode("utf-8", "replace") if node is not None and node.text is not None else ""


def named(node: ts.Node) -> list[ts.Node]:
    """The node's named children, comments aside."""
    return [c for c in node.named_children if c.type != "comment"]
