"""The review pipeline: change → analyzers (concurrent) → lanes (model fan-out) → verification → Review.

Fan-out modes for the model lanes: parallel (default; every lane at once), sequential
(each lane sees the findings of the lanes before it) and hierarchical (a coordinator
model first assigns each lane a focus, then the lanes run in parallel). Every lane task
is awaited; a run-wide wall-time limit cancels what has not finished and the review says
what was cut. With no model configured the lanes report their analyzers' findings only.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from swarm_core.analyzers import Analyzer, AnalyzerContext, default_analyzers, run_analyzers
from swarm_core.analyzers.secrets import redact_text
from swarm_core.chunking import chunk_diff
from swarm_core.config import SwarmConfig
from swarm_core.diff import FileDiff
from swarm_core.errors import LimitReached, MemoryStoreError, ModelSelectionError, ProviderError
from swarm_core.guardrails import Guard
from swarm_core.lanes import LANE_FOCUS, LLM_DISABLED_NOTE, assign
from swarm_core.lanes.context import repo_instructions, shared_messages
from swarm_core.lanes.model import LaneJob, LaneOutcome, estimate_tokens_for, run_model_lane
from swarm_core.lanes.schema import CoordinatorReply
from swarm_core.llm import ModelCaller, prompt
from swarm_core.memory import MemoryBackend, RunMemory
from swarm_core.models import (
    Exchange,
    Lane,
    LaneResult,
    LaneStatus,
    ProgressEvent,
    Review,
    Usage,
)
from swarm_core.providers import Message, ProviderPool
from swarm_core.router import ModelTable, Router, Selection, load_table
from swarm_core.sources import ChangeSet
from swarm_core.verify import known_names, verdict_for, verify

__all__ = ["Orchestrator"]

ProgressCallback = Callable[[ProgressEvent], None]

# Share of a model's context window one diff chunk may take (the rest: prompt, reply).
_CONTEXT_SHARE = 0.6


class Orchestrator:
    """Runs reviews with one explicit configuration.

    Args:
        config: the review configuration (already merged with any overrides).
        analyzers: analyzers to run; default those switched on in `config`.
        model: the default model for every lane (SWARM_MODEL), `provider/model`.
        providers: the LLM providers; None runs the deterministic lanes only.
        table: the model price/quality table (default: the packaged one).
        memory: the swarm memory backend shared by a run's lanes (None: no memory).
        sleep: async sleep used for retry backoff (tests pass a fast one).
    """

    def __init__(
        self,
        config: SwarmConfig,
        *,
        analyzers: Sequence[Analyzer] | None = None,
        model: str | None = None,
        providers: ProviderPool | None = None,
        table: ModelTable | None = None,
        memory: MemoryBackend | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.analyzers = list(analyzers) if analyzers is not None else default_analyzers(config)
        self.model = model
        self.providers = providers
        self.table = table if table is not None else load_table()
        self.memory = memory
        self._sleep = sleep
        available = providers.available if providers is not None else (lambda _p: False)
        self.router = Router(self.table, config.models, available, default=model)

    @property
    def models_enabled(self) -> bool:
        """True when the lanes will call models."""
        return self.providers is not None and self.router.enabled

    def select_files(self, change: ChangeSet) -> tuple[list[FileDiff], list[tuple[str, str]]]:
        """The files to review, and (path, reason) for each file left out."""
        chosen: list[FileDiff] = []
        skipped: list[tuple[str, str]] = []
        limit = self.config.limits.max_files
        for fd in change.diff.files:
            if not self.config.includes(fd.path):
                skipped.append((fd.path, "excluded by paths config"))
            elif fd.binary:
                skipped.append((fd.path, "binary file"))
            elif len(chosen) >= limit:
                skipped.append((fd.path, f"over limits.max_files ({limit})"))
            else:
                chosen.append(fd)
        return chosen, skipped

    async def review(self, change: ChangeSet, on_event: ProgressCallback | None = None) -> Review:
        """Review one change.

        Returns:
            The Review; analyzer failures, lane failures and guardrail cuts are recorded
            in it, never raised.
        """
        started = time.perf_counter()
        run_key = uuid.uuid4().hex[:12]  # names this run's swarm memory namespace
        files, skipped = self.select_files(change)
        timings: dict[str, float] = {}
        with tempfile.TemporaryDirectory(prefix="swarm-") as tmp:
            ctx = AnalyzerContext(change, files, self.config, Path(tmp))
            t0 = time.perf_counter()
            reports = await run_analyzers(
                ctx,
                self.analyzers,
                timeout=self.config.analyzers.timeout_seconds,
                on_event=on_event,
            )
            timings["analyzers_s"] = round(time.perf_counter() - t0, 3)
            secrets = ctx.secrets
        lanes = assign((f for r in reports for f in r.findings), self.config)
        notes = list(change.notes)
        usage = Usage()
        counts: Counter[str] = Counter()
        exchanges: tuple[Exchange, ...] = ()
        memory: tuple[tuple[str, str], ...] = ()
        t1 = time.perf_counter()
        if self.models_enabled:
            assert self.providers is not None
            run = _ModelRun(self, change, files, secrets | self.providers.secrets(), run_key, on_event)
            try:
                lanes = await run.execute(lanes)
            finally:
                await self.providers.aclose()
            skipped.extend(run.omitted)
            notes.extend(run.notes)
            usage, counts, exchanges, memory = (
                run.guard.usage,
                run.counts,
                tuple(run.exchanges),
                run.memory_dump,
            )
            timings["lanes_s"] = round(time.perf_counter() - t1, 3)
        else:
            notes.append(LLM_DISABLED_NOTE)
            for lane in lanes:
                _emit(
                    on_event, "lane", lane.lane.value, lane.status.value, f"{len(lane.findings)} finding(s)"
                )
        t2 = time.perf_counter()
        findings, suppressed = verify(
            (f for lane in lanes for f in lane.findings),
            change.diff,
            self.config,
            contents=change.contents,
            secrets=secrets,
        )
        for f in findings:
            if f.source.startswith("model:"):
                counts[f"reported_{f.verification.value}"] += 1
        timings["verify_s"] = round(time.perf_counter() - t2, 3)
        timings["total_s"] = round(time.perf_counter() - started, 3)
        return Review(
            source=change.label,
            base=change.base,
            head=change.head,
            verdict=verdict_for(findings),
            findings=tuple(findings),
            analyzers=tuple(reports),
            lanes=tuple(lanes),
            files_reviewed=len(files),
            additions=sum(f.additions for f in files),
            deletions=sum(f.deletions for f in files),
            notes=tuple(notes),
            skipped_files=tuple(skipped),
            suppressed=suppressed,
            timings=timings,
            title=change.title,
            repo=change.repo or (change.repo_root.name if change.repo_root is not None else ""),
            usage=usage,
            verification=dict(sorted(counts.items())),
            exchanges=exchanges,
            memory=memory,
        )

    def review_sync(self, change: ChangeSet, on_event: ProgressCallback | None = None) -> Review:
        """`review` for callers without an event loop (the CLI)."""
        return asyncio.run(self.review(change, on_event))


def _emit(on_event: ProgressCallback | None, stage: str, name: str, state: str, detail: str = "") -> None:
    if on_event is not None:
        on_event(ProgressEvent(stage, name, state, detail))


class _ModelRun:
    """The model part of one review: chunks, shared prefixes, fan-out, and what was cut."""

    def __init__(
        self,
        orch: Orchestrator,
        change: ChangeSet,
        files: Sequence[FileDiff],
        secrets: frozenset[str],
        run_id: str,
        on_event: ProgressCallback | None,
    ) -> None:
        assert orch.providers is not None
        self.orch = orch
        self.config = orch.config
        self.change = change
        self.files = files
        self.on_event = on_event
        self.secrets = secrets
        self.guard = Guard(self.config.llm.limits, sleep=orch._sleep)
        self.caller = ModelCaller(
            orch.providers,
            orch.table,
            self.guard,
            redact=self.redact,
            max_tokens=self.config.llm.max_output_tokens,
            temperature=self.config.llm.temperature,
            timeout_s=self.config.llm.limits.call_timeout_seconds,
        )
        self.run_memory = (
            RunMemory(orch.memory, run_id, self.config.llm.memory_ttl_seconds) if orch.memory else None
        )
        self.notes: list[str] = []
        self.omitted: list[tuple[str, str]] = []
        self.counts: Counter[str] = Counter()
        self.memory_dump: tuple[tuple[str, str], ...] = ()
        self.selections: dict[str, Selection | ModelSelectionError] = {}

    @property
    def exchanges(self) -> list[Exchange]:
        """Every model call of the run, plus the checks that dropped findings."""
        return self.caller.exchanges

    def redact(self, text: str) -> str:
        """Remove found secrets and provider keys from text sent to or stored from a model."""
        return redact_text(text, self.secrets) if self.secrets else text

    def _budget(self) -> int:
        budget = self.config.llm.chunk_tokens
        info = self.orch.table.get(self.orch.model or "") if self.orch.model else None
        if info is not None:
            budget = min(budget, int(info.context * _CONTEXT_SHARE))
        return max(1000, budget)

    def _job(self) -> LaneJob:
        plan = chunk_diff(self.files, self._budget(), max_chunks=self.config.llm.max_chunks)
        for o in plan.omitted:
            where = f" ({o.hunk})" if o.hunk else ""
            self.omitted.append((o.path, f"not reviewed by the model lanes{where}: {o.reason}"))
        instructions = repo_instructions(self.change, self.config)
        chunks = []
        for n, chunk in enumerate(plan.chunks, 1):
            shared = shared_messages(
                chunk, self.change, self.config, instructions, chunk_no=n, chunks=len(plan.chunks)
            )
            shared = [Message(m.role, self.redact(m.content), m.cache) for m in shared]
            self.caller.record_context(shared)
            chunks.append((tuple(p for p, _ in chunk.files), tuple(shared)))
        paths = [fd.path for fd in self.files]
        return LaneJob(
            config=self.config,
            router=self.orch.router,
            caller=self.caller,
            contents=self.change.contents,
            chunks=tuple(chunks),
            names=known_names(self.change.contents, paths),
            memory=self.run_memory,
            council=self.config.llm.council,
        )

    async def execute(self, lanes: list[LaneResult]) -> list[LaneResult]:
        """Run the enabled lanes with their models; returns every lane's result in lane order."""
        job = self._job()
        active = [lr for lr in lanes if lr.status is not LaneStatus.DISABLED]
        if not job.chunks:
            self.notes.append("The model lanes had nothing to read: no text hunks in the reviewed files.")
            return lanes
        mode = self.config.llm.mode
        focus: dict[str, str] = {}
        if mode == "hierarchical":
            focus = await self._coordinate(job, [lr.lane for lr in active])
        est_in, est_out = estimate_tokens_for(job)
        self.selections = self.orch.router.select_lanes([lr.lane.value for lr in active], est_in, est_out)
        results: dict[Lane, LaneResult] = {}
        if mode == "sequential":
            previous: list[str] = []
            for lr in active:
                out = await self._lane(lr, job, focus.get(lr.lane.value, ""), "\n".join(previous))
                results[lr.lane] = out.result
                previous.extend(self._digest(out))
        else:
            results = await self._fan_out(active, job, focus)
        await self._finish()
        return [results.get(lr.lane, lr) for lr in lanes]

    def _digest(self, out: LaneOutcome) -> list[str]:
        model = [f for f in out.result.findings if f.source.startswith("model:")]
        if not model:
            return [f"The {out.result.lane.value} lane found nothing of its own."]
        rows = [f"Findings of the {out.result.lane.value} lane (already reported; do not repeat):"]
        rows += [f"- {f.location()} [{f.severity.value}] {f.title}" for f in model[:20]]
        return rows

    async def _lane(self, lr: LaneResult, job: LaneJob, focus: str, previous: str) -> LaneOutcome:
        _emit(self.on_event, "lane", lr.lane.value, "started")
        selection = self.selections.get(lr.lane.value)
        out = await run_model_lane(
            lr.lane, lr.findings, job, focus=focus, previous=previous, selection=selection
        )
        self._absorb(out)
        r = out.result
        detail = f"{len(r.findings)} finding(s), {r.usage.calls} call(s), ${r.usage.cost_usd:.4f}"
        _emit(self.on_event, "lane", r.lane.value, r.status.value, detail)
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

    async def _fan_out(
        self, active: Sequence[LaneResult], job: LaneJob, focus: dict[str, str]
    ) -> dict[Lane, LaneResult]:
        tasks = {
            asyncio.create_task(self._lane(lr, job, focus.get(lr.lane.value, ""), ""), name=lr.lane.value): lr
            for lr in active
        }
        remaining = max(0.0, self.guard.remaining_s())
        done, pending = await asyncio.wait(tasks, timeout=remaining)
        results: dict[Lane, LaneResult] = {}
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)  # every task awaited
        for task, lr in tasks.items():
            if task in done and not task.cancelled():
                results[lr.lane] = task.result().result
            else:
                limit = self.config.llm.limits.max_wall_seconds
                cut = LaneResult(
                    lr.lane, LaneStatus.CUT, lr.findings, note=f"cut: max_wall_seconds ({limit:g}) reached"
                )
                self.notes.append(
                    f"The {lr.lane.value} lane was cut short: {cut.note}. Its analyzer findings are kept."
                )
                results[lr.lane] = cut
        return results

    async def _coordinate(self, job: LaneJob, lanes: Sequence[Lane]) -> dict[str, str]:
        """Hierarchical mode: one coordinator call assigns each lane a focus (failures fall back to none)."""
        _emit(self.on_event, "lane", "coordinator", "started")
        names = ", ".join(f"{lane.value} ({LANE_FOCUS[lane]})" for lane in lanes)
        _paths, shared = job.chunks[0]
        text = prompt("coordinator.md").format(lanes=names)
        try:
            selection = self.orch.router.select("coordinator")
            reply, _, used = await self.caller.ask(
                kind="coordinator",
                lane="coordinator",
                selection=selection,
                messages=[*shared, Message("user", text)],
                schema=CoordinatorReply,
            )
        except (LimitReached, ProviderError, ModelSelectionError) as exc:
            self.notes.append(f"The coordinator failed ({exc}); the lanes ran without assigned focus.")
            _emit(self.on_event, "lane", "coordinator", "failed")
            return {}
        _emit(self.on_event, "lane", "coordinator", "ok", f"${used.cost_usd:.4f}")
        known = {lane.value for lane in lanes}
        return {k: v[:600] for k, v in reply.focus.items() if k in known and v.strip()}

    async def _finish(self) -> None:
        """Snapshot the run's memory (visible in the evidence) and note the spend."""
        if self.run_memory is not None:
            try:
                entries = await self.run_memory.list()
            except MemoryStoreError as exc:
                self.notes.append(f"Swarm memory could not be read at the end of the run: {exc}")
            else:
                self.memory_dump = tuple((e.key, self.redact(str(e.value))) for e in entries)
        u = self.guard.usage
        self.notes.append(
            f"Model usage: {u.calls} call(s), {u.input_tokens:,} input tokens "
            f"({u.cached_tokens:,} cached), {u.output_tokens:,} output tokens, ${u.cost_usd:.4f}"
            + (" (some token counts estimated)" if u.estimated else "")
            + "."
        )
        if self.guard.tripped:
            self.notes.append(f"Model work stopped early: {self.guard.tripped}.")
