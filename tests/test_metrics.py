"""The App's Prometheus metrics: what each series says, the queue's backlog, several processes, /metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.metrics import CONTENT_TYPE, Metrics
from app.settings import load_settings
from swarm_core.errors import StoreError
from swarm_core.github.signature import sign
from swarm_core.models import Exchange, Usage
from swarm_core.store import open_store, sqlite_url
from swarm_core.store.backlog import Backlog, read_backlog
from swarm_core.store.database import normalize_url
from swarm_core.store.queue import JobQueue
from tests.conftest import ROOT
from tests.helpers import database_params, reset_database

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str | bytes) -> Samples:
    """Every sample of an exposition as {(name, sorted labels): value}, parsed by prometheus_client."""
    body = text.decode() if isinstance(text, bytes) else text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def types(text: bytes) -> dict[str, str]:
    """Each family's type, less prometheus_client's per-process `_created` timestamps."""
    families = text_string_to_metric_families(text.decode())
    return {f.name: f.type for f in families if not f.name.endswith("_created")}


SPEND = [
    {"model": "openai/gpt-4.1", "input_tokens": 1200, "output_tokens": 300, "cost_usd": 0.75},
    {"model": "ollama/qwen", "input_tokens": 50, "output_tokens": 5, "cost_usd": 0.0},
]


def test_recorded_and_scraped_series() -> None:
    metrics = Metrics(
        backlog=lambda: Backlog(jobs={"queued": 3, "running": 1, "done": 9}, oldest_wait_s=42.5),
        spend=lambda: SPEND,
        rate_remaining=lambda: {7: 4999, 12: 10},
    )
    for outcome in ("queued", "queued", "duplicate"):
        metrics.delivery(outcome)
    metrics.job_finished("review", "done", 3.0)
    metrics.job_finished("review", "done", 45.0)
    metrics.job_finished("issue", "failed", 0.2)
    text = metrics.render()
    got = samples(text)

    assert got[("swarm_deliveries_total", (("outcome", "queued"),))] == 2
    assert got[("swarm_deliveries_total", (("outcome", "duplicate"),))] == 1
    assert got[("swarm_jobs_finished_total", (("kind", "review"), ("outcome", "done")))] == 2
    assert got[("swarm_jobs_finished_total", (("kind", "issue"), ("outcome", "failed")))] == 1
    # a real histogram: count, sum and cumulative buckets per kind
    review = (("kind", "review"),)
    assert got[("swarm_job_seconds_count", review)] == 2
    assert got[("swarm_job_seconds_sum", review)] == 48.0
    assert got[("swarm_job_seconds_bucket", (("kind", "review"), ("le", "2.5")))] == 0
    assert got[("swarm_job_seconds_bucket", (("kind", "review"), ("le", "5.0")))] == 1
    assert got[("swarm_job_seconds_bucket", (("kind", "review"), ("le", "60.0")))] == 2
    assert got[("swarm_job_seconds_bucket", (("kind", "review"), ("le", "+Inf")))] == 2
    # read at scrape time
    assert {k: v for k, v in got.items() if k[0] == "swarm_jobs"} == {
        ("swarm_jobs", (("status", "done"),)): 9,
        ("swarm_jobs", (("status", "queued"),)): 3,
        ("swarm_jobs", (("status", "running"),)): 1,
    }
    assert got[("swarm_queue_oldest_job_age_seconds", ())] == 42.5
    assert got[("swarm_llm_cost_usd_total", (("model", "openai/gpt-4.1"),))] == 0.75
    assert got[("swarm_llm_tokens_total", (("model", "openai/gpt-4.1"),))] == 1500
    assert got[("swarm_llm_tokens_total", (("model", "ollama/qwen"),))] == 55
    assert got[("swarm_store_up", ())] == 1
    assert got[("swarm_github_rate_limit_remaining", (("installation", "12"),))] == 10
    assert types(text) == {
        "swarm_deliveries": "counter",
        "swarm_jobs_finished": "counter",
        "swarm_job_seconds": "histogram",
        "swarm_jobs": "gauge",
        "swarm_queue_oldest_job_age_seconds": "gauge",
        "swarm_llm_tokens": "counter",
        "swarm_llm_cost_usd": "counter",
        "swarm_store_up": "gauge",
        "swarm_github_rate_limit_remaining": "gauge",
    }


def test_a_database_that_does_not_answer_leaves_the_recorded_series() -> None:
    def down() -> Backlog:
        raise StoreError("job queue: cannot count jobs: connection refused")

    metrics = Metrics(backlog=down, spend=lambda: SPEND)
    metrics.delivery("store_error")
    got = samples(metrics.render())
    assert got[("swarm_store_up", ())] == 0
    assert got[("swarm_deliveries_total", (("outcome", "store_error"),))] == 1
    assert not any(name.startswith(("swarm_jobs", "swarm_llm", "swarm_queue")) for name, _ in got)


def test_each_app_counts_alone() -> None:
    first, second = (Metrics(backlog=lambda: Backlog({}, 0.0), spend=list) for _ in range(2))
    first.delivery("queued")
    assert ("swarm_deliveries_total", (("outcome", "queued"),)) not in samples(second.render())


@pytest.fixture(params=database_params())
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "data")
    else:
        reset_database(request.param)
        url = normalize_url(request.param)
    store = open_store(url)
    yield store.engine
    store.close()


def test_the_backlog_counts_jobs_and_the_longest_wait(engine: sa.Engine) -> None:
    now = [1_000_000.0]
    queue = JobQueue(engine, clock=lambda: now[0], backoff_s=100.0)
    assert read_backlog(engine, now[0]) == Backlog(jobs={}, oldest_wait_s=0.0)
    queue.enqueue("review", "pr:o/r#1", {})
    now[0] += 30
    queue.enqueue("review", "pr:o/r#2", {})
    now[0] += 10
    assert read_backlog(engine, now[0]) == Backlog(jobs={"queued": 2}, oldest_wait_s=40.0)
    # the oldest is claimed and fails: it waits again only from its retry time, 100 s on
    job = queue.claim("w1", lease_s=60)
    assert job is not None and job.key == "pr:o/r#1"
    assert read_backlog(engine, now[0]) == Backlog(jobs={"queued": 1, "running": 1}, oldest_wait_s=10.0)
    queue.fail(job.id, "w1", "boom")
    now[0] += 5
    assert read_backlog(engine, now[0]) == Backlog(jobs={"queued": 2}, oldest_wait_s=15.0)
    now[0] += 200
    assert read_backlog(engine, now[0]).oldest_wait_s == 215.0


def test_an_unreadable_queue_is_a_store_error(tmp_path: Path) -> None:
    engine = sa.create_engine(sqlite_url(tmp_path))  # no tables: never migrated
    with pytest.raises(StoreError, match="job queue: cannot count jobs"):
        read_backlog(engine, time.time())


RECORD = """
import sys
from app.metrics import Metrics
from swarm_core.store.backlog import Backlog
m = Metrics(backlog=lambda: Backlog({"queued": 1}, 2.0), spend=list)
for _ in range(int(sys.argv[1])):
    m.delivery("queued")
