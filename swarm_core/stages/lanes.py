"""Lanes stage: hand analyzer findings to the six lanes, then (with models) plan, fan out and collect.

With no model configured each lane reports its analyzers' findings only. With models the
stage, top to bottom: chunks the chosen files to fit a model's context and builds each
chunk's shared prefix (byte-identical for every lane, so providers cache it); asks the
router for every lane's model at once; in hierarchical mode lets a coordinator model give
each lane a focus; runs the lanes (`stages.lane.run_lane`) in parallel, or in sequence
with each lane told what the lanes before it found; cuts what the run's wall-time limit
leaves unfinished; and notes the spend. Every lane task is awaited.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from swarm_core.changeset import ChangeSet
from swarm_core.chunking import chunk_diff, estimate_tokens
from swarm_core.citations import known_names
from swarm_core.config import SwarmConfig
from swarm_core.diff import FileDiff
from swarm_core.errors import LimitReached, MemoryStoreError, ModelSelectionError, ProviderError
from swarm_core.lanes import LANE_FOCUS, LLM_DISABLED_NOTE, assign
from swarm_core.lanes.context import repo_instructions, shared_messages
from swarm_core.lanes.job import LaneJob, LaneOutcome, ModelSeams
from swarm_core.lanes.schema import CoordinatorReply
from swarm_core.models import Exchange, Finding, Lane, LaneResult, LaneStatus, ProgressEvent, Usage
from swarm_core.prompts import prompt
from swarm_core.providers import Message, ServedModel
from swarm_core.router import Selection
from swarm_core.stages.lane import run_lane

__all__ = ["LaneWork", "run_lanes"]

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[ProgressEvent], None]

# Share of a model's context window one diff chunk may take (the rest: prompt, reply).
_CONTEXT_SHARE = 0.6
# Characters of the diff a local server's tokenizer measures to calibrate the estimate.
_SAMPLE_CHARS = 8000


@dataclass
class LaneWork:
    """The lanes stage's output: every lane's result in lane order, and what the review must say about it."""

    lanes: list[LaneResult]
    notes: list[str] = field(default_factory=list)
    omitted: list[tuple[str, str]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    exchanges: tuple[Exchange, ...] = ()
    memory: tuple[tuple[str, str], ...] = ()
    usage: Usage = field(default_factory=Usage)


async def run_lanes(
    findings: Iterable[Finding],
    change: ChangeSet,
    files: Sequence[FileDiff],
    config: SwarmConfig,
    models: ModelSeams | None,
    *,
    run_id: str,
    on_event: ProgressCallback | None = None,
) -> LaneWork:
    """Run the lanes over the analyzers' findings; `models` None keeps them deterministic.

    Returns:
        The lanes' results; failures and cuts are recorded in them, never raised.
    """
    findings = tuple(findings)
    lanes = assign(findings, config)
    if models is None:
        for lane in lanes:
            _emit(on_event, lane.lane.value, lane.status.value, f"{len(lane.findings)} finding(s)")
        return LaneWork(lanes, notes=[LLM_DISABLED_NOTE])
    fan = _FanOut(config, models, run_id, on_event)
    await fan.learn_model(files)
    job = replace(fan.plan(change, files), analyzer_findings=findings)
    results = await fan.run(job, lanes)
    return LaneWork(
        results,
        notes=fan.notes,
        omitted=fan.omitted,
        counts=fan.counts,
        exchanges=tuple(models.caller.exchanges),
        memory=fan.memory_dump,
        usage=models.caller.guard.usage,
    )


def _emit(on_event: ProgressCallback | None, name: str, state: str, detail: str = "") -> None:
    if on_event is not None:
        on_event(ProgressEvent("lane", name, state, detail))


class _FanOut:
    """The model part of one run's lanes: plan, fan-out, and what was cut."""

    def __init__(
        self, config: SwarmConfig, models: ModelSeams, run_id: str, on_event: ProgressCallback | None
    ) -> None:
        self.config = config
        self.models = models
        self.caller = models.caller
        self.run_id = run_id
        self.on_event = on_event
        self.notes: list[str] = []
        self.omitted: list[tuple[str, str]] = []
        self.counts: Counter[str] = Counter()
        self.memory_dump: tuple[tuple[str, str], ...] = ()
        self.selections: dict[str, Selection | ModelSelectionError] = {}
        self.served: ServedModel | None = None

    async def learn_model(self, files: Sequence[FileDiff]) -> None:
        """Ask a local server for the default model's window and tokenizer (the table cannot know them)."""
        default = self.models.default_model
        if default:
            sample = "\n".join(h.text() for fd in files for h in fd.hunks)[:_SAMPLE_CHARS]
            try:
                self.served = await self.caller.pool.served(default, sample)
            except ModelSelectionError:
                self.served = None  # a malformed name is reported by the router, lane by lane

    def _budget(self) -> int:
        budget = self.config.llm.chunk_tokens
        default = self.models.default_model
        info = self.models.router.table.get(default) if default else None
        window = self.served.window if self.served is not None else None
        context = window or (info.context if info is not None else None)
        if context is not None:
            budget = min(budget, int(context * _CONTEXT_SHARE))
        # Never below a few hunks' worth, even for a tiny window.
        return max(256 if window else 1000, budget)

    def plan(self, change: ChangeSet, files: Sequence[FileDiff]) -> LaneJob:
        """Chunk the files and build each chunk's shared prefix (redacted, stored once as evidence)."""
        estimate = self.served.estimate if self.served is not None else estimate_tokens
        plan = chunk_diff(files, self._budget(), max_chunks=self.config.llm.max_chunks, estimate=estimate)
        for o in plan.omitted:
            where = f" ({o.hunk})" if o.hunk else ""
            self.omitted.append((o.path, f"not reviewed by the model lanes{where}: {o.reason}"))
        instructions = repo_instructions(change, self.config)
        chunks = []
        for n, chunk in enumerate(plan.chunks, 1):
            shared = shared_messages(
                chunk, change, self.config, instructions, chunk_no=n, chunks=len(plan.chunks)
            )
            shared = [Message(m.role, self.caller.redact(m.content), m.cache) for m in shared]
            self.caller.record_context(shared)
            chunks.append((tuple(p for p, _ in chunk.files), tuple(shared)))
        return LaneJob(
            config=self.config,
            router=self.models.router,
            caller=self.caller,
            contents=change.contents,
            chunks=tuple(chunks),
            names=known_names(change.contents, [fd.path for fd in files]),
            memory=self.models.memory,
            council=self.config.llm.council,
            run_id=self.run_id,
        )

    async def run(self, job: LaneJob, lanes: list[LaneResult]) -> list[LaneResult]:
        """Run the enabled lanes with their models; returns every lane's result in lane order."""
        active = [lr for lr in lanes if lr.status is not LaneStatus.DISABLED]
        if not job.chunks:
            self.notes.append("The model lanes had nothing to read: no text hunks in the reviewed files.")
            return lanes
        mode = self.config.llm.mode
        focus: dict[str, str] = {}
        if mode == "hierarchical":
            focus = await self._coordinate(job, [lr.lane for lr in active])
        self.selections = self.models.router.select_lanes(
            [lr.lane.value for lr in active], *job.estimated_tokens()
        )
        results: dict[Lane, LaneResult] = {}
        if mode == "sequential":
            previous: list[str] = []
            for lr in active:
                out = await self._lane(lr, job, focus.get(lr.lane.value, ""), "\n".join(previous))
                results[lr.lane] = out.result
                previous.extend(_digest(out))
        else:
            results = await self._parallel(active, job, focus)
        await self._finish()
        return [results.get(lr.lane, lr) for lr in lanes]

    async def _coordinate(self, job: LaneJob, lanes: Sequence[Lane]) -> dict[str, str]:
        """Hierarchical mode: one coordinator call assigns each lane a focus (failures fall back to none)."""
        _emit(self.on_event, "coordinator", "started")
        names = ", ".join(f"{lane.value} ({LANE_FOCUS[lane]})" for lane in lanes)
        _paths, shared = job.chunks[0]
        text = prompt("coordinator.md").format(lanes=names)
        try:
            selection = self.models.router.select("coordinator")
            reply, _, used = await self.caller.ask(
                kind="coordinator",
                lane="coordinator",
                selection=selection,
                messages=[*shared, Message("user", text)],
                schema=CoordinatorReply,
            )
        except (LimitReached, ProviderError, ModelSelectionError) as exc:
            logger.warning(
                "coordinator failed (run %s); lanes run without focus",
                self.run_id,
                exc_info=exc,
                extra={"run_id": self.run_id, "lane": "coordinator"},
            )
            self.notes.append(f"The coordinator failed ({exc}); the lanes ran without assigned focus.")
            _emit(self.on_event, "coordinator", "failed")
            return {}
        _emit(self.on_event, "coordinator", "ok", f"${used.cost_usd:.4f}")
        known = {lane.value for lane in lanes}
        return {k: v[:600] for k, v in reply.focus.items() if k in known and v.strip()}

    async def _lane(self, lr: LaneResult, job: LaneJob, focus: str, previous: str) -> LaneOutcome:
        _emit(self.on_event, lr.lane.value, "started")
        selection = self.selections.get(lr.lane.value)
        out = await run_lane(lr.lane, lr.findings, job, focus=focus, previous=previous, selection=selection)
        self._absorb(out)
        r = out.result
        detail = f"{len(r.findings)} finding(s), {r.usage.calls} call(s), ${r.usage.cost_usd:.4f}"
        _emit(self.on_event, r.lane.value, r.status.value, detail)
        return out

    def _absorb(self, out: LaneOutcome) -> None:
        self.counts.update(out.counts)
        if out.downgraded:
            self.counts["DOWNGRADED"] += out.downgraded
        for reason in out.dropped:
            self.caller.exchanges.append(
                Exchange("check", out.result.lane.value, "", "", Usage(), 0.0, "dropped", reason=reason)
            )
        r = out.result
        if r.status in (LaneStatus.CUT, LaneStatus.FAILED):
            self.notes.append(
                f"The {r.lane.value} lane {'was cut short' if r.status is LaneStatus.CUT else 'failed'}: "
                f"{r.note}. Its analyzer findings and what it verified before that are kept."
            )

    async def _parallel(
        self, active: Sequence[LaneResult], job: LaneJob, focus: dict[str, str]
    ) -> dict[Lane, LaneResult]:
        tasks = {
            asyncio.create_task(self._lane(lr, job, focus.get(lr.lane.value, ""), ""), name=lr.lane.value): lr
            for lr in active
        }
        remaining = max(0.0, self.caller.guard.remaining_s())
        done, pending = await asyncio.wait(tasks, timeout=remaining)
        results: dict[Lane, LaneResult] = {}
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)  # every task awaited
        for task, lr in tasks.items():
            if task in done and not task.cancelled():
                results[lr.lane] = task.result().result
                continue
            limit = self.config.llm.limits.max_wall_seconds
            cut = LaneResult(
                lr.lane, LaneStatus.CUT, lr.findings, note=f"cut: max_wall_seconds ({limit:g}) reached"
            )
            # No exception to show: the lane was cancelled from here when the run ran out of time.
            logger.warning(
                "lane %s CUT (run %s): %s",
                lr.lane.value,
                self.run_id,
                cut.note,
                extra={"run_id": self.run_id, "lane": lr.lane.value},
            )
            self.notes.append(
                f"The {lr.lane.value} lane was cut short: {cut.note}. Its analyzer findings are kept."
            )
            results[lr.lane] = cut
        return results

    async def _finish(self) -> None:
        """Snapshot the run's memory (visible in the evidence) and note the spend."""
        memory = self.models.memory
        if memory is not None:
            try:
                entries = await memory.list()
            except MemoryStoreError as exc:
                self.notes.append(f"Swarm memory could not be read at the end of the run: {exc}")
            else:
                self.memory_dump = tuple((e.key, self.caller.redact(str(e.value))) for e in entries)
        guard = self.caller.guard
        self.notes.append(self.caller.usage_note())
        if guard.tripped and self.caller.stopped:  # tripped after every lane had finished: nothing stopped
            self.notes.append(f"Model work stopped early: {guard.tripped}.")


def _digest(out: LaneOutcome) -> list[str]:
    """What a sequential lane tells the lanes after it: its own findings, so they are not repeated."""
    model = [f for f in out.result.findings if f.source.startswith("model:")]
    if not model:
        return [f"The {out.result.lane.value} lane found nothing of its own."]
    rows = [f"Findings of the {out.result.lane.value} lane (already reported; do not repeat):"]
    rows += [f"- {f.location()} [{f.severity.value}] {f.title}" for f in model[:20]]
    return rows
