"""What the faces read from the job queue: dead letters (the API, `swarm runs failed`) and a repository's installation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import load_settings
from swarm_core.store import open_store, sqlite_url
from swarm_core.store.queue import FAILED, JobQueue
from tests.conftest import ROOT

TOKEN = "api-token"
# A GitHub token in an exception's text must not leave through the API.
LEAKY = "GitHub said: bad credentials ghp_" + "a" * 36


def fail_for_good(queue: JobQueue, key: str, reason: str) -> str:
    """Enqueue a job and fail it on its one allowed attempt."""
    job_id = queue.enqueue("review", key, {"repo": "o/r"}, installation_id=7, max_attempts=1)
    job = queue.claim("test-worker")
    assert job is not None and job.id == job_id
    assert queue.fail(job_id, "test-worker", reason) == FAILED
    return job_id


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings({"SWARM_DATA_DIR": str(tmp_path / "data"), "SWARM_API_TOKEN": TOKEN})
    with TestClient(create_app(settings, workers=0)) as c:
        yield c


def test_the_api_lists_failed_jobs_newest_first_with_their_reason(client: TestClient) -> None:
    queue: JobQueue = client.app.state.queue  # type: ignore[attr-defined]
    assert client.get("/api/jobs/failed", headers={"Authorization": f"Bearer {TOKEN}"}).json() == []
    first = fail_for_good(queue, "pr:o/r#1", "KeyError: 'repo'")
    second = fail_for_good(queue, "pr:o/r#2", LEAKY)
    queue.enqueue("review", "pr:o/r#3", {}, installation_id=7)  # queued: not a dead letter

    answer = client.get("/api/jobs/failed", headers={"Authorization": f"Bearer {TOKEN}"})

    assert answer.status_code == 200
    rows = answer.json()
    assert [(r["id"], r["key"], r["reason"]) for r in rows] == [
        (second, "pr:o/r#2", "GitHub said: bad credentials [redacted]"),
        (first, "pr:o/r#1", "KeyError: 'repo'"),
    ]
    assert {k: v for k, v in rows[1].items() if k != "failed_at"} == {
        "id": first,
        "kind": "review",
        "key": "pr:o/r#1",
        "installation_id": 7,
        "attempts": 1,
        "max_attempts": 1,
        "reason": "KeyError: 'repo'",
    }
    limited = client.get("/api/jobs/failed?limit=1", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert [r["id"] for r in limited] == [second]


def test_the_api_shows_dead_letters_to_the_token_holder_only(client: TestClient) -> None:
    assert client.get("/api/jobs/failed").status_code == 401
    assert client.get("/api/jobs/failed", headers={"Authorization": "Bearer wrong"}).status_code == 401


def swarm(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swarm_cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_swarm_runs_failed_reads_the_apps_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWARM_DATABASE_URL", raising=False)
    env = {**os.environ, "SWARM_DATA_DIR": str(tmp_path / "data")}
    empty = swarm("runs", "failed", env=env)
    assert (empty.returncode, empty.stdout) == (0, "no job has failed for good\n"), empty.stderr

    # `swarm serve` without SWARM_DATABASE_URL keeps its queue in this file.
    store = open_store(sqlite_url(tmp_path / "data"))
    try:
        job_id = fail_for_good(JobQueue(store.engine), "issue:o/r#5", "GitHubNotFound: no such issue")
    finally:
        store.close()

    listed = swarm("runs", "failed", "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["id"], row["key"], row["attempts"], row["reason"]) == (
        job_id,
        "issue:o/r#5",
        1,
        "GitHubNotFound: no such issue",
    )
    table = swarm("runs", "failed", env={**env, "COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    assert job_id in table.stdout and "GitHubNotFound: no such issue" in table.stdout


def test_a_review_asked_through_the_api_runs_as_the_installation_that_last_wrote(client: TestClient) -> None:
    """POST /api/reviews finds the installation through the queue (`JobQueue.installation_of`)."""
    queue: JobQueue = client.app.state.queue  # type: ignore[attr-defined]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for guid, installation in (("d-1", 11), ("d-2", None), ("d-3", 12)):
        queue.record_delivery(
            hook_id="1",
            guid=guid,
            event="ping",
            action="",
            installation_id=installation,
            repo="o/r",
            job=None,
            outcome="ignored",
        )
    assert queue.installation_of("o/r") == 12  # the newest delivery that named one
    assert queue.installation_of("o/other") is None

    answer = client.post("/api/reviews", json={"repo": "o/r", "pr": 3}, headers=auth)

    assert answer.status_code == 202
    job = queue.get(answer.json()["job"])
    assert job is not None
    assert (job.kind, job.key, job.installation_id, job.payload["trigger"]) == (
        "review",
        "pr:o/r#3",
        12,
        "api",
    )
    assert client.post("/api/reviews", json={"repo": "o/other", "pr": 3}, headers=auth).status_code == 404
