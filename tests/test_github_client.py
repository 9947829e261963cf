"""The GitHub client's own retry of a POST after a rate limit: which answers retry, waits, attempt counts."""

from __future__ import annotations

from typing import Any

import pytest
from github import GithubException

from swarm_core.errors import (
    GitHubAuthError,
    GitHubRateLimited,
    GitHubUnavailable,
    GitHubValidation,
    RetryLater,
)
from swarm_core.github.client import GitHubClient


class ScriptedRequester:
    """Answers each call with the next scripted outcome: an exception to raise or a body to return."""

    def __init__(self, *outcomes: Exception | dict[str, Any]) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, str]] = []

    def requestJsonAndCheck(self, method: str, path: str, **_: Any) -> tuple[dict[str, str], Any]:
        self.calls.append((method, path))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return {"X-RateLimit-Remaining": "4999"}, outcome


def secondary_limit(retry_after: str) -> GithubException:
    return GithubException(
        403, {"message": "You have exceeded a secondary rate limit"}, {"Retry-After": retry_after}
    )


def client(requester: ScriptedRequester, sleeps: list[float], max_wait_s: float = 60.0) -> GitHubClient:
    return GitHubClient(requester, sleep=sleeps.append, max_wait_s=max_wait_s)  # type: ignore[arg-type]


def test_a_rate_limited_post_waits_as_asked_and_is_sent_again() -> None:
    requester = ScriptedRequester(secondary_limit("7"), GithubException(429, {}, {}), {"id": 1})
    sleeps: list[float] = []
    gh = client(requester, sleeps)
    assert gh.post("/repos/o/r/issues/1/comments", {"body": "x"}, "commenting") == {"id": 1}
    # 7 s as GitHub asked; a bare 429 with no hint waits the secondary-limit minute
    assert sleeps == [7.0, 60.0]
    assert len(requester.calls) == 3 and gh.rate_remaining == 4999


def test_a_post_gives_up_after_three_attempts() -> None:
    requester = ScriptedRequester(*(secondary_limit("0") for _ in range(3)))
    sleeps: list[float] = []
    with pytest.raises(GitHubRateLimited, match="GitHub answered 403 to commenting") as info:
        client(requester, sleeps).post("/repos/o/r/issues/1/comments", {"body": "x"}, "commenting")
    assert len(requester.calls) == 3
    assert sleeps == [1.0, 1.0]  # Retry-After: 0 still waits a second
    assert isinstance(info.value.__cause__, GithubException)


def test_a_wait_longer_than_allowed_fails_at_once() -> None:
    requester = ScriptedRequester(secondary_limit("120"))
    sleeps: list[float] = []
    with pytest.raises(GitHubRateLimited) as info:
        client(requester, sleeps, max_wait_s=60).post("/x", {}, "posting")
    assert info.value.retry_after == 120.0 and sleeps == [] and len(requester.calls) == 1


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (GithubException(422, {"message": "Validation Failed"}, {}), GitHubValidation),
        (GithubException(502, {"message": "Bad Gateway"}, {}), GitHubUnavailable),
        (ConnectionError("reset by peer"), GitHubUnavailable),
    ],
)
def test_other_post_failures_are_not_retried(exc: Exception, kind: type[Exception]) -> None:
    requester = ScriptedRequester(exc)
    sleeps: list[float] = []
    with pytest.raises(kind):
        client(requester, sleeps).post("/x", {}, "posting")
    assert len(requester.calls) == 1 and sleeps == []


def test_idempotent_calls_are_left_to_pygithubs_retry() -> None:
    # PyGithub's urllib3 Retry already waited these out; a rate limit that reaches here is final.
    requester = ScriptedRequester(secondary_limit("1"))
    sleeps: list[float] = []
    with pytest.raises(GitHubRateLimited):
        client(requester, sleeps).patch("/x", {}, "updating")
    assert len(requester.calls) == 1 and sleeps == []


