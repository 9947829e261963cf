"""What every analyzer sees (AnalyzerContext) and what it implements (Analyzer)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

import tree_sitter as ts

from swarm_core import codegraph
from swarm_core.changeset import ChangeSet, split_lines
from swarm_core.config import SwarmConfig, paths_match
from swarm_core.diff import FileDiff, FileStatus
from swarm_core.models import Finding, Side

__all__ = [
    "Analyzer",
    "AnalyzerContext",
    "Parsed",
    "generated_or_vendored",
    "is_doc_path",
    "is_example_path",
    "is_example_tree",
    "is_private_module",
    "is_source_path",
    "is_test_path",
    "parse_gitattributes",
    "safe_relpath",
]


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed file: its grammar, source bytes and tree."""

    lang: str
    source: bytes
    tree: ts.Tree


_TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "specs", "testing", "e2e"})
_NAME_WORDS = re.compile(r"[-_.]+")
# Trees that ship nothing importable: their code shows usage or drives development.
_EXAMPLE_WORDS = frozenset({"example", "examples", "sample", "samples", "demo", "demos"})
_TOOLING_DIRS = frozenset({"docs_src", "scripts", "benchmarks", "bench"})
# At the repository's root only (a package may ship a `fuzz` module): fuzzing harnesses, and
# development task files that drive tests and releases.
_ROOT_TOOLING_DIRS = frozenset({"fuzz", "fuzzing"})
_TOOLING_FILES = frozenset({"noxfile.py", "tasks.py", "fabfile.py", "dodo.py"})


def _words(part: str) -> set[str]:
    return set(_NAME_WORDS.split(part.lower()))


def is_test_path(path: str) -> bool:
    """True for files that hold tests, by the conventions of the supported languages.

    A directory counts when it is a test directory or one of its words is (`typing_tests/`).
    """
    p = PurePosixPath(path)
    name = p.name
    if any(part in _TEST_DIRS or _words(part) & {"test", "tests"} for part in p.parts[:-1]):
        return True
    stem = name.split(".", 1)[0]
    return (
        name.startswith("test_")
        or stem.endswith(("_test", "_spec", "Test", "Tests", "Spec"))
        or ".test." in name
        or ".spec." in name
        or name == "conftest.py"
    )


_DOC_SUFFIXES = frozenset({".md", ".rst", ".txt", ".adoc", ".mdx"})


# Where release-note tools keep one file per change: reno, towncrier, scriv, changesets.
_NEWS_FRAGMENT_DIRS = frozenset(
    {
        "releasenotes",
        "newsfragments",
        "changelog.d",
        "changes.d",
        "news",
        "changes",
        ".changeset",
        "changelog",
    }
)


def _is_news_fragment(p: PurePosixPath) -> bool:
    """A file in a release-note tool's directory at the repository's root (or under docs/)."""
    dirs = [d.lower() for d in p.parts[:-1]]
    if dirs[:1] in (["docs"], ["doc"]):
        dirs = dirs[1:]
    return bool(dirs) and dirs[0] in _NEWS_FRAGMENT_DIRS


def is_doc_path(path: str) -> bool:
    """True for documentation and changelog files, release-note fragments among them (not code)."""
    p = PurePosixPath(path)
    upper = p.name.upper()
    return (
        p.suffix.lower() in _DOC_SUFFIXES
        or "docs" in p.parts[:-1]
        or "doc" in p.parts[:-1]
        or upper.startswith(("CHANGELOG", "CHANGES", "HISTORY", "NEWS", "README"))
        or (_is_news_fragment(p) and codegraph.language_for(path) is None)
    )


def is_example_tree(path: str) -> bool:
    """True for example, sample and demo trees (`examples/`, `typing-examples/`): code that shows usage."""
    return any(_words(part) & _EXAMPLE_WORDS for part in PurePosixPath(path).parts[:-1])


