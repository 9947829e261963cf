"""The App under GitHub's faults (issue 21): nothing posted twice, no check run left running,
tokens replaced, waits handed back to the queue, model spend within its caps."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from swarm_core.store.queue import DONE, QUEUED, JobQueue
from tests.fakes.github import FakeGitHub
from tests.test_app import (  # noqa: F401 (fixtures)
    HEAD,
    HEAD2,
    add_pull,
    app_key,
    client,
    deliver,
    drain,
    github,
    opened_payload,
)


def test_a_revoked_installation_token_is_replaced_once(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    deliver(client, "pull_request", opened_payload(), "t-1")
    assert drain(client) == {DONE: 1}
    assert len(github.posted("POST", r"/access_tokens$")) == 1
    github.tokens.clear()  # the installation's token is revoked: every call with it answers 401
    deliver(client, "pull_request", opened_payload("reopened", head_sha), "t-2")
    assert drain(client) == {DONE: 2}
    assert len(github.posted("POST", r"/access_tokens$")) == 2  # one new token, minted once
    refused = [r for r in github.requests if r.status == 401]
    assert len(refused) == 1


def test_a_long_retry_after_releases_the_job_instead_of_sleeping(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    github.fail("GET", r"/pulls/2$", 403, headers={"Retry-After": "120"})
    queue: JobQueue = client.app.state.queue  # type: ignore[attr-defined]
    started = time.monotonic()
    job_id = deliver(client, "pull_request", opened_payload(), "w-1").json()["job"]
    job = queue.get(job_id)
    while job is not None and not (job.status == QUEUED and job.error) and time.monotonic() - started < 30:
        time.sleep(0.01)
        job = queue.get(job_id)
    elapsed = time.monotonic() - started
    assert job is not None and job.status == QUEUED and "RetryLater" in job.error
    assert elapsed < 1.0  # released at once, not slept through
    assert job.attempts == 0 and job.run_after >= time.time() + 100  # not before GitHub's 120 s
    assert [r.status for r in github.requests if r.path.endswith("/pulls/2")] == [403]
