"""`swarm serve` and `swarm worker` as an operator runs them: one log format for every record, and job metrics."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from swarm_core.store import open_store, sqlite_url
from swarm_core.store.queue import FAILED, JobQueue
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def app_env() -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWARM_", "PROMETHEUS_"))}
    return {**env, "GITHUB_APP_ID": "4242", "GITHUB_PRIVATE_KEY": pem, "GITHUB_WEBHOOK_SECRET": "s3cret"}


class Process:
    """A CLI process whose stderr lines are read as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "swarm_cli", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, seen: Callable[[str], bool], timeout: float = 30.0) -> str:
        """The first stderr line for which `seen` is true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.lines.append(line)
            if seen(line):
                return line
        raise AssertionError("not seen; stderr so far:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        """SIGTERM, as a process manager stops it; then the rest of its stderr."""
        self.proc.send_signal(signal.SIGTERM)
        self.close()
        while not self._queue.empty():
            self.lines.append(self._queue.get())

    def close(self) -> None:
        """Wait for the process and for the reader to reach the end of its stderr."""
        self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


def json_records(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture
def running() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for p in started:
        if p.proc.poll() is None:
            p.proc.kill()
        p.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_logs_uvicorns_records_in_the_chosen_format(
    app_env: dict[str, str], tmp_path: Path, running: list[Process]
) -> None:
    port = free_port()
    env = {**app_env, "SWARM_DATA_DIR": str(tmp_path / "data")}
    serve = Process(["--log-format", "json", "serve", "--port", str(port), "--workers", "0"], env)
    running.append(serve)

    serve.wait_for(lambda line: "Uvicorn running on" in line)
    serve.stop()

    # Every line but the banner is a JSON record, uvicorn's own included (log_config=None).
    banner, *rest = [line for line in serve.lines if line]
    assert banner == f"swarm 0.1.0: serving on http://127.0.0.1:{port} with 0 worker(s)"
    records = json_records(rest)
    assert len(records) == len(rest)
    assert {
        "logger": "uvicorn.error",
        "level": "INFO",
        "message": f"Uvicorn running on http://127.0.0.1:{port} (Press CTRL+C to quit)",
    } in [{k: r[k] for k in ("logger", "level", "message")} for r in records]


def test_worker_logs_a_failed_job_as_json_and_counts_it(
    app_env: dict[str, str], tmp_path: Path, running: list[Process]
) -> None:
    data, metrics_dir = tmp_path / "data", tmp_path / "prometheus"
    metrics_dir.mkdir()
    store = open_store(sqlite_url(data))
    jobs = JobQueue(store.engine)
    job_id = jobs.enqueue("nonsense", "k:1", {})  # an unknown kind fails for good at once
    env = {
        **app_env,
        "SWARM_DATA_DIR": str(data),
        "SWARM_LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    worker = Process(["worker", "--poll", "0.05"], env)
    running.append(worker)
    try:
        deadline = time.monotonic() + 30
        while (job := jobs.get(job_id)) is not None and job.status != FAILED:
            assert time.monotonic() < deadline, f"job not failed: {job}"
            time.sleep(0.05)
    finally:
        store.close()
    worker.wait_for(lambda line: job_id in line and "ValueError" in line)
    worker.stop()

    (failure,) = [r for r in json_records(worker.lines) if r.get("job_id") == job_id]
    assert (failure["level"], failure["job_kind"]) == ("ERROR", "nonsense")
    assert "ValueError: unknown job kind 'nonsense'" in failure["exc"]
    # The worker's on_done recorded the job where `swarm serve`'s /metrics reads it.
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))  # type: ignore[no-untyped-call]
    exposition = generate_latest(registry).decode()
    assert 'swarm_jobs_finished_total{kind="nonsense",outcome="failed"} 1.0' in exposition
    assert 'swarm_job_seconds_count{kind="nonsense"} 1.0' in exposition


def test_an_unknown_log_format_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "swarm_cli", "--log-format", "xml", "runs", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Invalid value for '--log-format': 'xml' is not one of 'text', 'json'." in result.stderr