def is_example_path(path: str) -> bool:
    """True for example trees and development code: `scripts/`, `benchmarks/`, root `fuzz/` and task files."""
    p = PurePosixPath(path)
    if len(p.parts) == 1 and p.name in _TOOLING_FILES:
        return True
    if len(p.parts) > 1 and p.parts[0] in _ROOT_TOOLING_DIRS:
        return True
    return is_example_tree(path) or any(part in _TOOLING_DIRS for part in p.parts[:-1])


def is_source_path(path: str) -> bool:
    """True for shipped code: a language with a grammar, outside test, doc and example trees."""
    return (
        codegraph.language_for(path) is not None
        and not is_test_path(path)
        and not is_doc_path(path)
        and not is_example_path(path)
    )


def is_private_module(path: str) -> bool:
    """True when a directory or the module itself is private by Python's leading-underscore rule."""
    p = PurePosixPath(path)
    names = [*p.parts[:-1], p.name.split(".", 1)[0]]
    return any(n.startswith("_") and not (n.startswith("__") and n.endswith("__")) for n in names)


_GENERATED_ATTRS = frozenset({"linguist-generated", "linguist-vendored"})


def parse_gitattributes(data: bytes | None) -> list[tuple[str, bool]]:
    """(pattern, generated-or-vendored) rules of a `.gitattributes` file, in file order."""
    rules: list[tuple[str, bool]] = []
    for raw in (data or b"").decode("utf-8", "replace").splitlines():
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        for attr in fields[1:]:
            name, _, value = attr.lstrip("-!").partition("=")
            if name in _GENERATED_ATTRS:
                unset = attr.startswith(("-", "!")) or value.lower() in ("false", "0")
                rules.append((fields[0], not unset))
    return rules


def generated_or_vendored(rules: list[tuple[str, bool]], path: str) -> bool:
    """True when the last `.gitattributes` rule matching `path` marks it generated or vendored."""
    verdict = False
    for pattern, marked in rules:
        # .gitattributes patterns read as .gitignore's: anchored when they hold a slash.
        if paths_match([pattern], path):
            verdict = marked
    return verdict


def safe_relpath(path: str) -> PurePosixPath | None:
    """The path as a relative path that cannot leave its root, or None when it would."""
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        return None
    return p


