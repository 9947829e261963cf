"""One model-backed lane: ask the lane's model about each chunk, check what it says, have it verified.

For each chunk the lane sends the shared prefix and its own instructions, turns the reply
into findings, drops any whose path is not in the chunk, whose quoted code is not at
(or near) the line it names, or which cite a symbol that exists nowhere in the change;
then the reviewer pass judges the rest and the critic pass challenges the severe ones.
Analyzer findings the lane owns are always kept, whatever happens to the model calls.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from swarm_core.config import SwarmConfig
from swarm_core.errors import LimitReached, MemoryStoreError, ModelSelectionError, ProviderError
from swarm_core.judge import critic_pass, reviewer_pass
from swarm_core.lanes.schema import LaneFinding, LaneReply
from swarm_core.llm import ModelCaller, prompt
from swarm_core.memory import RunMemory
from swarm_core.models import (
    Finding,
    Lane,
    LaneResult,
    LaneStatus,
    Severity,
    Side,
    Usage,
    Verification,
)
from swarm_core.providers import Message
from swarm_core.router import Router, Selection
from swarm_core.sources import Contents
from swarm_core.verify import check_symbols, relocate

__all__ = ["LaneJob", "LaneOutcome", "estimate_tokens_for", "run_model_lane"]

_SLUG = re.compile(r"[^a-z0-9]+")
_SUSPICIOUS_CONFIDENCE = 0.59


@dataclass(frozen=True)
class LaneJob:
    """Everything a lane needs for one run, shared by the lanes (read-only)."""

    config: SwarmConfig
    router: Router
    caller: ModelCaller
    contents: Contents | None
    chunks: tuple[tuple[tuple[str, ...], tuple[Message, ...]], ...]  # (paths, shared messages)
    names: frozenset[str] | None
    memory: RunMemory | None = None
    council: bool = False


@dataclass
class LaneOutcome:
    """A lane's result plus the verification counts of the findings it dropped or kept."""

    result: LaneResult
    counts: Counter[str] = field(default_factory=Counter)
    downgraded: int = 0
    summary: str = ""
    dropped: list[str] = field(default_factory=list)


def estimate_tokens_for(job: LaneJob) -> tuple[int, int]:
    """(input, output) tokens one lane call is expected to take, for the router's estimates."""
    tokens = sum(len(m.content) for _, msgs in job.chunks for m in msgs) // 4 + 800
    return tokens, job.config.llm.max_output_tokens // 2


def _selection_for(role: str, job: LaneJob, lane_selection: Selection) -> Selection:
    """The reviewer/critic model: a configured one (a real second opinion), else the lane's."""
    policy = job.router.policy
    configured = {"reviewer": policy.reviewer, "critic": policy.critic}.get(role)
    if configured:
        return job.router.select(role)
    return lane_selection


def _pass_args(
    role: str, job: LaneJob, selection: Selection, shared: Sequence[Message], findings: Sequence[Finding]
) -> tuple[ModelCaller, Selection, Sequence[Message], Sequence[Finding], Contents | None]:
    return job.caller, _selection_for(role, job, selection), shared, findings, job.contents


def _analyzer_section(findings: Sequence[Finding], paths: Sequence[str]) -> str:
    mine = [f for f in findings if f.path in paths]
    if not mine:
        return "Deterministic analyzers found nothing your lane owns in this part of the change."
    rows = [f"- {f.location()} [{f.severity.value}] {f.rule}: {f.title}" for f in mine[:40]]
    return (
        "Deterministic analyzers already reported these (confirmed; do not repeat them, "
        "look for what they cannot see):\n" + "\n".join(rows)
    )


async def _memory_section(job: LaneJob) -> str:
    if job.memory is None:
        return ""
    try:
        entries = await job.memory.list()
    except MemoryStoreError:
        return ""
    if not entries:
        return ""
    rows = [f"- {e.key} (from {e.created_by or 'a lane'}): {e.value}" for e in entries[:30]]
    return "Notes from other lanes (swarm memory):\n" + "\n".join(rows)


def _to_finding(raw: LaneFinding, lane: Lane, model: str, council_status: str | None) -> Finding:
    category = _SLUG.sub("-", raw.category.lower()).strip("-") or "issue"
    confidence = raw.confidence
    if council_status == "SUSPICIOUS":
        confidence = min(confidence, _SUSPICIOUS_CONFIDENCE)
    end = (
        raw.end_line
        if raw.end_line is not None and raw.line is not None and raw.end_line > raw.line
        else None
    )
    return Finding(
        path=raw.path.strip().removeprefix("a/").removeprefix("b/"),
        line=raw.line,
        end_line=end,
        side=Side(raw.side),
        severity=Severity(raw.severity),
        lane=lane,
        category=category,
        rule=f"llm/{category}",
        title=raw.title.strip(),
        message=raw.claim.strip(),
        source=f"model:{model}",
        evidence=raw.evidence.strip("\n"),
        suggestion=raw.suggestion,
        cwe=raw.cwe,
        confidence=confidence,
        verification=Verification.UNVERIFIED,
        symbols=tuple(s for s in raw.symbols if s.strip())[:10],
    )


def _check(f: Finding, paths: Sequence[str], job: LaneJob) -> tuple[Finding | None, str]:
    """Deterministic checks before any model judges: path, anchoring, symbols."""
    if f.path not in paths:
        return None, f"path {f.path!r} is not in this part of the diff"
    moved = relocate(f, job.contents)
    if moved is None:
        return None, f"the quoted code is not at or near {f.location()}"
    missing = check_symbols(moved, job.names)
    if missing is not None:
        return None, f"cites {missing!r}, which exists nowhere in the change"
    return moved, ""


