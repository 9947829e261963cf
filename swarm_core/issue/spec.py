"""With a model: rerank the localized candidates, hypotheses with how to falsify them, a fix strategy,
acceptance criteria, and on request a patch (`--trace`) and a reproduction test.

A proposed patch is shown only after `git apply --check` accepts it against the files it
touches and the syntax analyzer finds no new parse error in the patched files; a patch
that fails either is reported as rejected, with the reason. Nothing is ever executed.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from swarm_core import codegraph
from swarm_core.config import SwarmConfig
from swarm_core.errors import LimitReached, ModelSelectionError, ProviderError
from swarm_core.issue.index import RepoIndex
from swarm_core.issue.localize import Localization
from swarm_core.issue.symptoms import Intake
from swarm_core.lanes.context import untrusted
from swarm_core.model_calls import ModelCaller, prompt
from swarm_core.models import Exchange
from swarm_core.providers import Message, ProviderPool
from swarm_core.router import ModelTable, Router, load_table

__all__ = ["FixSpec", "Patch", "check_patch", "specify", "specify_with"]

_LENIENT = ConfigDict(extra="ignore")
_EXCERPT_LINES = 80


class _Rank(BaseModel):
    model_config = _LENIENT
    path: str
    reason: str = ""


class _Hypothesis(BaseModel):
    model_config = _LENIENT
    cause: str = Field(min_length=1)
    files: list[str] = Field(default_factory=list)
    falsify: str = ""


class _SpecReply(BaseModel):
    model_config = _LENIENT
    rerank: list[_Rank] = Field(default_factory=list)
    hypotheses: list[_Hypothesis] = Field(min_length=1)
    strategy: str = ""
    acceptance: list[str] = Field(default_factory=list)


class _TraceReply(BaseModel):
    model_config = _LENIENT
    patch: str = Field(min_length=1)
    explanation: str = ""


class _ReproReply(BaseModel):
    model_config = _LENIENT
    path: str
    code: str = Field(min_length=1)


@dataclass(frozen=True)
class Patch:
    """A proposed patch and whether it passed the checks."""

    diff: str
    explanation: str
    applies: bool
    reason: str = ""


@dataclass
class FixSpec:
    """The model's part of an issue analysis."""

    model: str = ""
    rerank: list[tuple[str, str]] = field(default_factory=list)
    hypotheses: list[tuple[str, tuple[str, ...], str]] = field(default_factory=list)
    strategy: str = ""
    acceptance: list[str] = field(default_factory=list)
    patch: Patch | None = None
    repro: tuple[str, str] | None = None
    error: str = ""
    exchanges: tuple[Exchange, ...] = ()  # the model calls, kept as the run's evidence


def _candidates(loc: Localization, index: RepoIndex) -> str:
    # Paths and the evidence quoting them come from the repository and the issue: fenced.
    rows = [f"{n}. {f.path}: {'; '.join(f.evidence[:3])}" for n, f in enumerate(loc.files[:8], 1)]
    parts = ["## Candidates (from the localizer)", untrusted("candidate files", "\n".join(rows), limit=10**9)]
    for fn in loc.functions[:5]:
        doc = index.docs.get(fn.path)
        if doc is None:
            continue
        lines = doc.text.splitlines()[fn.start - 1 : min(fn.end, fn.start - 1 + _EXCERPT_LINES)]
        body = "\n".join(f"{fn.start + i:>5} {line}" for i, line in enumerate(lines))
        parts.append(untrusted(f"{fn.path}:{fn.start}-{fn.end} {fn.name}", body, limit=10**9))
    return "\n\n".join(parts)


def _files(paths: list[str], index: RepoIndex, limit: int = 3) -> str:
    parts = []
    for path in paths[:limit]:
        doc = index.docs.get(path)
        if doc is not None:
            numbered = "\n".join(f"{n:>5} {line}" for n, line in enumerate(doc.text.splitlines(), 1))
            parts.append(untrusted(path, numbered[:40_000], limit=10**9))
    return "\n\n".join(parts)


