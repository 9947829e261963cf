"""A lexical index of a repository at one commit: BM25 over paths, definitions and code (identifiers split).

Files are read from git objects (`git ls-tree` + one `git cat-file --batch`), never the
working tree. Each blob's tokens are cached by its SHA, so indexing the same repository
at another commit only tokenizes the files that changed.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BlobCache", "Definition", "FileDoc", "RepoIndex", "split_identifier", "tokens"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_DEF = re.compile(r"^([ \t]*)(?:async[ \t]+)?(def|class)[ \t]+([A-Za-z_]\w*)", re.M)
_STOP_WORDS = """a an and are as at be but by can do does for from has have how i if in into is it its
not of on or so such that the their then there these this to was we were when which while
with would you your self cls none true false return def class import pass else elif try
except raise yield lambda args kwargs get set new use used using should could"""
_STOP = frozenset(_STOP_WORDS.split())
SOURCE_SUFFIXES = frozenset(
    {".py", ".pyx", ".pyi", ".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".java", ".kt", ".go", ".rs"}
    | {".rb", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".php", ".scala", ".swift"}
)
DOC_SUFFIXES = frozenset({".rst", ".md", ".txt"})
_MAX_FILE = 1_000_000
_PATH_BOOST = 4
_DEF_BOOST = 3
K1, B = 1.2, 0.75


def split_identifier(ident: str) -> list[str]:
    """`parse_HTTPResponse` → parse, http, response (lowercase, 2+ characters)."""
    out = []
    for part in ident.split("_"):
        for piece in _CAMEL.findall(part):
            if len(piece) >= 2:
                out.append(piece.lower())
    return out


def tokens(text: str) -> list[str]:
    """Whole identifiers (lowercased) and their parts, without stopwords."""
    out: list[str] = []
    for ident in _IDENT.findall(text):
        low = ident.lower()
        if len(low) >= 2 and low not in _STOP:
            out.append(low)
        parts = split_identifier(ident)
        if len(parts) > 1:
            out.extend(p for p in parts if p not in _STOP)
    return out


@dataclass(frozen=True, slots=True)
class Definition:
    """A function or class: name, kind, and its line span (by indentation)."""

    name: str
    kind: str
    start: int
    end: int


@dataclass
class FileDoc:
    """One file's bag of tokens (path and definition names boosted) and its definitions."""

    path: str
    tf: Counter[str]
    length: int
    defs: tuple[Definition, ...] = ()
    kind: str = "source"
    text: str = field(default="", repr=False)


def _definitions(text: str) -> tuple[Definition, ...]:
    matches = list(_DEF.finditer(text))
    if not matches:
        return ()
    line_starts = [0]
    for m in re.finditer("\n", text):
        line_starts.append(m.end())
    import bisect

    out = []
    for i, m in enumerate(matches):
        indent = len(m.group(1).expandtabs())
        start = bisect.bisect_right(line_starts, m.start())
        end = len(line_starts)
        for later in matches[i + 1 :]:
            if len(later.group(1).expandtabs()) <= indent:
                end = bisect.bisect_right(line_starts, later.start()) - 1
                break
        out.append(Definition(m.group(3), m.group(2), start, end))
    return tuple(out)


def _kind(path: str) -> str:
    p = "/" + path.lower()
    suffix = Path(path).suffix.lower()
    if suffix in DOC_SUFFIXES:
        return "doc"
    if "/test" in p or "/tests/" in p or p.endswith("_test.py") or "/testing/" in p or "/conftest.py" in p:
        return "test"
    return "source"


def _doc(path: str, text: str) -> FileDoc:
    tf: Counter[str] = Counter(tokens(text))
    length = sum(tf.values())
    path_tokens = tokens(path.replace("/", " ").replace(".", " ").replace("-", " "))
    for t in path_tokens:
        tf[t] += _PATH_BOOST
    defs = _definitions(text) if path.endswith((".py", ".pyx", ".pyi")) else ()
    for d in defs:
        for t in tokens(d.name):
            tf[t] += _DEF_BOOST
    return FileDoc(path, tf, length + _PATH_BOOST * len(path_tokens), defs, _kind(path), text)


