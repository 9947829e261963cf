"""swarm's review jobs in-process against the fake GitHub (and optionally the fake LLM), without the App.

The store is SQLite in a temporary directory, swarm's token is a static token that writes as
the App's bot, and each `review` runs one job from the queue as a worker would: claim,
`review_pull_request`, complete. Used by tests/test_converge.py, tests/test_app_regression.py
(which import the `fake` and `rig` fixtures from here) and bench/converge.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarm_core.engine import ProviderKeys, build_engine
from swarm_core.errors import SwarmError
from swarm_core.github import GitHubClient, Services
from swarm_core.github.command_job import run_command
from swarm_core.github.markers import Markers
from swarm_core.github.review_job import review_pull_request
from swarm_core.sql_memory import SqlMemory
from swarm_core.store import open_store, sqlite_url
from swarm_core.store.queue import JobQueue
from tests.fakes.github import FakeGitHub

__all__ = ["REPO", "Rig", "fake_fixture", "rig_fixture"]

REPO = "octo-org/converge"
TOKEN = "ghs_rigtoken0000000000000000000000000000"


class Rig:
    """One repository's review jobs; `llm` is a FakeLLM (model lanes on) or None (analyzers only)."""

    def __init__(
        self, fake: FakeGitHub, tmp: Path, llm: Any = None, model: str = "openai/gpt-4o-mini"
    ) -> None:
        self.fake = fake
        fake.static_tokens.add(TOKEN)
        fake.token_users[TOKEN] = fake.bot_login
        self.client = GitHubClient.for_token(TOKEN, fake.url, retries=0)
        self.store = open_store(sqlite_url(tmp / "swarm"))
        self.queue = JobQueue(self.store.engine)
        keys = ProviderKeys()
        if llm is not None:
            keys = ProviderKeys.from_mapping({"OPENAI_API_KEY": llm.key or "", "OPENAI_BASE_URL": llm.url})
        engine = build_engine(keys, model=model if llm is not None else None)
        self.markers = Markers(b"rig-marker-key", fake.bot_login)
        self.services = Services(
            clients=lambda _installation: self.client,
            store=self.store,
            queue=self.queue,
            review=engine.review,
            state=SqlMemory(self.store.engine),
            markers=lambda: self.markers,
        )

    def _run(self, kind: str, number: int, payload: dict[str, Any]) -> dict[str, Any]:
        self.queue.enqueue(kind, f"pr:{REPO}#{number}", payload)
        job = self.queue.claim("rig", lease_s=600)
        assert job is not None
        handler = review_pull_request if kind == "review" else run_command
        try:
            result = asyncio.run(handler(job, self.services, job.payload))
        except SwarmError as exc:  # the job fails; the caller runs the next one (the retry)
            self.queue.fail(job.id, "rig", str(exc), retry=False)
            raise
        self.queue.complete(job.id, "rig", result)
        return result

    def review(self, number: int, **extra: Any) -> dict[str, Any]:
        """The job a push (`pull_request.synchronize`) enqueues, run to the end."""
        head = self.fake.pulls[(REPO, number)].head_sha
        return self._run("review", number, {"repo": REPO, "number": number, "head_sha": head, **extra})

    def command(self, number: int, body: str, author: str = "maintainer") -> dict[str, Any]:
        """A `/swarm ...` comment on the pull request, answered."""
        self.fake.permissions.setdefault(author, "write")
        self.fake.add_issue_comment(REPO, number, body, author)
        comment_id = self.fake.issue_comments[-1]["id"]
        payload = {"repo": REPO, "number": number, "is_pr": True, "comment_id": comment_id, "author": author}
        return self._run("command", number, {**payload, "body": body})

    def close(self) -> None:
        self.store.close()


@pytest.fixture(name="fake")
def fake_fixture() -> Iterator[FakeGitHub]:
    """The fake GitHub holding an empty REPO; the test fails if swarm broke one of GitHub's rules."""
    with FakeGitHub() as gh:
        gh.add_repo(REPO, files={})
        yield gh
    assert gh.violations == []


@pytest.fixture(name="rig")
def rig_fixture(fake: FakeGitHub, tmp_path: Path) -> Iterator[Rig]:
    """swarm's review jobs against `fake`, analyzers only."""
    r = Rig(fake, tmp_path)
    yield r
    r.close()