def check_patch(diff: str, index: RepoIndex) -> Patch:
    """`git apply --check` against the indexed files, then a syntax check of the patched files."""
    with tempfile.TemporaryDirectory(prefix="swarm-patch-") as tmp:
        root = Path(tmp)
        touched = [p[6:].strip() for p in diff.splitlines() if p.startswith("+++ b/")]
        for path in touched:
            rel = PurePosixPath(path)
            if rel.is_absolute() or ".." in rel.parts:
                return Patch(diff, "", False, f"unsafe path {path!r}")
            doc = index.docs.get(path)
            if doc is not None:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text(doc.text, encoding="utf-8")
        (root / "fix.patch").write_text(diff if diff.endswith("\n") else diff + "\n", encoding="utf-8")
        for args in (["--check"], []):
            run = subprocess.run(
                ["git", "apply", *args, "fix.patch"], cwd=root, capture_output=True, text=True, check=False
            )
            if run.returncode != 0:
                first = (run.stderr.strip().splitlines() or ["git apply failed"])[0]
                return Patch(diff, "", False, f"git apply --check: {first}")
        for path in touched:
            lang = codegraph.language_for(path)
            target = root / path
            if lang is None or not target.exists():
                continue
            after = target.read_bytes()
            before = index.docs[path].text.encode() if path in index.docs else b""
            new_errors = len(codegraph.error_nodes(codegraph.parse(after, lang)))
            old_errors = len(codegraph.error_nodes(codegraph.parse(before, lang))) if before else 0
            if new_errors > old_errors:
                return Patch(diff, "", False, f"the patched {path} does not parse")
    return Patch(diff, "", True)


async def specify(
    intake: Intake,
    text: str,
    loc: Localization,
    index: RepoIndex,
    router: Router,
    caller: ModelCaller,
    *,
    trace: bool = False,
    repro: bool = True,
) -> FixSpec:
    """Ask the model for the fix specification (and a patch and a reproduction test when asked)."""
    spec = FixSpec()
    known = {f.path for f in loc.files}
    try:
        selection = router.select("reviewer")
        spec.model = selection.model
        system = Message("system", prompt("system.md"))
        issue = untrusted("issue", text, limit=12_000)
        reply, _, _ = await caller.ask(
            kind="issue-spec",
            lane="issue",
            selection=selection,
            messages=[
                system,
                Message(
                    "user", prompt("issue_spec.md").format(issue=issue, candidates=_candidates(loc, index))
                ),
            ],
            schema=_SpecReply,
        )
        spec.rerank = [(r.path, r.reason) for r in reply.rerank if r.path in known]
        spec.hypotheses = [(h.cause, tuple(h.files), h.falsify) for h in reply.hypotheses[:5]]
        spec.strategy = reply.strategy
        spec.acceptance = reply.acceptance[:8]
        top_cause = spec.hypotheses[0][0]
        files = [
            p
            for p in (*spec.hypotheses[0][1], *(r[0] for r in spec.rerank), *(f.path for f in loc.files))
            if p in index.docs
        ]
        files = list(dict.fromkeys(files))
        if trace:
            t, _, _ = await caller.ask(
                kind="issue-trace",
                lane="issue",
                selection=selection,
                messages=[
                    system,
                    Message(
                        "user",
                        prompt("issue_trace.md").format(
                            cause=top_cause, strategy=spec.strategy, files=_files(files, index)
                        ),
                    ),
                ],
                schema=_TraceReply,
            )
            checked = check_patch(t.patch, index)
            spec.patch = Patch(checked.diff, t.explanation, checked.applies, checked.reason)
        if repro:
            r, _, _ = await caller.ask(
                kind="issue-repro",
                lane="issue",
                selection=selection,
                messages=[
                    system,
                    Message(
                        "user",
                        prompt("issue_repro.md").format(cause=top_cause, files=_files(files, index, 2)),
                    ),
                ],
                schema=_ReproReply,
            )
            spec.repro = (r.path, r.code)
    except (LimitReached, ProviderError, ModelSelectionError) as exc:
        spec.error = f"{type(exc).__name__}: {exc}"
    return spec


async def specify_with(
    intake: Intake,
    text: str,
    loc: Localization,
    index: RepoIndex,
    config: SwarmConfig,
    pool: ProviderPool,
    *,
    model: str | None,
    table: ModelTable | None = None,
    trace: bool = False,
    repro: bool = True,
) -> FixSpec | None:
    """`specify` with fresh guardrails over the given providers; None when no model is configured."""
    table = table if table is not None else load_table()
    router = Router(table, config.models, pool.available, default=model)
    if not router.enabled:
        return None
    caller = ModelCaller.for_config(pool, table, config)
    try:
        spec = await specify(intake, text, loc, index, router, caller, trace=trace, repro=repro)
    finally:
        await pool.aclose()
    spec.exchanges = tuple(caller.exchanges)
    return spec
