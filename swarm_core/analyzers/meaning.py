"""Code compared by meaning: tokens without comments, docstrings or layout, and annotation-free signatures."""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Literal, NamedTuple

import tree_sitter as ts

__all__ = [
    "Issue",
    "MatchPass",
    "already_in_base",
    "bare_signature",
    "code_tokens",
    "normalise_line",
    "similar",
]

_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_SPACE = re.compile(r"\s+")
# Release bumps rewrite this constant on every release; it is metadata, not behaviour.
_METADATA_NAMES = frozenset({b"__version__", b"__version_info__"})
_TYPING_MODULES = frozenset({"typing", "t", "typing_extensions", "te"})
# typing's aliases of builtins (PEP 585): the same type either way.
_BUILTIN_GENERICS = {
    "List": "list",
    "Dict": "dict",
    "Tuple": "tuple",
    "Set": "set",
    "FrozenSet": "frozenset",
    "Type": "type",
}


def _is_inert_statement(node: ts.Node) -> bool:
    """A bare string statement (a docstring) or a version constant: no behaviour of its own."""
    if node.type != "expression_statement" or node.named_child_count != 1:
        return False
    inner = node.named_children[0]
    if inner.type in ("string", "concatenated_string"):
        return True
    if inner.type == "assignment":
        left = inner.child_by_field_name("left")
        return left is not None and left.text in _METADATA_NAMES
    return False


_SIGNATURE_NODES = frozenset({"typed_parameter", "typed_default_parameter", "function_definition"})


def code_tokens(
    node: ts.Node | None, *, annotations: bool = True, signatures: bool = True
) -> tuple[str, ...]:
    """The leaf tokens of a subtree, skipping comments and inert statements.

    Two subtrees with equal tokens behave the same: a change that only edits comments,
    docstrings, formatting or the version constant leaves them equal, and so does spelling
    out `zip`'s default `strict=False`. With `annotations` False, Python type annotations
    (with their `:` or `->`) are left out too, and typing's old spellings in type aliases
    read as the new (`Optional[X]` as `X | None`, `Union[A, B]` as `A | B`, `List` as
    `list`): for code that nothing reads the annotations of at run time, typing it, or
    modernising how it is typed, is not changing it. With `signatures` False, only the
    annotations of parameters and return values are left out (a module whose dataclasses
    read their fields' annotations, and nothing reads its functions').
    """
    if node is None:
        return ()
    out: list[str] = []
    stack: list[ts.Node | str] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, str):
            out.append(n)
            continue
        if "comment" in n.type or _is_inert_statement(n):
            continue
        if n.child_count == 0 or n.type == "string":
            out.append((n.text or b"").decode("utf-8", "replace"))
            continue
        children: list[ts.Node | str] = list(n.children)
        if n.type == "parenthesized_expression":
            children = children[1:-1]  # wrapping parentheses are layout (a tuple is its own node)
        elif n.type == "argument_list":
            children = _without_default_strict(n)
        elif n.type == "subscript" and not annotations:
            children = _modern_typing(n) or children
        if not annotations or (not signatures and n.type in _SIGNATURE_NODES):
            children = _without_annotations(children)
        stack.extend(reversed(children))
    # A trailing comma before a closing bracket is layout too (a formatter's "magic comma").
    return tuple(
        t for i, t in enumerate(out) if not (t == "," and out[i + 1 : i + 2] in ([")"], ["]"], ["}"]))
    )


def _without_annotations(children: list[ts.Node | str]) -> list[ts.Node | str]:
    """Children minus tree-sitter-python's `type` nodes and the `:` or `->` that introduces each."""
    kept: list[ts.Node | str] = []
    for child in children:
        if not isinstance(child, str) and child.type == "type":
            last = kept[-1] if kept else None
            if last is not None and not isinstance(last, str) and last.type in (":", "->"):
                kept.pop()
            continue
        kept.append(child)
    return kept


def _without_default_strict(args: ts.Node) -> list[ts.Node | str]:
    """A call's arguments less `strict=False` when the call is `zip(...)` (False is its default)."""
    call = args.parent
    function = call.child_by_field_name("function") if call is not None else None
    if function is None or function.text != b"zip":
        return list(args.children)
    return [
        a
        for a in args.children
        if not (
            a.type == "keyword_argument"
            and _text(a.child_by_field_name("name")) == "strict"
            and _text(a.child_by_field_name("value")) == "False"
        )
    ]


