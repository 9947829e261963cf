"""What every analyzer sees (AnalyzerContext) and what it implements (Analyzer)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

import tree_sitter as ts

from swarm_core import codegraph
from swarm_core.changeset import ChangeSet, split_lines
from swarm_core.config import SwarmConfig
from swarm_core.diff import FileDiff, FileStatus
from swarm_core.models import Finding, Side

__all__ = [
    "Analyzer",
    "AnalyzerContext",
    "Parsed",
    "is_doc_path",
    "is_test_path",
    "safe_relpath",
]


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed file: its grammar, source bytes and tree."""

    lang: str
    source: bytes
    tree: ts.Tree


_TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "specs", "testing", "e2e"})


def is_test_path(path: str) -> bool:
    """True for files that hold tests, by the conventions of the supported languages."""
    p = PurePosixPath(path)
    name = p.name
    if any(part in _TEST_DIRS for part in p.parts[:-1]):
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


def is_doc_path(path: str) -> bool:
    """True for documentation and changelog files."""
    p = PurePosixPath(path)
    upper = p.name.upper()
    return (
        p.suffix.lower() in _DOC_SUFFIXES
        or "docs" in p.parts[:-1]
        or "doc" in p.parts[:-1]
        or upper.startswith(("CHANGELOG", "CHANGES", "HISTORY", "NEWS", "README"))
    )


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
        self.files = tuple(files)
        self.config = config
        self.workdir = workdir
        self._lock = threading.Lock()
        self._trees: dict[tuple[str, Side], Parsed | None] = {}
        self._write_locks = {Side.LEFT: asyncio.Lock(), Side.RIGHT: asyncio.Lock()}
        self._written: dict[Side, set[str]] = {Side.LEFT: set(), Side.RIGHT: set()}
        self._secrets: set[str] = set()
        self._notes: dict[str, list[str]] = {}

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
