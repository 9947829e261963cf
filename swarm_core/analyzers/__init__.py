"""Deterministic analyzers and the runner that executes them concurrently with per-analyzer timeouts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from swarm_core.analyzers.base import Analyzer, AnalyzerContext
from swarm_core.analyzers.change_signals import TestsSignalAnalyzer
from swarm_core.analyzers.complexity import ComplexityAnalyzer
from swarm_core.analyzers.dependencies import DependencyAnalyzer
from swarm_core.analyzers.docs_drift import DocsDriftAnalyzer
from swarm_core.analyzers.lint import RuffAnalyzer
from swarm_core.analyzers.osv import AdvisoryCache
from swarm_core.analyzers.placeholders import PlaceholderAnalyzer
from swarm_core.analyzers.regression import RegressionGuardAnalyzer
from swarm_core.analyzers.sast import BanditAnalyzer, SemgrepAnalyzer
from swarm_core.analyzers.secrets import SecretsAnalyzer
from swarm_core.analyzers.syntax import SyntaxAnalyzer
from swarm_core.analyzers.taint import TaintAnalyzer
from swarm_core.analyzers.vulnerabilities import VulnerabilityAnalyzer
from swarm_core.config import SwarmConfig
from swarm_core.errors import AnalyzerError
from swarm_core.models import AnalyzerReport, AnalyzerStatus, ProgressEvent

__all__ = ["AdvisoryCache", "Analyzer", "AnalyzerContext", "default_analyzers", "run_analyzers"]

ProgressCallback = Callable[[ProgressEvent], None]

logger = logging.getLogger(__name__)


def default_analyzers(config: SwarmConfig, *, advisory_cache: AdvisoryCache | None = None) -> list[Analyzer]:
    """The analyzers switched on in `config`, in report order.

    Args:
        config: the review's config.
        advisory_cache: where the vulnerability analyzer keeps OSV's answers (None: nowhere).
    """
    a = config.analyzers
    chosen: list[tuple[bool, Analyzer]] = [
        (a.syntax.enabled, SyntaxAnalyzer()),
        (a.placeholders.enabled, PlaceholderAnalyzer()),
        (a.secrets.enabled, SecretsAnalyzer()),
        (a.sast.enabled, BanditAnalyzer()),
        (a.sast.enabled, SemgrepAnalyzer()),
        (a.sast.enabled, TaintAnalyzer()),
        (a.lint.enabled, RuffAnalyzer()),
        (a.dependencies.enabled, DependencyAnalyzer()),
        (a.vulnerabilities.enabled, VulnerabilityAnalyzer(a.vulnerabilities, advisory_cache)),
        (a.tests.enabled, TestsSignalAnalyzer()),
        (a.docs.enabled, DocsDriftAnalyzer()),
        (a.complexity.enabled, ComplexityAnalyzer()),
        (a.regression.enabled, RegressionGuardAnalyzer()),
    ]
    return [analyzer for enabled, analyzer in chosen if enabled]


async def run_analyzers(
    ctx: AnalyzerContext,
    analyzers: Sequence[Analyzer],
    *,
    timeout: float,
    on_event: ProgressCallback | None = None,
    run_id: str = "",
) -> list[AnalyzerReport]:
    """Run every analyzer concurrently; each gets `timeout` seconds.

    A missing tool, a timeout or a crash becomes a report with that status and a reason;
    it never fails the review. A timeout or a crash is also logged, with its traceback and
    `run_id`, so the report's one line is not all there is to debug from.
    """

    def emit(name: str, state: str, detail: str = "") -> None:
        if on_event is not None:
            on_event(ProgressEvent("analyzer", name, state, detail))

    async def one(analyzer: Analyzer) -> AnalyzerReport:
        start = time.perf_counter()
        reason = analyzer.unavailable(ctx)
        if reason is not None:
            emit(analyzer.name, AnalyzerStatus.SKIPPED, reason)
            return AnalyzerReport(analyzer.name, AnalyzerStatus.SKIPPED, reason=reason)
        emit(analyzer.name, "started")
        try:
            findings = await asyncio.wait_for(analyzer.run(ctx), timeout)
        except TimeoutError:
            status, detail, findings = AnalyzerStatus.TIMEOUT, f"timed out after {timeout:g} s", []
            logger.warning(
                "analyzer %s timed out after %g s (run %s)",
                analyzer.name,
                timeout,
                run_id,
                exc_info=True,
                extra={"run_id": run_id, "analyzer": analyzer.name},
            )
        except AnalyzerError as exc:
            status, detail, findings = AnalyzerStatus.SKIPPED, str(exc), []
        except Exception as exc:  # boundary: one analyzer's bug must not lose the review
            status, detail, findings = AnalyzerStatus.ERROR, f"{type(exc).__name__}: {exc}", []
            logger.exception(
                "analyzer %s failed (run %s)",
                analyzer.name,
                run_id,
                extra={"run_id": run_id, "analyzer": analyzer.name},
            )
        else:
            status, detail = AnalyzerStatus.OK, "; ".join(ctx.notes(analyzer.name))
        duration = time.perf_counter() - start
        emit(analyzer.name, status, detail or f"{len(findings)} finding(s)")
        return AnalyzerReport(
            analyzer.name,
            status,
            findings=tuple(findings),
            reason=detail,
            duration_s=round(duration, 3),
            count=len(findings),
        )

    return list(await asyncio.gather(*(one(a) for a in analyzers)))