def _text(node: ts.Node | None) -> str:
    return (node.text or b"").decode("utf-8", "replace") if node is not None else ""


def _modern_typing(node: ts.Node) -> list[ts.Node | str] | None:
    """`Optional[X]` as `X | None`, `Union[A, B]` as `A | B`, `List[X]` as `list[X]`; None otherwise.

    The name is typing's: bare, or an attribute of `typing`, `typing_extensions` or their
    usual aliases.
    """
    value = node.child_by_field_name("value")
    if value is None:
        return None
    if value.type == "attribute":
        owner = value.child_by_field_name("object")
        if _text(owner) not in _TYPING_MODULES:
            return None
        name = _text(value.child_by_field_name("attribute"))
    elif value.type == "identifier":
        name = _text(value)
    else:
        return None
    args = node.children_by_field_name("subscript")
    if name == "Optional" and len(args) == 1:
        return [args[0], "|", "None"]
    if name == "Union" and args:
        joined: list[ts.Node | str] = []
        for arg in args:
            joined.extend(["|", arg] if joined else [arg])
        return joined
    if name in _BUILTIN_GENERICS:
        return [_BUILTIN_GENERICS[name], *node.children[1:]]
    return None


def bare_signature(node: ts.Node, fallback: str) -> str:
    """A Python function's parameters without annotations (names, defaults, stars); else `fallback`.

    Adding type hints changes no caller, so it must not read as an API change.
    """
    params = node.child_by_field_name("parameters")
    if node.type != "function_definition" or params is None:
        return fallback
    parts = []
    for p in params.named_children:
        if "comment" in p.type:
            continue
        name = p.child_by_field_name("name")
        if p.type == "typed_parameter":
            name = next((c for c in p.named_children if c.type != "type"), None)
        if name is None:
            parts.append("".join(code_tokens(p)))
            continue
        text = "".join(code_tokens(name))
        value = p.child_by_field_name("value")
        if value is not None:
            text += "=" + "".join(code_tokens(value))
        parts.append(text)
    return f"({', '.join(parts)})"


def normalise_line(text: str) -> tuple[str, str]:
    """Two matching keys for a line: without whitespace, and also with identifiers blanked.

    The second key lets a finding on a line that only renamed a variable (or was re-wrapped)
    match its base twin.
    """
    compact = _SPACE.sub("", text)
    return compact, _IDENTIFIER.sub("_", compact)


def similar(a: tuple[str, ...], b: tuple[str, ...], threshold: float = 0.6) -> bool:
    """True when two token sequences are mostly the same (a renamed or lightly rewritten body)."""
    if a == b:
        return True
    if not a or not b:
        return False
    m = SequenceMatcher(None, a, b, autojunk=False)
    return m.real_quick_ratio() >= threshold and m.quick_ratio() >= threshold and m.ratio() >= threshold


class Issue(NamedTuple):
    """A tool's finding reduced to what "the same issue" means: file, rule and the line's code."""

    path: str
    rule: str
    compact: str
    blanked: str

    @classmethod
    def of(cls, path: str, rule: str, line_text: str) -> Issue:
        return cls(path, rule, *normalise_line(line_text))


class MatchPass(NamedTuple):
    """One pass of already_in_base: where the base twin may be, and how alike its code must be.

    `same_file` False looks only in other files (code moved between files); `code` None
    accepts any line of the same file (code moved within it).
    """

    same_file: bool
    code: Literal["compact", "blanked"] | None


def already_in_base(base: Sequence[Issue], head: Sequence[Issue], passes: Sequence[MatchPass]) -> list[bool]:
    """Which head issues the base already had: a linter's or scanner's "only new" filter.

    The passes run in order over every head issue, strictest first, so a loose match never
    takes the base twin a strict one needed; each base issue pays for one head issue at most.
    """
    remaining = list(base)
    seen = [False] * len(head)
    for step in passes:
        for i, want in enumerate(head):
            if seen[i]:
                continue
            for j, have in enumerate(remaining):
                if (
                    have.rule == want.rule
                    and (have.path == want.path) == step.same_file
                    and (step.code is None or getattr(have, step.code) == getattr(want, step.code))
                ):
                    del remaining[j]
                    seen[i] = True
                    break
    return seen