def test_a_wait_longer_than_defer_after_raises_retry_later() -> None:
    requester = ScriptedRequester(secondary_limit("120"))
    sleeps: list[float] = []
    gh = GitHubClient(requester, sleep=sleeps.append, defer_after_s=10)  # type: ignore[arg-type]
    with pytest.raises(RetryLater) as info:
        gh.post("/x", {}, "posting")
    assert info.value.after_s == 120.0 and sleeps == [] and len(requester.calls) == 1
    assert isinstance(info.value.__cause__, GitHubRateLimited)
    # A short wait is still waited out in place.
    requester = ScriptedRequester(secondary_limit("3"), {"id": 2})
    gh = GitHubClient(requester, sleep=sleeps.append, defer_after_s=10)  # type: ignore[arg-type]
    assert gh.post("/x", {}, "posting") == {"id": 2} and sleeps == [3.0]


def test_a_graphql_rate_limit_is_a_rate_limit_not_a_refusal() -> None:
    # GitHub answers a GraphQL rate limit with 200 and an error typed RATE_LIMITED (or RATE_LIMIT).
    for kind in ("RATE_LIMITED", "RATE_LIMIT"):
        limited = {"data": None, "errors": [{"type": kind, "message": "API rate limit exceeded"}]}
        gh = GitHubClient(ScriptedRequester(limited))  # type: ignore[arg-type]
        with pytest.raises(
            GitHubRateLimited, match="GitHub refused the blame: API rate limit exceeded"
        ) as info:
            gh.graphql("query { x }", {}, "the blame")
        assert info.value.retry_after == 60.0  # no hint in the headers: the secondary-limit minute
        # The App's worker gives the job back instead of waiting in place.
        gh = GitHubClient(ScriptedRequester(limited), defer_after_s=10)  # type: ignore[arg-type]
        with pytest.raises(RetryLater) as later:
            gh.graphql("query { x }", {}, "the blame")
        assert later.value.after_s == 60.0
    refused = {"data": None, "errors": [{"type": "SOMETHING_ELSE", "message": "no"}]}
    with pytest.raises(GitHubValidation):
        GitHubClient(ScriptedRequester(refused)).graphql("query { x }", {}, "the blame")  # type: ignore[arg-type]


def test_a_401_mints_a_new_token_once() -> None:
    dead = ScriptedRequester(GithubException(401, {"message": "Bad credentials"}, {}))
    fresh = ScriptedRequester({"id": 1})
    renewed: list[ScriptedRequester] = []

    def renew() -> ScriptedRequester:
        renewed.append(fresh)
        return fresh

    gh = GitHubClient(dead, renew=renew)  # type: ignore[arg-type]
    assert gh.request("GET", "/x")[1] == {"id": 1}
    assert len(renewed) == 1 and gh.tokens_renewed == 1
    # A token that is refused again is not renewed in a loop: the 401 goes to the caller.
    fresh.outcomes.append(GithubException(401, {"message": "Bad credentials"}, {}))
    again = ScriptedRequester(GithubException(401, {"message": "Bad credentials"}, {}))
    gh = GitHubClient(fresh, renew=lambda: again)  # type: ignore[arg-type]
    with pytest.raises(GitHubAuthError):
        gh.request("GET", "/x")
    assert gh.tokens_renewed == 1 and again.calls == [("GET", "/x")]


class RecordingRequester:
    """Records each request's JSON body and answers with an empty object."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []

    def requestJsonAndCheck(self, method: str, path: str, **kw: Any) -> tuple[dict[str, str], Any]:
        self.bodies.append(kw.get("input"))
        return {}, {}


def test_every_body_written_to_github_passes_the_clients_redactor() -> None:
    # A council reply, an issue analysis or an error quoted in a comment: whoever built the
    # text, the client's write path is the one place where all of it leaves for GitHub.
    from swarm_core.redact import REDACTED, Redactor

    requester = RecordingRequester()
    gh = GitHubClient(requester, redactor=Redactor(["sk-live-planted-key-0123456789"]))  # type: ignore[arg-type]
    gh.post("/repos/o/r/issues/1/comments", {"body": "the model said: sk-live-planted-key-0123456789"}, "c")
    gh.patch(
        "/repos/o/r/check-runs/5", {"output": {"title": "t", "text": ["sk-live-planted-key-0123456789"]}}, "p"
    )
    assert requester.bodies == [
        {"body": f"the model said: {REDACTED}"},
        {"output": {"title": "t", "text": [REDACTED]}},
    ]
    # With no redactor configured, credential shapes are still removed.
    bare = RecordingRequester()
    GitHubClient(bare).post("/x", {"body": "token ghp_" + "a" * 36}, "c")  # type: ignore[arg-type]
    assert "ghp_" not in str(bare.bodies)
