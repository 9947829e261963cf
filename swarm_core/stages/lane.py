"""One lane's run: its model pass over each chunk, the deterministic checks, then the reviewer and critic.

Per chunk, top to bottom: the lane's model reads the shared prefix and its own
instructions; its reply becomes findings; a finding whose path is not in the chunk, whose
quoted code is not at (or near) the line it names, or which cites a symbol that exists
nowhere in the change is dropped; the reviewer judges the rest (CONFIRMED / DISPROVED /
UNVERIFIED / PRE_EXISTING) and the critic argues against the confirmed HIGH and CRITICAL
ones (UPHELD / DOWNGRADED / DISPROVED), on a model of its own when one is configured.
Analyzer findings the lane owns are always kept, whatever happens to the model calls.

Model calls go through `LaneJob.caller` and model choice through `LaneJob.router`: seams
the lanes stage hands in, so this module never reaches back into the run that built them.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import replace

from swarm_core.citations import check_symbols, relocate
from swarm_core.errors import LimitReached, MemoryStoreError, ModelSelectionError, ProviderError
from swarm_core.lanes import LANE_FOCUS
from swarm_core.lanes.context import describe
from swarm_core.lanes.fence import untrusted
from swarm_core.lanes.job import LaneJob, LaneOutcome
from swarm_core.lanes.schema import CriticReply, LaneFinding, LaneReply, ReviewerReply
from swarm_core.models import Finding, Lane, LaneResult, LaneStatus, Severity, Side, Usage, Verification
from swarm_core.prompts import prompt
from swarm_core.providers import Deadline, Message, summarize
from swarm_core.router import Selection

__all__ = ["run_lane"]

logger = logging.getLogger(__name__)

_SLUG = re.compile(r"[^a-z0-9]+")
_SUSPICIOUS_CONFIDENCE = 0.59
_MAX_FINDINGS = 40  # per chunk: a runaway reply must not flood the judges
_BATCH = 25  # findings per reviewer or critic call


async def run_lane(
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
    asks the router for this lane alone. A failure is logged once, with its traceback.
    """
    started = time.perf_counter()
    outcome = LaneOutcome(LaneResult(lane, LaneStatus.OK))
    model_findings: list[Finding] = []
    chosen: Selection | None = None
    status = LaneStatus.OK
    note = ""
    error: BaseException | None = None
    try:
        if isinstance(selection, ModelSelectionError):
            raise selection
        if selection is None:
            selection = job.router.select(lane.value, *job.estimated_tokens())
        chosen = selection
        # The lane's own model time: waits for a busy server's slot do not count (the run's
        # max_wall_seconds still bounds everything, in the lanes stage).
        async with Deadline(job.config.llm.limits.lane_timeout_seconds):
            await _read_chunks(lane, owned, job, chosen, focus, previous, model_findings, outcome)
    except LimitReached as exc:
        status, note, error = LaneStatus.CUT, f"cut: {exc}", exc
    except ModelSelectionError as exc:
        status, note, error = LaneStatus.FAILED, f"no model: {exc}", exc
    except ProviderError as exc:  # before TimeoutError: ProviderTimeout is one too
        # For people, on one line at a word boundary; the evidence keeps the whole error.
        status, note, error = LaneStatus.FAILED, f"model call failed: {summarize(str(exc), 300)}", exc
    except TimeoutError as exc:
        status, error = LaneStatus.CUT, exc
        note = f"cut: lane timeout ({job.config.llm.limits.lane_timeout_seconds:g} s)"
    except Exception as exc:  # boundary: a lane's bug never loses the review
        status, note, error = LaneStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}", exc
    if error is not None:
        logger.log(
            logging.ERROR if status is LaneStatus.FAILED else logging.WARNING,
            "lane %s %s (run %s): %s",
            lane.value,
            status.value,
            job.run_id,
            note,
            exc_info=error,
            extra={"run_id": job.run_id, "lane": lane.value},
        )
    for f in model_findings:
        outcome.counts[f.verification.value] += 1
    kept = [f for f in model_findings if f.verification in (Verification.CONFIRMED, Verification.UNVERIFIED)]
    outcome.result = LaneResult(
        lane,
        status,
        (*owned, *kept),
        note=note or (outcome.summary[:300] if outcome.summary else ""),
        model=chosen.model if chosen else "",
        model_reason=chosen.reason if chosen else "",
        usage=_usage_of(job, lane),
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


async def _read_chunks(
    lane: Lane,
    owned: Sequence[Finding],
    job: LaneJob,
    selection: Selection,
    focus: str,
    previous: str,
    model_findings: list[Finding],
    outcome: LaneOutcome,
) -> None:
    """Per chunk: the model pass, the checks, the reviewer, the critic; findings land in `model_findings`."""
    llm = job.config.llm
    instructions = prompt(f"{lane.value}.md").strip()
    if job.council:
        instructions += "\n\n" + prompt("council.md").strip()
    statuses: list[str] = []
    for paths, shared in job.chunks:
        # 1. The model pass.
        reply, model = await _ask_lane(
            lane, owned, job, selection, paths, shared, instructions, focus, previous
        )
        if reply.status:
            statuses.append(reply.status)
        if reply.summary:
            outcome.summary = (outcome.summary + " " + reply.summary).strip()
        await _share_notes(lane, reply, job, outcome)
        # 2. Deterministic checks, before any model judges.
        chunk_findings = _checked(reply, lane, model, paths, job, outcome)
        if not chunk_findings:
            continue
        start = len(model_findings)
        model_findings.extend(chunk_findings)  # kept as UNVERIFIED if a limit cuts the passes
        judged = chunk_findings
        # 3. The reviewer pass.
        if llm.reviewer:
            judged = await _reviewer_pass(
                job, _judge_selection("reviewer", job, selection), shared, judged, lane
            )
            model_findings[start:] = judged
        # 4. The critic pass.
        if llm.critic:
            judged, downgraded = await _critic_pass(
                job, _judge_selection("critic", job, selection), shared, judged, lane
            )
            outcome.downgraded += downgraded
        model_findings[start:] = judged
    if job.council and statuses:
        order = ["EVIDENCE_FOUND", "SUSPICIOUS", "CLEAN"]
        outcome.summary = f"council: {min(statuses, key=order.index)}. {outcome.summary}".strip()


async def _ask_lane(
    lane: Lane,
    owned: Sequence[Finding],
    job: LaneJob,
    selection: Selection,
    paths: Sequence[str],
    shared: Sequence[Message],
    instructions: str,
    focus: str,
    previous: str,
) -> tuple[LaneReply, str]:
    # The coordinator's focus and the earlier lanes' findings are model text written after
    # reading the change: an author's instructions can ride on them, so they are fenced too.
    coordinator = "Your lead asks you to look at:\n" + untrusted("focus", focus) if focus else ""
    if previous:
        coordinator = (coordinator + "\n\n" if coordinator else "") + untrusted(
            "earlier lanes", previous, limit=10**9
        )
    tail = prompt("lane.md").format(
        lane=lane.value,
        focus=LANE_FOCUS[lane],
        instructions=instructions,
        analyzer_section=_analyzer_section(owned, paths) + _context_section(lane, job.analyzer_findings),
        memory_section=await _memory_section(job),
        coordinator_section=coordinator,
    )
    messages = [*shared, Message("user", _squeeze(tail))]
    reply, model, _ = await job.caller.ask(
        kind="lane", lane=lane.value, selection=selection, messages=messages, schema=LaneReply
    )
    return reply, model


def _analyzer_section(findings: Sequence[Finding], paths: Sequence[str]) -> str:
    mine = [f for f in findings if f.path in paths]
    if not mine:
        return "Deterministic analyzers found nothing your lane owns in this part of the change."
    # Paths and titles (an analyzer's title can quote the code) are the author's text.
    rows = [f"- {f.location()} [{f.severity.value}] {f.rule}: {f.title}" for f in mine[:40]]
    return (
        "Deterministic analyzers already reported these (confirmed; do not repeat them, "
        "look for what they cannot see):\n" + untrusted("analyzer findings", "\n".join(rows), limit=10**9)
    )


# Findings another lane owns that a lane reads as context: (category, why it matters here).
_CONTEXT: dict[Lane, tuple[str, str]] = {
    Lane.TESTS: (
        "regression",
        "The regression guard found that this change undoes part of an earlier bug fix (the "
        "correctness lane reports it; do not repeat it). A change that undoes a fix may need its "
        "test back: check whether the test that fix added was deleted or weakened here, and "
        "whether what still runs covers the fixed behaviour.",
    ),
}


def _context_section(lane: Lane, findings: Sequence[Finding]) -> str:
    """Other lanes' analyzer findings this lane should know about, fenced (titles quote the author's text)."""
    if lane not in _CONTEXT:
        return ""
    category, why = _CONTEXT[lane]
    theirs = [f for f in findings if f.category == category and f.lane is not lane]
    if not theirs:
        return ""
    rows = [f"- {f.location()} {f.rule}: {f.title}" for f in theirs[:10]]
    return f"\n\n{why}\n" + untrusted(f"{category} findings (context)", "\n".join(rows), limit=10**9)


async def _memory_section(job: LaneJob) -> str:
    if job.memory is None:
        return ""
    try:
        entries = await job.memory.list()
    except MemoryStoreError:
        return ""  # memory is a help to the lanes, never a reason to fail one
    if not entries:
        return ""
    rows = [f"- {e.key} (from {e.created_by or 'a lane'}): {e.value}" for e in entries[:30]]
    return "Notes from other lanes (swarm memory):\n" + untrusted("memory", "\n".join(rows), limit=10**9)


async def _share_notes(lane: Lane, reply: LaneReply, job: LaneJob, outcome: LaneOutcome) -> None:
    if job.memory is None:
        return
    try:
        for n in reply.notes[:10]:
            await job.memory.set(f"{lane.value}/{n.key}", n.value, created_by=lane.value)
    except MemoryStoreError as exc:
        outcome.dropped.append(f"memory notes not shared: {exc}")


def _checked(
    reply: LaneReply, lane: Lane, model: str, paths: Sequence[str], job: LaneJob, outcome: LaneOutcome
) -> list[Finding]:
    """The reply's findings that pass path, anchoring and symbol checks; the rest counted as dropped."""
    kept: list[Finding] = []
    for raw in reply.findings[:_MAX_FINDINGS]:
        f = _to_finding(raw, lane, model, reply.status)
        checked, why = _check(f, paths, job)
        if checked is None:
            outcome.dropped.append(f"{f.location()} {f.title}: {why}")
            outcome.counts[Verification.DISPROVED.value] += 1
            outcome.counts["dropped_by_checks"] += 1
            continue
        kept.append(checked)
    return kept


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
    if f.path not in paths:
        return None, f"path {f.path!r} is not in this part of the diff"
    moved = relocate(f, job.contents)
    if moved is None:
        return None, f"the quoted code is not at or near {f.location()}"
    missing = check_symbols(moved, job.names)
    if missing is not None:
        return None, f"cites {missing!r}, which exists nowhere in the change"
    return moved, ""


def _judge_selection(role: str, job: LaneJob, lane_selection: Selection) -> Selection:
    """The reviewer/critic model: a configured one (a real second opinion), else the lane's."""
    policy = job.router.policy
    configured = {"reviewer": policy.reviewer, "critic": policy.critic}.get(role)
    if configured:
        return job.router.select(role)
    return lane_selection


async def _reviewer_pass(
    job: LaneJob, selection: Selection, shared: Sequence[Message], findings: Sequence[Finding], lane: Lane
) -> list[Finding]:
    """Judge findings in batches; a finding the reviewer did not judge stays UNVERIFIED (never inline)."""
    out: list[Finding] = []
    for start in range(0, len(findings), _BATCH):
        batch = list(findings[start : start + _BATCH])
        text = "\n\n".join(describe(i, f, job.contents) for i, f in enumerate(batch, 1))
        messages = [*shared, Message("user", prompt("reviewer.md").format(findings=text))]
        reply, _model, _used = await job.caller.ask(
            kind="reviewer", lane=lane.value, selection=selection, messages=messages, schema=ReviewerReply
        )
        calls = {j.id: j for j in reply.judgements}
        for i, f in enumerate(batch, 1):
            j = calls.get(i)
            if j is None:
                out.append(replace(f, verification=Verification.UNVERIFIED, verification_note="not judged"))
            else:
                out.append(replace(f, verification=Verification(j.verdict), verification_note=j.reason[:300]))
    return out


async def _critic_pass(
    job: LaneJob, selection: Selection, shared: Sequence[Message], findings: Sequence[Finding], lane: Lane
) -> tuple[list[Finding], int]:
    """Challenge confirmed HIGH and CRITICAL findings; returns all findings and how many were downgraded."""
    severe = [
        i
        for i, f in enumerate(findings)
        if f.verification is Verification.CONFIRMED and f.severity.at_least(Severity.HIGH)
    ]
    result = list(findings)
    downgraded = 0
    for start in range(0, len(severe), _BATCH):
        idx = severe[start : start + _BATCH]
        text = "\n\n".join(describe(n, findings[i], job.contents) for n, i in enumerate(idx, 1))
        messages = [*shared, Message("user", prompt("critic.md").format(findings=text))]
        reply, _model, _used = await job.caller.ask(
            kind="critic", lane=lane.value, selection=selection, messages=messages, schema=CriticReply
        )
        calls = {j.id: j for j in reply.judgements}
        for n, i in enumerate(idx, 1):
            j = calls.get(n)
            f = result[i]
            if j is None or j.verdict == "UPHELD":
                continue
            note = f"critic: {j.reason[:300]}"
            if j.verdict == "DISPROVED":
                result[i] = replace(f, verification=Verification.DISPROVED, verification_note=note)
            elif j.severity is not None and Severity(j.severity).rank < f.severity.rank:
                result[i] = replace(f, severity=Severity(j.severity), verification_note=note)
                downgraded += 1
    return result, downgraded


def _squeeze(text: str) -> str:
    """Collapse the blank lines left by empty template sections."""
    return re.sub(r"\n{3,}", "\n\n", text).strip()
