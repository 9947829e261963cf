"""Tree-sitter code graph: languages, parse trees, symbols, imports, comments and complexity.

Grammars come from the per-language wheels (tree-sitter-python, ...), which ship compiled
parsers; nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath

import tree_sitter as ts

__all__ = [
    "LANGUAGES",
    "Symbol",
    "comments",
    "complexity",
    "definitions",
    "error_nodes",
    "imports",
    "language_for",
    "parse",
    "string_literals",
    "symbols",
]

# language name -> (module, factory function)
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
}
LANGUAGES = tuple(_GRAMMARS)

_EXTENSIONS = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".rb": "ruby",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".cs": "csharp",
}

# Node types that define a symbol, per language: type -> kind.
_DEFINITIONS: dict[str, dict[str, str]] = {
    "python": {"function_definition": "function", "class_definition": "class"},
    "javascript": {
        "function_declaration": "function",
        "generator_function_declaration": "function",
        "class_declaration": "class",
        "method_definition": "method",
    },
    "go": {"function_declaration": "function", "method_declaration": "method", "type_spec": "type"},
    "rust": {
        "function_item": "function",
        "struct_item": "struct",
        "enum_item": "enum",
        "trait_item": "trait",
        "mod_item": "module",
    },
    "java": {
        "class_declaration": "class",
        "interface_declaration": "interface",
        "enum_declaration": "enum",
        "record_declaration": "class",
        "method_declaration": "method",
        "constructor_declaration": "constructor",
    },
    "ruby": {
        "method": "method",
        "singleton_method": "method",
        "class": "class",
        "module": "module",
    },
    "c": {"function_definition": "function", "struct_specifier": "struct"},
    "cpp": {
        "function_definition": "function",
        "class_specifier": "class",
        "struct_specifier": "struct",
        "namespace_definition": "namespace",
    },
    "csharp": {
        "class_declaration": "class",
        "interface_declaration": "interface",
        "struct_declaration": "struct",
        "record_declaration": "class",
        "enum_declaration": "enum",
        "method_declaration": "method",
        "constructor_declaration": "constructor",
    },
}
_DEFINITIONS["typescript"] = {
    **_DEFINITIONS["javascript"],
    "interface_declaration": "interface",
    "type_alias_declaration": "type",
    "enum_declaration": "enum",
    "abstract_class_declaration": "class",
    "function_signature": "function",
}
_DEFINITIONS["tsx"] = _DEFINITIONS["typescript"]

_FUNCTION_KINDS = frozenset({"function", "method", "constructor"})

# Branching constructs counted by cyclomatic complexity, across the supported grammars.
_DECISIONS = frozenset(
    {
        "if_statement", "elif_clause", "if_expression", "if", "elsif", "unless",
        "for_statement", "for_in_statement", "for_of_statement", "enhanced_for_statement",
        "foreach_statement", "for_expression", "for_range_loop", "for",
        "while_statement", "while_expression", "do_statement", "while", "until",
        "loop_expression", "catch_clause", "except_clause", "rescue",
        "conditional_expression", "ternary_expression", "conditional",
        "case_clause", "switch_case", "switch_section", "expression_case", "type_case",
        "match_arm", "when", "case_statement", "communication_case",
        "list_comprehension", "if_clause", "guard",
    }
)  # fmt: skip
_BOOLEAN_OPERATORS = frozenset({"&&", "||", "and", "or", "??"})

_parsers = threading.local()


def language_for(path: str) -> str | None:
    """The grammar name for a file path, or None when no grammar applies."""
    return _EXTENSIONS.get(PurePosixPath(path).suffix.lower())


@cache
def _language(name: str) -> ts.Language:
    module, factory = _GRAMMARS[name]
    return ts.Language(getattr(importlib.import_module(module), factory)())


def _parser(name: str) -> ts.Parser:
    # Parsers are not thread-safe; analyzers run in threads, so keep one per thread.
    cached: dict[str, ts.Parser] | None = getattr(_parsers, "by_lang", None)
    if cached is None:
        cached = {}
        _parsers.by_lang = cached
    if name not in cached:
        cached[name] = ts.Parser(_language(name))
    return cached[name]


def parse(source: bytes, lang: str) -> ts.Tree:
    """Parse source bytes with the named grammar.

    Raises:
        KeyError: the language is not one of LANGUAGES.
    """
    return _parser(lang).parse(source)


def _walk(node: ts.Node) -> Iterator[ts.Node]:
    cursor = node.walk()
    visited_children = False
    while True:
        if not visited_children:
            current = cursor.node
            if current is not None:
                yield current
            if cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited_children = False
        elif cursor.goto_parent():
            visited_children = True
        else:
            return


def error_nodes(tree: ts.Tree) -> list[tuple[int, int, str]]:
    """Syntax errors as (first line, last line, description), 1-based lines.

    An ERROR node covers text the grammar could not place; a MISSING node is a token the
    parser inserted (a closing bracket, a colon). Nested ERROR nodes are reported once.
    """
    out: list[tuple[int, int, str]] = []
    if not tree.root_node.has_error:
        return out
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if not node.has_error:
            continue
        if node.is_missing:
            out.append((node.start_point[0] + 1, node.start_point[0] + 1, f"missing {node.type!r}"))
            continue
        if node.is_error:
            first = node.start_point[0] + 1
            last = max(first, node.end_point[0] + 1 - (1 if node.end_point[1] == 0 else 0))
            snippet = (node.text or b"").decode("utf-8", "replace").strip().split("\n")[0][:40]
            out.append((first, last, f"unexpected {snippet!r}" if snippet else "syntax error"))
            continue
        stack.extend(reversed(node.children))
    out.sort()
    return out


@dataclass(frozen=True, slots=True)
class Symbol:
    """A definition in a file: function, method, class, type, ..."""

    name: str
    kind: str
    start_line: int
    end_line: int
    signature: str
    parent: str | None
    public: bool

    @property
    def qualname(self) -> str:
        """`Parent.name` for members, `name` otherwise."""
        return f"{self.parent}.{self.name}" if self.parent else self.name

    @property
    def is_function(self) -> bool:
        """True for functions, methods and constructors."""
        return self.kind in _FUNCTION_KINDS


def _name_of(node: ts.Node, lang: str) -> str | None:
    name = node.child_by_field_name("name")
    if name is not None:
        return (name.text or b"").decode("utf-8", "replace")
    if lang in ("c", "cpp") and node.type == "function_definition":
        decl = node.child_by_field_name("declarator")
        while decl is not None:
            if decl.type in (
                "identifier",
                "field_identifier",
                "qualified_identifier",
                "destructor_name",
                "operator_name",
            ):
                return (decl.text or b"").decode("utf-8", "replace")
            decl = decl.child_by_field_name("declarator")
    return None


def _is_public(node: ts.Node, name: str, lang: str, kind: str, parent_public: bool) -> bool:
    if lang == "python":
        return (parent_public and not name.startswith("_")) or name in ("__init__", "__call__")
    if lang == "go":
        return name[:1].isupper()
    if lang in ("javascript", "typescript", "tsx"):
        if kind == "method":
            return parent_public and not name.startswith(("_", "#"))
        parent = node.parent
        return parent is not None and parent.type == "export_statement"
    if lang == "rust":
        return any(c.type == "visibility_modifier" for c in node.children)
    if lang in ("java", "csharp"):
        if any(c.type in ("modifiers", "modifier") and b"public" in (c.text or b"") for c in node.children):
            return True
        return lang == "java" and kind in _FUNCTION_KINDS and _in_interface(node)
    if lang in ("c", "cpp"):
        return not any(c.type == "storage_class_specifier" and c.text == b"static" for c in node.children)
    return not name.startswith("_")


def _in_interface(node: ts.Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type == "interface_declaration":
            return True
        if parent.type in ("class_declaration", "enum_declaration"):
            return False
        parent = parent.parent
    return False


_SPACE = re.compile(r"\s+")


def _signature(node: ts.Node, source: bytes) -> str:
    body = node.child_by_field_name("body")
    end = body.start_byte if body is not None else node.end_byte
    text = source[node.start_byte : min(end, node.start_byte + 400)].decode("utf-8", "replace")
    if node.type in ("function_definition", "class_definition") and ":" in text:
        text = text[: text.rfind(":")]  # Python: drop a comment between the colon and the body
    return _SPACE.sub(" ", text).strip().rstrip(":{").strip()


def definitions(tree: ts.Tree, source: bytes, lang: str) -> list[tuple[Symbol, ts.Node]]:
    """Every definition with its tree node, outermost first."""
    defs = _DEFINITIONS.get(lang, {})
    out: list[tuple[Symbol, ts.Node]] = []

    def visit(node: ts.Node, parent: str | None, parent_public: bool) -> None:
        for child in node.children:
            kind = defs.get(child.type)
            name = _name_of(child, lang) if kind is not None else None
            if kind is None or not name:
                visit(child, parent, parent_public)
                continue
            if parent is not None and kind == "function":
                kind = "method" if lang != "python" or parent[:1].isupper() else "function"
            public = _is_public(child, name, lang, kind, parent_public)
            symbol = Symbol(
                name=name,
                kind=kind,
                start_line=child.start_point[0] + 1,
                end_line=child.end_point[0] + 1,
                signature=_signature(child, source),
                parent=parent,
                public=public,
            )
            out.append((symbol, child))
            visit(child, name, public)

    visit(tree.root_node, None, True)
    return out


def symbols(tree: ts.Tree, source: bytes, lang: str) -> list[Symbol]:
    """Every definition in the tree, outermost first, with its parent's name."""
    return [sym for sym, _ in definitions(tree, source, lang)]