class BlobCache:
    """FileDocs by blob SHA: the same file at another commit is not tokenized again."""

    def __init__(self) -> None:
        self._docs: dict[str, FileDoc] = {}

    def get(self, sha: str, path: str) -> FileDoc | None:
        doc = self._docs.get(sha)
        if doc is None or doc.path == path:
            return doc
        return _doc(path, doc.text)  # the same content under another name: only the path part differs

    def put(self, sha: str, doc: FileDoc) -> None:
        self._docs[sha] = doc

    def retain(self, shas: set[str]) -> None:
        """Forget every blob not in `shas` (the newest tree): memory stays at one tree's worth."""
        for sha in [s for s in self._docs if s not in shas]:
            del self._docs[sha]


class RepoIndex:
    """BM25 over a repository's text files at one commit."""

    def __init__(self, docs: Mapping[str, FileDoc]) -> None:
        self.docs = dict(docs)
        self.df: Counter[str] = Counter()
        for d in self.docs.values():
            self.df.update(d.tf.keys())
        self.n = max(1, len(self.docs))
        self.avg = sum(d.length for d in self.docs.values()) / self.n if self.docs else 1.0
        self.defined: dict[str, set[str]] = {}
        for d in self.docs.values():
            for definition in d.defs:
                self.defined.setdefault(definition.name, set()).add(d.path)

    @classmethod
    def from_directory(cls, root: Path) -> RepoIndex:
        """An index of the text files under a directory (an extracted tarball); links are not followed."""
        docs: dict[str, FileDoc] = {}
        for path in sorted(root.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            if any(part.startswith(".") for part in rel.split("/")) or not _indexable(rel):
                continue
            if path.stat().st_size > _MAX_FILE:
                continue
            docs[rel] = _doc(rel, path.read_bytes().decode("utf-8", "replace"))
        return cls(docs)

    @classmethod
    def from_git(cls, repo: Path, ref: str, cache: BlobCache | None = None) -> RepoIndex:
        """An index of the text files of `ref` in a git repository (a bare one works too)."""
        cache = cache if cache is not None else BlobCache()
        listing = subprocess.run(
            ["git", "--git-dir", str(_git_dir(repo)), "ls-tree", "-r", "-z", "--long", ref],
            capture_output=True,
            check=True,
        ).stdout
        wanted: list[tuple[str, str]] = []
        docs: dict[str, FileDoc] = {}
        current: set[str] = set()
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            meta, _, raw_path = entry.partition(b"\t")
            _mode, kind, raw_sha, size = meta.split()
            path = raw_path.decode("utf-8", "replace")
            # A size that is not a number: the object is absent (a partial mirror); skip it.
            if kind != b"blob" or not size.isdigit() or int(size) > _MAX_FILE or not _indexable(path):
                continue
            blob = raw_sha.decode()
            current.add(blob)
            cached = cache.get(blob, path)
            if cached is not None:
                docs[path] = cached
            else:
                wanted.append((blob, path))
        if wanted:
            for (blob, path), data in zip(wanted, _cat(repo, [b for b, _ in wanted]), strict=True):
                doc = _doc(path, data.decode("utf-8", "replace"))
                cache.put(blob, doc)
                docs[path] = doc
        cache.retain(current)
        return cls(docs)

    def idf(self, term: str) -> float:
        """BM25's idf, never negative."""
        df = self.df.get(term, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def bm25(self, query: Mapping[str, float]) -> dict[str, float]:
        """BM25 score of every file with at least one query term (query: term → weight)."""
        scores: dict[str, float] = {}
        weights = {t: w * self.idf(t) for t, w in query.items() if t in self.df}
        for d in self.docs.values():
            s = 0.0
            norm = K1 * (1 - B + B * d.length / self.avg)
            for t, w in weights.items():
                f = d.tf.get(t)
                if f:
                    s += w * f * (K1 + 1) / (f + norm)
            if s:
                scores[d.path] = s
        return scores


def _indexable(path: str) -> bool:
    suffix = Path(path).suffix.lower()
    return suffix in SOURCE_SUFFIXES or suffix in DOC_SUFFIXES


def _git_dir(repo: Path) -> Path:
    return repo / ".git" if (repo / ".git").exists() else repo


def _cat(repo: Path, shas: Iterable[str]) -> list[bytes]:
    """Blob contents in order, with one `git cat-file --batch`."""
    shas = list(shas)
    out = subprocess.run(
        ["git", "--git-dir", str(_git_dir(repo)), "cat-file", "--batch"],
        input=("\n".join(shas) + "\n").encode(),
        capture_output=True,
        check=True,
    ).stdout
    blobs: list[bytes] = []
    pos = 0
    for _ in shas:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        start = header_end + 1
        blobs.append(out[start : start + size])
        pos = start + size + 1
    return blobs
