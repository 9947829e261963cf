"""The App under GitHub's faults (issue 21): nothing posted twice, no check run left running,
tokens replaced, waits handed back to the queue, model spend within its caps."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from swarm_core.store.queue import DONE, QUEUED, JobQueue
from tests.fakes.github import FakeGitHub
from tests.test_app import (  # noqa: F401 (app_key, client and github are fixtures, used by `rig`)
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


@dataclass
class Rig:
    """The App on loopback (one in-process worker) and the fake GitHub it talks to."""

    client: TestClient
    github: FakeGitHub
    tmp: Path

    @property
    def queue(self) -> JobQueue:
        queue: JobQueue = self.client.app.state.queue  # type: ignore[attr-defined]
        return queue


@pytest.fixture
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Rig:
    return Rig(request.getfixturevalue("client"), request.getfixturevalue("github"), tmp_path)


def test_a_revoked_installation_token_is_replaced_once(rig: Rig) -> None:
    app, gh, tmp_path = rig.client, rig.github, rig.tmp
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(gh, tmp_path / "r", HEAD, head_sha)
    deliver(app, "pull_request", opened_payload(), "t-1")
    assert drain(app) == {DONE: 1}
    assert len(gh.posted("POST", r"/access_tokens$")) == 1
    gh.tokens.clear()  # the installation's token is revoked: every call with it answers 401
    deliver(app, "pull_request", opened_payload("reopened", head_sha), "t-2")
    assert drain(app) == {DONE: 2}
    assert len(gh.posted("POST", r"/access_tokens$")) == 2  # one new token, minted once
    refused = [r for r in gh.requests if r.status == 401]
    assert len(refused) == 1


def test_a_long_retry_after_releases_the_job_instead_of_sleeping(rig: Rig) -> None:
    app, gh, tmp_path = rig.client, rig.github, rig.tmp
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(gh, tmp_path / "r", HEAD, head_sha)
    gh.fail("GET", r"/pulls/2$", 403, headers={"Retry-After": "120"})
    queue: JobQueue = app.app.state.queue  # type: ignore[attr-defined]
    started = time.monotonic()
    job_id = deliver(app, "pull_request", opened_payload(), "w-1").json()["job"]
    job = queue.get(job_id)
    while job is not None and not (job.status == QUEUED and job.error) and time.monotonic() - started < 30:
        time.sleep(0.01)
        job = queue.get(job_id)
    elapsed = time.monotonic() - started
    assert job is not None and job.status == QUEUED and "RetryLater" in job.error
    assert elapsed < 1.0  # released at once, not slept through
    assert job.attempts == 0 and job.run_after >= time.time() + 100  # not before GitHub's 120 s
    assert [r.status for r in gh.requests if r.path.endswith("/pulls/2")] == [403]
