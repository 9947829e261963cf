"""The review pipeline as a sequence of stages: diff → analyzers → lanes → verify → learnings → verdict.

Each stage lives in a module of `swarm_core.stages` named for it and takes typed inputs
and returns a typed output; this module only calls them in order and builds the seams
they share (the router, and per run the guarded model caller and swarm memory). Where a
change comes from (`sources`) is decided before a review starts, and how a Review is
shown (`render`) after it ends. Fan-out modes for the model lanes: parallel (default),
sequential (each lane sees the findings of the lanes before it) and hierarchical (a
coordinator model first assigns each lane a focus); see `stages.lanes`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from swarm_core.analyzers import AdvisoryCache, Analyzer, default_analyzers
from swarm_core.analyzers.secrets import redact_text
from swarm_core.changeset import ChangeSet
from swarm_core.config import SwarmConfig
from swarm_core.diff import FileDiff
from swarm_core.guardrails import Guard
from swarm_core.lanes.job import ModelSeams
from swarm_core.memory import MemoryBackend, RunMemory
from swarm_core.model_calls import ModelCaller
from swarm_core.models import ProgressEvent, Review
from swarm_core.providers import ProviderPool
from swarm_core.router import ModelTable, Router, load_table
from swarm_core.stages.analyze import analyze
from swarm_core.stages.lanes import run_lanes
from swarm_core.stages.learnings import apply_learnings
from swarm_core.stages.select import select_files
from swarm_core.stages.verdict import verdict_for
from swarm_core.stages.verify import tally, verify

__all__ = ["Orchestrator"]

ProgressCallback = Callable[[ProgressEvent], None]


class Orchestrator:
    """Runs reviews with one explicit configuration.

    Args:
        config: the review configuration (already merged with any overrides).
        analyzers: analyzers to run; default those switched on in `config`.
        model: the default model for every lane (SWARM_MODEL), `provider/model`.
        providers: the LLM providers; None runs the deterministic lanes only.
        table: the model price/quality table (default: the packaged one).
        memory: the swarm memory backend shared by a run's lanes (None: no memory).
        advisory_cache: where OSV's answers are kept between runs (None: not kept).
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
        advisory_cache: AdvisoryCache | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.analyzers = (
            list(analyzers)
            if analyzers is not None
            else default_analyzers(config, advisory_cache=advisory_cache)
        )
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
        choice = select_files(change, self.config)
        return choice.files, choice.skipped

    async def review(self, change: ChangeSet, on_event: ProgressCallback | None = None) -> Review:
        """Review one change.

        Returns:
            The Review; analyzer failures, lane failures and guardrail cuts are recorded
            in it, never raised.
        """
        started = time.perf_counter()
        run_id = uuid.uuid4().hex[:12]  # names this run in logs and its swarm memory namespace
        timings: dict[str, float] = {}

        choice = select_files(change, self.config)

        analysis = await analyze(
            change, choice.files, self.config, self.analyzers, run_id=run_id, on_event=on_event
        )
        timings["analyzers_s"] = analysis.seconds

        t_lanes = time.perf_counter()
        seams = self._model_seams(run_id, analysis.secrets)
        try:
            work = await run_lanes(
                [f for r in analysis.reports for f in r.findings],
                change,
                choice.files,
                self.config,
                seams,
                run_id=run_id,
                on_event=on_event,
            )
        finally:
            if self.providers is not None and seams is not None:
                await self.providers.aclose()
        if seams is not None:
            timings["lanes_s"] = round(time.perf_counter() - t_lanes, 3)

        t_verify = time.perf_counter()
        findings, suppressed = verify(
            [f for lane in work.lanes for f in lane.findings],
            change.diff,
            self.config,
            contents=change.contents,
            secrets=analysis.secrets,
        )
        counts = work.counts + tally(findings)
        timings["verify_s"] = round(time.perf_counter() - t_verify, 3)

        applied = apply_learnings(findings, change.learnings)
        findings = applied.findings

        verdict = verdict_for(findings)

        timings["total_s"] = round(time.perf_counter() - started, 3)
        return Review(
            source=change.label,
            base=change.base,
            head=change.head,
            verdict=verdict,
            findings=tuple(findings),
            analyzers=tuple(analysis.reports),
            lanes=tuple(work.lanes),
            files_reviewed=len(choice.files),
            additions=sum(f.additions for f in choice.files),
            deletions=sum(f.deletions for f in choice.files),
            notes=(*change.notes, *analysis.notes, *work.notes),
            skipped_files=(*choice.skipped, *work.omitted),
            suppressed=suppressed,
            timings=timings,
            title=change.title,
            repo=change.repo or (change.repo_root.name if change.repo_root is not None else ""),
            usage=work.usage,
            verification=dict(sorted(counts.items())),
            exchanges=work.exchanges,
            memory=work.memory,
            learned=applied.uses,
        )

    def review_sync(self, change: ChangeSet, on_event: ProgressCallback | None = None) -> Review:
        """`review` for callers without an event loop (the CLI)."""
        return asyncio.run(self.review(change, on_event))

    def _model_seams(self, run_id: str, secrets: frozenset[str]) -> ModelSeams | None:
        """The run's guarded model caller, router and memory; None when no model is configured."""
        if self.providers is None or not self.models_enabled:
            return None
        # Found secrets and the providers' own keys never reach a model or the evidence.
        hidden = secrets | self.providers.secrets()
        llm = self.config.llm
        caller = ModelCaller(
            self.providers,
            self.table,
            Guard(llm.limits, sleep=self._sleep),
            redact=partial(redact_text, secrets=hidden),
            max_tokens=llm.max_output_tokens,
            temperature=llm.temperature,
            timeout_s=llm.limits.call_timeout_seconds,
        )
        memory = RunMemory(self.memory, run_id, llm.memory_ttl_seconds) if self.memory else None
        return ModelSeams(self.router, caller, memory, default_model=self.model)
