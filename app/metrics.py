"""The App's Prometheus metrics, exposed through prometheus_client.

Two kinds of series:

- recorded as things happen, in the process that saw them: webhook deliveries by outcome,
  finished jobs by kind and outcome, and a histogram of job latency;
- read at scrape time from the database, so every process answers alike: jobs per status,
  the longest wait of a claimable job, and model tokens and spend from the stored evidence
  (counters: evidence is only ever added). The GitHub rate limit left per installation is
  what this process's clients last saw.

Several processes on one host (`swarm serve` under a process manager, `swarm worker`s)
share the recorded series when `PROMETHEUS_MULTIPROC_DIR` names a directory writable by
all of them and emptied before they start (prometheus_client's multiprocess mode): each
process writes its values there and a scrape of any one of them sums them all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from swarm_core import StoreError
from swarm_core.store import Backlog

__all__ = ["CONTENT_TYPE", "JOB_SECONDS_BUCKETS", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
# A deterministic review takes seconds; one with model lanes, minutes; a large council or
# a slow provider, up to the run's wall-time limit (15 minutes by default).
JOB_SECONDS_BUCKETS = (1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0)
# prometheus_client picks where values live (memory, or files here) from this variable when
# it is imported; reading the same variable (not a setting) means the two always agree.
_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The App's metrics: record with `delivery` and `job_finished`, expose with `render`.

    Args:
        backlog: reads the job queue's snapshot (called at scrape time).
        spend: reads the stored model usage per model: rows with `model`, `input_tokens`,
            `output_tokens` and `cost_usd`, as `RunStore.cost_summary("model")` gives them.
        rate_remaining: the GitHub rate limit left per installation, as this process knows it.
    """

    def __init__(
        self,
        *,
        backlog: Callable[[], Backlog],
        spend: Callable[[], list[dict[str, Any]]],
        rate_remaining: Callable[[], Mapping[int, int]] = dict,
    ) -> None:
        # One registry per App: tests build many Apps in one process and each counts alone.
        self._registry = CollectorRegistry(auto_describe=True)
        self._deliveries = Counter(
            "swarm_deliveries", "Webhook deliveries by outcome.", ["outcome"], registry=self._registry
        )
        self._jobs_finished = Counter(
            "swarm_jobs_finished",
            "Jobs finished by kind and outcome.",
            ["kind", "outcome"],
            registry=self._registry,
        )
        self._job_seconds = Histogram(
            "swarm_job_seconds",
            "Wall time of a job, from claim to its outcome.",
            ["kind"],
            buckets=JOB_SECONDS_BUCKETS,
            registry=self._registry,
        )
        self._store = _StoreCollector(backlog, spend, rate_remaining)
        self._registry.register(self._store)

    def delivery(self, outcome: str) -> None:
        """Count one webhook delivery (queued, duplicate, ignored, bad_signature, ...)."""
        self._deliveries.labels(outcome=outcome).inc()

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        """Count a finished job and observe its latency."""
        self._jobs_finished.labels(kind=kind, outcome=outcome).inc()
        self._job_seconds.labels(kind=kind).observe(seconds)

    def render(self) -> bytes:
        """The exposition text: the recorded series and those read from the database now.

        In multiprocess mode the recorded series are summed over every process sharing the
        directory, this one included.
        """
        if not _MULTIPROC_DIR:
            return generate_latest(self._registry)
        shared = CollectorRegistry()
        MultiProcessCollector(shared, path=_MULTIPROC_DIR)  # type: ignore[no-untyped-call]
        shared.register(self._store)
        return generate_latest(shared)


class _StoreCollector(Collector):
    """Series read from the database (and the clients' last rate-limit answer) at scrape time."""

    def __init__(
        self,
        backlog: Callable[[], Backlog],
        spend: Callable[[], list[dict[str, Any]]],
        rate_remaining: Callable[[], Mapping[int, int]],
    ) -> None:
        self._backlog = backlog
        self._spend = spend
        self._rate_remaining = rate_remaining

    def describe(self) -> list[Metric]:
        # Describing would read the database at registration; the names are not needed then.
        return []

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("swarm_store_up", "1 when the database answered this scrape, else 0.")
        try:
            backlog = self._backlog()
            spend = self._spend()
        except StoreError:
            up.add_metric([], 0)
        else:
            up.add_metric([], 1)
            yield from _queue_families(backlog)
            yield from _spend_families(spend)
        yield up
        rate = GaugeMetricFamily(
            "swarm_github_rate_limit_remaining",
            "GitHub API requests left in the current window, per installation (as this process last saw).",
            labels=["installation"],
        )
        for installation, remaining in sorted(self._rate_remaining().items()):
            rate.add_metric([str(installation)], remaining)
        yield rate


def _queue_families(backlog: Backlog) -> Iterator[Metric]:
    jobs = GaugeMetricFamily("swarm_jobs", "Jobs in the queue's table by status.", labels=["status"])
    for status, n in sorted(backlog.jobs.items()):
        jobs.add_metric([status], n)
    yield jobs
    yield GaugeMetricFamily(
        "swarm_queue_oldest_job_age_seconds",
        "How long the longest-waiting claimable job has waited for a worker (0 when none waits).",
        value=backlog.oldest_wait_s,
    )


def _spend_families(rows: list[dict[str, Any]]) -> Iterator[Metric]:
    tokens = CounterMetricFamily(
        "swarm_llm_tokens", "Model tokens (input and output) of stored model calls.", labels=["model"]
    )
    cost = CounterMetricFamily("swarm_llm_cost_usd", "USD spent on stored model calls.", labels=["model"])
    for row in rows:
        model = str(row["model"])
        tokens.add_metric([model], row["input_tokens"] + row["output_tokens"])
        cost.add_metric([model], row["cost_usd"])
    yield tokens
    yield cost