m.job_finished("review", "done", float(sys.argv[1]))
if sys.argv[2] == "render":
    sys.stdout.write(m.render().decode())
"""


def test_processes_sharing_a_multiprocess_dir_are_summed(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}

    def run(n: int, then: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", RECORD, str(n), then], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    run(2, "exit")  # a `swarm worker`, say, that has since exited
    run(3, "exit")
    got = samples(run(1, "render"))
    assert got[("swarm_deliveries_total", (("outcome", "queued"),))] == 6
    assert got[("swarm_job_seconds_count", (("kind", "review"),))] == 3
    assert got[("swarm_job_seconds_sum", (("kind", "review"),))] == 6.0
    assert got[("swarm_jobs", (("status", "queued"),))] == 1  # read once, not once per process
    assert got[("swarm_queue_oldest_job_age_seconds", ())] == 2.0


def _wait_for(predicate: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_app_serves_its_metrics(tmp_path: Path) -> None:
    # Public here so the scrape needs no token; test_api_hostile checks that it is guarded by default.
    settings = load_settings(
        {"SWARM_DATA_DIR": str(tmp_path), "GITHUB_WEBHOOK_SECRET": "s3cret", "SWARM_METRICS_PUBLIC": "true"}
    )
    app = create_app(settings, workers=1, poll_s=0.05)
    with TestClient(app) as client:
        body = b'{"zen": "Keep it logically awesome."}'
        bad = client.post("/github/webhook", content=body, headers={"X-Hub-Signature-256": sign("x", body)})
        assert bad.status_code == 401
        queue: JobQueue = app.state.queue
        # a kind no handler knows fails at once, and is not retried
        job_id = queue.enqueue("nonsense", "k", {})
        _wait_for(lambda: (job := queue.get(job_id)) is not None and job.status == "failed")
        exchange = Exchange(
            "lane", "security", "openai/gpt-4.1", "h", Usage(calls=1, cost_usd=0.5), 0.1, "ok"
        )
        app.state.store.save_document(
            "council",
            source="o/r#1",
            status="APPROVE",
            duration_s=1.0,
            document={},
            exchanges=(exchange,),
            counts={},
            repo="o/r",
            installation_id=7,
        )
        _wait_for(
            lambda: (
                ("swarm_jobs_finished_total", (("kind", "nonsense"), ("outcome", "failed")))
                in samples(client.get("/metrics").text)
            )
        )
        response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"] == CONTENT_TYPE
    got = samples(response.text)
    assert got[("swarm_deliveries_total", (("outcome", "bad_signature"),))] == 1
    assert got[("swarm_jobs_finished_total", (("kind", "nonsense"), ("outcome", "failed")))] == 1
    assert got[("swarm_job_seconds_count", (("kind", "nonsense"),))] == 1
    assert got[("swarm_jobs", (("status", "failed"),))] == 1
    assert got[("swarm_queue_oldest_job_age_seconds", ())] == 0
    assert got[("swarm_llm_cost_usd_total", (("model", "openai/gpt-4.1"),))] == 0.5
    assert got[("swarm_store_up", ())] == 1