async def run_model_lane(
    lane: Lane,
    owned: Sequence[Finding],
    job: LaneJob,
    *,
    focus: str = "",
    previous: str = "",
    selection: Selection | ModelSelectionError | None = None,
) -> LaneOutcome:
    """Run one lane with its model; never raises (a failure becomes a FAILED or CUT LaneResult).

    `selection` is the router's choice made for all lanes at once (cache affinity); None
    asks the router for this lane alone.
    """
    started = time.perf_counter()
    outcome = LaneOutcome(LaneResult(lane, LaneStatus.OK))
    model_findings: list[Finding] = []
    chosen: Selection | None = None
    status = LaneStatus.OK
    note = ""
    try:
        if isinstance(selection, ModelSelectionError):
            raise selection
        if selection is None:
            est_in, est_out = estimate_tokens_for(job)
            selection = job.router.select(lane.value, est_in, est_out)
        chosen = selection
        async with asyncio.timeout(job.config.llm.limits.lane_timeout_seconds):
            await _run(lane, owned, job, chosen, focus, previous, model_findings, outcome)
    except LimitReached as exc:
        status, note = LaneStatus.CUT, f"cut: {exc}"
    except ModelSelectionError as exc:
        status, note = LaneStatus.FAILED, f"no model: {exc}"
    except ProviderError as exc:  # before TimeoutError: ProviderTimeout is one too
        status, note = LaneStatus.FAILED, f"model call failed: {exc}"
    except TimeoutError:
        status = LaneStatus.CUT
        note = f"cut: lane timeout ({job.config.llm.limits.lane_timeout_seconds:g} s)"
    except Exception as exc:  # boundary: a lane's bug never loses the review
        status, note = LaneStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}"
    for f in model_findings:
        outcome.counts[f.verification.value] += 1
    kept = [f for f in model_findings if f.verification in (Verification.CONFIRMED, Verification.UNVERIFIED)]
    usage = _usage_of(job, lane)
    outcome.result = LaneResult(
        lane,
        status,
        (*owned, *kept),
        note=note or (outcome.summary[:300] if outcome.summary else ""),
        model=chosen.model if chosen else "",
        model_reason=chosen.reason if chosen else "",
        usage=usage,
        duration_s=round(time.perf_counter() - started, 3),
    )
    return outcome


def _usage_of(job: LaneJob, lane: Lane) -> Usage:
    """Usage of this lane's calls, read from the evidence (includes failed and cut calls)."""
    total = Usage()
    for ex in job.caller.exchanges:
        if ex.lane == lane.value:
            total = total + ex.usage
    return total


async def _run(
    lane: Lane,
    owned: Sequence[Finding],
    job: LaneJob,
    selection: Selection,
    focus: str,
    previous: str,
    model_findings: list[Finding],
    outcome: LaneOutcome,
) -> None:
    llm = job.config.llm
    instructions = prompt(f"{lane.value}.md").strip()
    if job.council:
        instructions += "\n\n" + prompt("council.md").strip()
    statuses: list[str] = []
    for paths, shared in job.chunks:
        coordinator = f"Your lead asks you to look at: {focus}" if focus else ""
        if previous:
            coordinator = (coordinator + "\n\n" if coordinator else "") + previous
        tail = prompt("lane.md").format(
            lane=lane.value,
            focus=_focus_text(lane),
            instructions=instructions,
            analyzer_section=_analyzer_section(owned, paths),
            memory_section=await _memory_section(job),
            coordinator_section=coordinator,
        )
        messages = [*shared, Message("user", _squeeze(tail))]
        reply, model, _ = await job.caller.ask(
            kind="lane", lane=lane.value, selection=selection, messages=messages, schema=LaneReply
        )
        if reply.status:
            statuses.append(reply.status)
        if reply.summary:
            outcome.summary = (outcome.summary + " " + reply.summary).strip()
        if job.memory is not None:
            try:
                for n in reply.notes[:10]:
                    await job.memory.set(f"{lane.value}/{n.key}", n.value, created_by=lane.value)
            except MemoryStoreError as exc:
                outcome.dropped.append(f"memory notes not shared: {exc}")
        chunk_findings: list[Finding] = []
        for raw in reply.findings[:40]:
            f = _to_finding(raw, lane, model, reply.status)
            checked, why = _check(f, paths, job)
            if checked is None:
                outcome.dropped.append(f"{f.location()} {f.title}: {why}")
                outcome.counts[Verification.DISPROVED.value] += 1
                outcome.counts["dropped_by_checks"] += 1
                continue
            chunk_findings.append(checked)
        if not chunk_findings:
            continue
        start = len(model_findings)
        model_findings.extend(chunk_findings)  # kept as UNVERIFIED if a limit cuts the passes
        judged = chunk_findings
        if llm.reviewer:
            args = _pass_args("reviewer", job, selection, shared, judged)
            judged, _, _ = await reviewer_pass(*args, lane=lane.value)
            model_findings[start:] = judged
        if llm.critic:
            args = _pass_args("critic", job, selection, shared, judged)
            judged, downgraded, _ = await critic_pass(*args, lane=lane.value)
            outcome.downgraded += downgraded
        model_findings[start:] = judged
    if job.council and statuses:
        order = ["EVIDENCE_FOUND", "SUSPICIOUS", "CLEAN"]
        outcome.summary = f"council: {min(statuses, key=order.index)}. {outcome.summary}".strip()


def _focus_text(lane: Lane) -> str:
    from swarm_core.lanes import LANE_FOCUS

    return LANE_FOCUS[lane]


def _squeeze(text: str) -> str:
    """Collapse the blank lines left by empty template sections."""
    return re.sub(r"\n{3,}", "\n\n", text).strip()