_IMPORT_TYPES = frozenset(
    {
        "import_statement",
        "import_from_statement",
        "import_declaration",
        "use_declaration",
        "preproc_include",
        "using_directive",
    }
)


def imports(tree: ts.Tree) -> list[tuple[int, str]]:
    """Import-like statements as (line, text)."""
    out = []
    for node in _walk(tree.root_node):
        if node.type in _IMPORT_TYPES or (
            node.type == "call_expression" and (node.text or b"").startswith(b"require(")
        ):
            out.append((node.start_point[0] + 1, (node.text or b"").decode("utf-8", "replace")))
    return out


def comments(tree: ts.Tree) -> Iterator[tuple[int, int, str]]:
    """Comments as (first line, last line, text)."""
    for node in _walk(tree.root_node):
        if "comment" in node.type:
            text = (node.text or b"").decode("utf-8", "replace")
            yield node.start_point[0] + 1, node.end_point[0] + 1, text


_STRING_TYPES = frozenset(
    {
        "string",
        "string_literal",
        "interpreted_string_literal",
        "raw_string_literal",
        "template_string",
        "string_content",
        "verbatim_string_literal",
        "character_literal",
    }
)


def string_literals(tree: ts.Tree) -> Iterator[tuple[int, str, ts.Node]]:
    """Outermost string literals as (line, text, node)."""
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in _STRING_TYPES:
            yield node.start_point[0] + 1, (node.text or b"").decode("utf-8", "replace"), node
            continue
        stack.extend(node.children)


def complexity(node: ts.Node) -> int:
    """Cyclomatic complexity of a definition: 1 + branches + boolean operators."""
    total = 1
    for child in _walk(node):
        t = child.type
        if (child.is_named and t in _DECISIONS) or (not child.is_named and t in _BOOLEAN_OPERATORS):
            total += 1
    return total
