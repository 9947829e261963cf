"""Analyzers stage: the deterministic gates over the chosen files, in a scratch directory of their own."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from swarm_core.analyzers import Analyzer, AnalyzerContext, run_analyzers
from swarm_core.analyzers.vulnerabilities import VulnerabilityAnalyzer
from swarm_core.changeset import ChangeSet
from swarm_core.config import SwarmConfig
from swarm_core.diff import FileDiff
from swarm_core.models import AnalyzerReport, AnalyzerStatus, ProgressEvent

__all__ = ["Analysis", "analyze"]


@dataclass(frozen=True)
class Analysis:
    """What the analyzers found, and the secrets they saw (every later stage redacts them)."""

    reports: list[AnalyzerReport]
    secrets: frozenset[str]
    seconds: float
    notes: tuple[str, ...] = ()


async def analyze(
    change: ChangeSet,
    files: Sequence[FileDiff],
    config: SwarmConfig,
    analyzers: Sequence[Analyzer],
    *,
    run_id: str,
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> Analysis:
    """Run every analyzer concurrently; a failing analyzer becomes a report, never an exception."""
    started = time.perf_counter()
    # Analyzers write checked-out files and tool configs; nothing of it outlives the stage.
    with tempfile.TemporaryDirectory(prefix="swarm-") as tmp:
        ctx = AnalyzerContext(change, files, config, Path(tmp))
        reports = await run_analyzers(
            ctx,
            analyzers,
            timeout=config.analyzers.timeout_seconds,
            on_event=on_event,
            run_id=run_id,
        )
        secrets = ctx.secrets
    return Analysis(reports, secrets, round(time.perf_counter() - started, 3), _notices(reports))


# Checks whose skip a reader must see in the summary itself, not only in the analyzer table:
# a known-vulnerability check that did not run is not a pass.
_MUST_RUN = {VulnerabilityAnalyzer.name: "Known vulnerabilities were not checked"}


def _notices(reports: Sequence[AnalyzerReport]) -> tuple[str, ...]:
    return tuple(
        f"{_MUST_RUN[r.name]}: {r.reason or r.status.value}. Re-run the review to check them."
        for r in reports
        if r.name in _MUST_RUN and r.status is not AnalyzerStatus.OK
    )
