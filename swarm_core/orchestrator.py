"""The review pipeline: change → analyzers (concurrent) → lanes → verification → Review."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from swarm_core.analyzers import Analyzer, AnalyzerContext, default_analyzers, run_analyzers
from swarm_core.config import SwarmConfig
from swarm_core.diff import FileDiff
from swarm_core.lanes import LLM_DISABLED_NOTE, assign
from swarm_core.models import ProgressEvent, Review
from swarm_core.sources import ChangeSet
from swarm_core.verify import verdict_for, verify

__all__ = ["Orchestrator"]

ProgressCallback = Callable[[ProgressEvent], None]


class Orchestrator:
    """Runs reviews with one explicit configuration.

    Args:
        config: the review configuration (already merged with any overrides).
        analyzers: analyzers to run; default those switched on in `config`.
        model: the configured default model name, if any (model lanes come in a later release).
    """

    def __init__(
        self,
        config: SwarmConfig,
        *,
        analyzers: Sequence[Analyzer] | None = None,
        model: str | None = None,
    ) -> None:
        self.config = config
        self.analyzers = list(analyzers) if analyzers is not None else default_analyzers(config)
        self.model = model

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
            The Review; analyzer failures and timeouts are recorded in it, never raised.
        """
        started = time.perf_counter()
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
        t1 = time.perf_counter()
        lanes = assign((f for r in reports for f in r.findings), self.config)
        for lane in lanes:
            if on_event is not None:
                on_event(
                    ProgressEvent(
                        "lane",
                        lane.lane.value,
                        lane.status.value,
                        f"{len(lane.findings)} finding(s)",
                    )
                )
        findings, suppressed = verify(
            (f for lane in lanes for f in lane.findings),
            change.diff,
            self.config,
            contents=change.contents,
            secrets=secrets,
        )
        timings["verify_s"] = round(time.perf_counter() - t1, 3)
        timings["total_s"] = round(time.perf_counter() - started, 3)
        notes = list(change.notes)
        notes.append(
            LLM_DISABLED_NOTE
            if self.model is None
            else f"SWARM_MODEL={self.model} is set, but this release has no model lanes yet; "
            "the lanes reported their analyzers' findings only."
        )
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
        )

    def review_sync(self, change: ChangeSet, on_event: ProgressCallback | None = None) -> Review:
        """`review` for callers without an event loop (the CLI)."""
        return asyncio.run(self.review(change, on_event))
