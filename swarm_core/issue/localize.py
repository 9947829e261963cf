"""Fault localization without a model: rank files and functions for an issue, with the evidence for each.

Signals, combined after each is scaled to 0..1:
- BM25 of the issue text over the repository (paths and definition names boosted,
  identifiers split on snake_case and camelCase);
- definitions: names the issue mentions that the file defines (a rarer name counts more);
- stack frames mapped to repository paths (the innermost frames count most);
- modules and paths named in the issue (`astropy.modeling.separable`, `sphinx/ext/autodoc.py`);
- import-graph proximity: files imported by the files the definitions point at.
Test and documentation files are ranked down: a fix lives in the code.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from swarm_core.issue.index import Definition, RepoIndex, split_identifier, tokens
from swarm_core.issue.symptoms import Intake

__all__ = ["WEIGHTS", "FileRank", "FunctionRank", "Localization", "localize"]

WEIGHTS = {"bm25": 1.0, "defs": 1.3, "frames": 1.6, "modules": 1.0, "paths": 0.8, "imports": 0.25}
_KIND_FACTOR = {"source": 1.0, "test": 0.3, "doc": 0.25}
_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.M)
_MAX_DEFINERS = 12


@dataclass(frozen=True, slots=True)
class FileRank:
    """A candidate file: its score, a confidence (0-1) and the evidence that put it there."""

    path: str
    score: float
    confidence: float
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FunctionRank:
    """A candidate function or class in a candidate file."""

    path: str
    name: str
    kind: str
    start: int
    end: int
    score: float
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Localization:
    """Ranked files and functions, best first."""

    files: tuple[FileRank, ...]
    functions: tuple[FunctionRank, ...]


def _scaled(values: dict[str, float]) -> dict[str, float]:
    top = max(values.values(), default=0.0)
    return {k: v / top for k, v in values.items()} if top > 0 else {}


def _query(text: str, intake: Intake) -> dict[str, float]:
    counts: Counter[str] = Counter(tokens(text))
    counts.update(tokens(intake.title) * 2)
    for ident in intake.identifiers:
        counts.update(tokens(ident.replace(".", " ")))
    return {t: 1.0 + math.log(c) for t, c in counts.items()}


def _match_path(index: RepoIndex, written: str) -> list[str]:
    """Repository paths a path from a trace or the text refers to (longest suffix match)."""
    parts = written.replace("\\", "/").split("/")
    for start in range(len(parts)):
        suffix = "/".join(parts[start:])
        if not suffix:
            continue
        hits = [p for p in index.docs if p == suffix or p.endswith("/" + suffix)]
        if hits:
            return hits if len(hits) <= 3 else []
    return []


def _modules(index: RepoIndex, dotted: str) -> list[str]:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        base = "/".join(parts[:end])
        for candidate in (f"{base}.py", f"{base}/__init__.py"):
            hits = _match_path(index, candidate) if "/" in candidate else []
            if hits:
                return hits
    return []


def localize(intake: Intake, text: str, index: RepoIndex, *, top: int = 20) -> Localization:
    """Rank files and functions for an issue (`text`: its whole text, title included)."""
    evidence: dict[str, list[str]] = defaultdict(list)
    bm25 = _scaled(index.bm25(_query(text, intake)))
    defs: dict[str, float] = defaultdict(float)
    names = {i.rsplit(".", 1)[-1] for i in intake.identifiers}
    names |= set(re.findall(r"[A-Za-z_]\w{3,}", intake.title))
    for name in names:
        definers = index.defined.get(name, set())
        if not definers or len(definers) > _MAX_DEFINERS:
            continue
        weight = 1.0 / len(definers) * (1.5 if "_" in name or any(c.isupper() for c in name[1:]) else 1.0)
        for path in definers:
            defs[path] += weight
            evidence[path].append(f"defines `{name}`")
    frames: dict[str, float] = defaultdict(float)
    in_repo = [(frame, _match_path(index, frame.file)) for frame in intake.frames]
    in_repo = [(frame, hits) for frame, hits in in_repo if hits]
    for n, (frame, hits) in enumerate(in_repo):
        innermost = n == len(in_repo) - 1  # where the error surfaced, within the repository
        for path in hits:
            frames[path] += 2.0 if innermost else 0.5 + 0.5 * n / max(1, len(in_repo))
            evidence[path].append(f"stack frame {frame.file}:{frame.line} in {frame.function}")
    modules: dict[str, float] = defaultdict(float)
    for ident in intake.identifiers:
        if "." in ident:
            for path in _modules(index, ident):
                modules[path] += 1.0
                evidence[path].append(f"module `{ident}` named in the issue")
    paths: dict[str, float] = defaultdict(float)
    for written in intake.paths:
        for path in _match_path(index, written):
            paths[path] += 1.0
            evidence[path].append(f"path `{written}` named in the issue")
    anchors = sorted(defs, key=lambda p: -defs[p])[:5]
    imports: dict[str, float] = defaultdict(float)
    for anchor in anchors:
        for dotted in _IMPORT.findall(index.docs[anchor].text):
            for path in _modules(index, dotted[0] or dotted[1]):
                if path != anchor:
                    imports[path] += 1.0
    signals = {
        "bm25": bm25,
        "defs": _scaled(dict(defs)),
        "frames": _scaled(dict(frames)),
        "modules": _scaled(dict(modules)),
        "paths": _scaled(dict(paths)),
        "imports": _scaled(dict(imports)),
    }
    scores: dict[str, float] = defaultdict(float)
    for name, values in signals.items():
        for path, v in values.items():
            scores[path] += WEIGHTS[name] * v
    for path in scores:
        scores[path] *= _KIND_FACTOR[index.docs[path].kind]
        if bm25.get(path):
            evidence[path].append(f"text similarity {bm25[path]:.2f}")
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    best = ranked[0][1] if ranked else 1.0
    files = tuple(
        FileRank(p, round(s, 4), round(min(1.0, s / (best + 1.0)), 3), tuple(dict.fromkeys(evidence[p]))[:6])
        for p, s in ranked
    )
    return Localization(files, _functions(files[:10], index, intake, text))


def _functions(
    files: tuple[FileRank, ...], index: RepoIndex, intake: Intake, text: str
) -> tuple[FunctionRank, ...]:
    query = Counter(tokens(text))
    named = {i.rsplit(".", 1)[-1] for i in intake.identifiers}
    framed = {f.function.rsplit(".", 1)[-1] for f in intake.frames}
    innermost = intake.frames[-1].function.rsplit(".", 1)[-1] if intake.frames else ""
    out: list[FunctionRank] = []
    for rank, f in enumerate(files):
        doc = index.docs[f.path]
        lines = doc.text.splitlines()
        for d in doc.defs:
            body = "\n".join(lines[d.start - 1 : d.end])
            score, why = _function_score(d, body, query, named, framed, index)
            if d.name == innermost:
                score += 3.0  # where the error surfaced
            if score <= 0:
                continue
            out.append(
                FunctionRank(
                    f.path, d.name, d.kind, d.start, d.end, round(score * f.score / (1 + rank * 0.1), 4), why
                )
            )
    out.sort(key=lambda r: -r.score)
    return tuple(out[:20])


def _function_score(
    d: Definition, body: str, query: Counter[str], named: set[str], framed: set[str], index: RepoIndex
) -> tuple[float, tuple[str, ...]]:
    why = []
    score = 0.0
    if d.name in framed:
        score += 3.0
        why.append("in the stack trace")
    if d.name in named:
        score += 2.5
        why.append("named in the issue")
    parts = set(split_identifier(d.name))
    shared = [t for t in parts if t in query]
    if shared:
        score += 0.5 * len(shared)
    body_tokens = set(tokens(body))
    overlap = sum(index.idf(t) for t in body_tokens if t in query)
    score += overlap / (10.0 + math.sqrt(len(body_tokens) + 1))
    if d.kind == "class":
        score *= 0.8
    return score, tuple(why)