class AnalyzerContext:
    """Shared, thread-safe access to the change for all analyzers of one review.

    Parse trees are cached per (path, side); files are written to a private work
    directory at most once per side when an external tool needs them on disk.
    """

    def __init__(
        self,
        change: ChangeSet,
        files: Sequence[FileDiff],
        config: SwarmConfig,
        workdir: Path,
    ) -> None:
        self.change = change
        self._all_files = tuple(files)
        self._files: tuple[FileDiff, ...] | None = None
        self._listing: dict[Side, tuple[str, ...] | None] = {}
        self.config = config
        self.workdir = workdir
        self._lock = threading.Lock()
        self._trees: dict[tuple[str, Side], Parsed | None] = {}
        self._defs: dict[tuple[str, Side], list[tuple[codegraph.Symbol, ts.Node]]] = {}
        self._write_locks = {Side.LEFT: asyncio.Lock(), Side.RIGHT: asyncio.Lock()}
        self._written: dict[Side, set[str]] = {Side.LEFT: set(), Side.RIGHT: set()}
        self._secrets: set[str] = set()
        self._notes: dict[str, list[str]] = {}

    @property
    def files(self) -> tuple[FileDiff, ...]:
        """The changed files, less those `.gitattributes` marks linguist-generated or -vendored."""
        if self._files is None:
            rules = parse_gitattributes(self.read(".gitattributes", Side.LEFT))
            kept = tuple(f for f in self._all_files if not generated_or_vendored(rules, f.path))
            with self._lock:
                self._files = kept
        return self._files

    def paths(self, side: Side) -> tuple[str, ...] | None:
        """Every file path of one side's tree, when the source can list it (a local repository)."""
        with self._lock:
            if side in self._listing:
                return self._listing[side]
        lister = getattr(self.change.contents, "paths", None)
        listing = tuple(lister(side)) if callable(lister) else None
        with self._lock:
            self._listing[side] = listing
        return listing

    # -- contents -------------------------------------------------------------------------
    def read(self, path: str, side: Side) -> bytes | None:
        """Bytes of a file at base (LEFT) or head (RIGHT), None when unavailable."""
        return self.change.contents.read(path, side)

    def old_path(self, fd: FileDiff) -> str:
        """The path a file had at base."""
        return fd.old_path or fd.path

    def head(self, fd: FileDiff) -> bytes | None:
        """The head version of a changed file (None for deletions and unavailable files)."""
        if fd.status == FileStatus.DELETED or fd.binary:
            return None
        return self.read(fd.path, Side.RIGHT)

    def base(self, fd: FileDiff) -> bytes | None:
        """The base version of a changed file (None for additions and unavailable files)."""
        if fd.status == FileStatus.ADDED or fd.binary:
            return None
        return self.read(fd.path, Side.LEFT)

    def parsed(self, fd: FileDiff, side: Side) -> Parsed | None:
        """The file parsed with its grammar on that side, cached; None without grammar or content."""
        key = (fd.path, side)
        with self._lock:
            if key in self._trees:
                return self._trees[key]
        lang = codegraph.language_for(fd.path)
        data = self.head(fd) if side is Side.RIGHT else self.base(fd)
        parsed = None
        if lang is not None and data is not None:
            parsed = Parsed(lang, data, codegraph.parse(data, lang))
        with self._lock:
            self._trees[key] = parsed
        return parsed

    def definitions(self, fd: FileDiff, side: Side) -> list[tuple[codegraph.Symbol, ts.Node]]:
        """The file's definitions on that side (cached: several analyzers walk the same tree)."""
        key = (fd.path, side)
        with self._lock:
            cached = self._defs.get(key)
        if cached is not None:
            return cached
        parsed = self.parsed(fd, side)
        defs = codegraph.definitions(parsed.tree, parsed.source, parsed.lang) if parsed is not None else []
        with self._lock:
            self._defs[key] = defs
        return defs

    @staticmethod
    def line_text(source: bytes | None, line: int) -> str:
        """The text of a 1-based line of a source, or '' when out of range."""
        if source is None or line < 1:
            return ""
        lines = split_lines(source)
        return lines[line - 1] if line <= len(lines) else ""

    # -- files on disk ----------------------------------------------------------------------
    async def materialize(self, side: Side, paths: Iterable[str]) -> Path:
        """Write changed files of one side under the work directory (each at most once); return its root."""
        root = self.workdir / ("head" if side is Side.RIGHT else "base")
        async with self._write_locks[side]:
            missing = [p for p in dict.fromkeys(paths) if p not in self._written[side]]
            if missing:
                self._written[side].update(await asyncio.to_thread(self._write, root, side, missing))
        return root

    def _write(self, root: Path, side: Side, paths: Sequence[str]) -> list[str]:
        written = []
        for path in paths:
            rel = safe_relpath(path)
            if rel is None:
                continue
            data = self.read(path, side)
            if data is None:
                continue
            target = root.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written.append(path)
        return written

    # -- redaction ----------------------------------------------------------------------------
    def register_secret(self, value: str) -> None:
        """Record a secret value so that every output redacts it."""
        if value:
            with self._lock:
                self._secrets.add(value)

    @property
    def secrets(self) -> frozenset[str]:
        """Every secret value registered so far."""
        with self._lock:
            return frozenset(self._secrets)

    # -- notes ------------------------------------------------------------------------------------
    def add_note(self, analyzer: str, text: str) -> None:
        """Record a line the review shows beside an analyzer that ran (a part of it could not)."""
        with self._lock:
            self._notes.setdefault(analyzer, []).append(text)

    def notes(self, analyzer: str) -> tuple[str, ...]:
        """The notes recorded for one analyzer."""
        with self._lock:
            return tuple(self._notes.get(analyzer, ()))


class Analyzer(Protocol):
    """A deterministic gate. `unavailable` returns a reason to skip, or None to run."""

    name: str

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Why this analyzer cannot run on this change, or None."""
        ...

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Findings the change introduces."""
        ...
