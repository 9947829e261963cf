"""Pure GitHub parts on real payloads: signatures (GitHub's test vector), routing, `/swarm` commands."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarm_core.errors import InvalidPayload
from swarm_core.github.commands import Command, parse_command
from swarm_core.github.events import installation_id, route
from swarm_core.github.signature import sign, verify
from tests.conftest import PAYLOADS


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def test_signature_matches_githubs_test_vector() -> None:
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign("It's a Secret to Everybody", b"Hello, World!") == expected
    assert verify("It's a Secret to Everybody", b"Hello, World!", expected)


@pytest.mark.parametrize(
    ("secret", "body", "header"),
    [
        (None, b"x", sign("s", b"x")),  # no secret configured: fail closed
        ("", b"x", sign("", b"x")),
        ("s", b"x", None),
        ("s", b"x", ""),
        ("s", b"x", sign("s", b"y")),
        ("s", b"x", sign("s", b"x").replace("sha256=", "sha1=")),
        ("s", b"x", "sha256=" + "0" * 64),
    ],
)
def test_signature_fails_closed(secret: str | None, body: bytes, header: str | None) -> None:
    assert verify(secret, body, header) is False


def test_pull_request_events_enqueue_a_superseding_review() -> None:
    for action in ("opened", "synchronize", "reopened"):
        r = route("pull_request", payload(f"pull_request/{action}.payload.json"))
        assert r.job is not None
        kind, key, job, supersede = r.job
        assert (kind, key, supersede) == ("review", "pr:Codertocat/Hello-World#2", True)
        assert job["installation_id"] == 1 and job["number"] == 2 and len(job["head_sha"]) == 40
        assert job["trigger"] == f"pull_request.{action}" and job["bot"] is False
    ready = route("pull_request", payload("pull_request/ready_for_review.with-installation.payload.json"))
    assert ready.job is not None and ready.job[2]["trigger"] == "pull_request.ready_for_review"


@pytest.mark.parametrize(
    ("event", "name", "outcome"),
    [
        ("pull_request", "pull_request/closed.payload.json", "ignored: pull_request closed"),
        ("pull_request", "pull_request/labeled.payload.json", "ignored: pull_request labeled"),
        ("ping", "ping/payload.json", "pong"),
        ("installation", "installation/created.payload.json", "recorded: installation created"),
        (
            "issue_comment",
            "issue_comment/created.with-installation.payload.json",
            "ignored: no /swarm command",
        ),
        (
            "issue_comment",
            "issue_comment/edited.payload.json",
            "ignored: payload has no repository or installation",
        ),
        ("push", "push/payload.json", "ignored: event push"),
        (
            "check_run",
            "check_run/completed.payload.json",
            "ignored: payload has no repository or installation",
        ),
    ],
)
def test_routing_ignores_what_it_should(event: str, name: str, outcome: str) -> None:
    r = route(event, payload(name))
    assert (r.outcome, r.job) == (outcome, None)


def test_commands_are_queued_from_comments() -> None:
    p = payload("issue_comment/created.with-installation.payload.json")
    p["comment"]["body"] = "Thanks!\n/swarm pr-review --council look at the auth flow"
    r = route("issue_comment", p)
    assert r.outcome == "queued: command pr-review" and r.job is not None
    kind, key, job, supersede = r.job
    assert (kind, key, supersede) == ("command", "pr:Codertocat/Hello-World#1", False)
    assert job["author"] == "Codertocat" and job["comment_id"] == p["comment"]["id"]
    p["comment"]["user"]["type"] = "Bot"
    assert route("issue_comment", p).outcome == "ignored: comment by a bot"


def test_check_run_rerun_and_fork_branches() -> None:
    p = payload("check_run/rerequested.payload.json")
    assert route("check_run", p).outcome.startswith("ignored: check run has no pull request")
    p = copy.deepcopy(p)
    p["check_run"]["pull_requests"] = [{"number": 7, "head": {"sha": "a"}, "base": {"sha": "b"}}]
    r = route("check_run", p)
    assert r.job is not None and r.job[1] == "pr:github/hello-world#7" and r.job[2]["rerun"] is True


def test_check_suite_rerequested_reruns_the_reviews_of_its_pull_requests() -> None:
    p = payload("check_suite/rerequested.payload.json")
    sha = p["check_suite"]["head_sha"]
    r = route("check_suite", p)
    assert r == route("check_suite", copy.deepcopy(p))  # pure
    assert r.outcome == "queued: re-run of the check suite"
    assert r.job == (
        "suite",
        f"suite:Codertocat/Hello-World@{sha}",
        {
            "installation_id": p["installation"]["id"],
            "repo": "Codertocat/Hello-World",
            "numbers": [2],
            "head_sha": sha,
            "trigger": "check_suite.rerequested",
        },
        False,
    )
    # "requested" comes with every push, which pull_request.synchronize already reviews.
    requested = payload("check_suite/requested.payload.json")
    requested["installation"] = p["installation"]
    assert (route("check_suite", requested).outcome, route("check_suite", requested).job) == (
        "ignored: check_suite requested",
        None,
    )
    p["check_suite"]["pull_requests"] = []
    assert route("check_suite", p).outcome == "ignored: check suite has no pull request (a fork branch?)"
    p.pop("installation")
    assert route("check_suite", p).outcome == "ignored: payload has no repository or installation"


def test_payloads_without_what_the_app_reads_are_ignored_and_odd_ones_are_named() -> None:
    for empty in ({}, {"action": None}):
        assert route("pull_request", empty).job is None
        assert route("issue_comment", empty).job is None
        assert route("check_suite", empty).job is None
    odd = {"pull_request": "x", "repository": [], "installation": {"id": "1"}}
    with pytest.raises(InvalidPayload) as err:
        route("pull_request", odd)
    assert err.value.field == "installation.id"
    assert installation_id({"installation": {"id": 5}}) == 5
    assert installation_id(odd) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/swarm help", Command("help")),
        ("/swarm", Command("help")),
        ("  /SWARM Pr-Review   check the retries ", Command("pr-review", text="check the retries")),
        ("/swarm pr-review --council", Command("pr-review", frozenset({"--council"}))),
        ("/swarm issue --trace --no-repro", Command("issue", frozenset({"--trace", "--no-repro"}))),
        ("@swarm council should we use gRPC?", Command("council", text="should we use gRPC?")),
        (
            "/swarm council",
            Command(
                "council", error="`council` needs a question, e.g. `/swarm council should we use gRPC here?`"
            ),
        ),
        ("/swarm deploy prod", Command("help", error="unknown command `deploy`")),
        ("/swarm pr-review --force", Command("pr-review", error="unknown option --force")),
        ("/swarm pause", Command("pause")),
        ("@swarm please review", None),
        ("no command here /swarm help", None),
        ("/swarmy help", None),
        ("", None),
    ],
)
def test_command_parsing(body: str, expected: Command | None) -> None:
    assert parse_command(body) == expected


@given(st.text())
def test_command_parser_never_raises(text: str) -> None:
    result = parse_command(text)
    known = ("pr-review", "issue", "council", "ask", "describe", "help", "pause", "resume")
    assert result is None or result.name in known
