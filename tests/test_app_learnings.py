"""Learnings in the App, end to end against the fake GitHub: 👎 reactions, replies, `/swarm learn`, the API."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from swarm_core.github import PullRequest, capture_reply, reply_fields
from swarm_core.github.learning_job import ResolvedThread, capture_resolutions
from swarm_core.store.queue import DONE
from tests.conftest import FIXTURES, PAYLOADS
from tests.fakes.github import FakeGitHub
from tests.test_app import (  # noqa: F401 (app_key, client and github are fixtures)
    BASE,
    HEAD,
    HEAD2,
    REPO,
    add_pull,
    app_key,
    client,
    deliver,
    diff_of,
    drain,
    github,
    opened_payload,
)
from tests.test_app_faults import Rig


@pytest.fixture(name="rig")
def _rig(request: pytest.FixtureRequest, tmp_path: Path) -> Rig:
    return Rig(request.getfixturevalue("client"), request.getfixturevalue("github"), tmp_path)


API = {"Authorization": "Bearer api-token"}
REPLY = (
    FIXTURES
    / "octokit-webhooks/payload-examples/api.github.com/pull_request_review_comment/created.payload.json"
)


def command(body: str, comment_id: int, login: str = "Codertocat") -> dict[str, Any]:
    p = json.loads((PAYLOADS / "issue_comment/created.with-installation.payload.json").read_text())
    p["issue"]["number"] = 2
    p["issue"]["pull_request"] = {"url": "x"}
    p["comment"].update({"body": body, "id": comment_id})
    p["comment"]["user"]["login"] = login
    return p


def shell_comment(gh: FakeGitHub, line: int) -> dict[str, Any]:
    """swarm's inline comment on the `shell=True` call at `line` of svc.py."""
    return next(
        c
        for c in gh.review_comments
        if c["path"] == "svc.py" and c.get("line") == line and "[bot]" in c["user"]["login"]
    )


def rule_of(comment: dict[str, Any]) -> str:
    found = re.search(r"· `([^`]+)`", comment["body"])
    assert found is not None
    return found.group(1)


def push_head2(gh: FakeGitHub, pull: Any, tmp: Path) -> str:
    sha = "c" * 40
    pull.head_sha = sha
    pull.head_files = {"svc.py": HEAD2}
    pull.diff = diff_of(tmp / "r2", {"svc.py": "import subprocess\n"}, {"svc.py": HEAD2})
    gh.repos[REPO]["files"][sha] = pull.head_files
    return sha


def summary(gh: FakeGitHub) -> str:
    return next(c["body"] for c in gh.comments_on(2) if "<!-- swarm:summary -->" in c["body"])


def test_a_thumbs_down_is_captured_on_the_next_event_and_downgrades_the_finding(rig: Rig) -> None:
    app, gh, tmp_path = rig.client, rig.github, rig.tmp
    pull = add_pull(gh, tmp_path / "r", HEAD, opened_payload()["pull_request"]["head"]["sha"])
    deliver(app, "pull_request", opened_payload(), "d-1")
    assert drain(app) == {DONE: 1}
    target = shell_comment(gh, 9)
    rule = rule_of(target)
    gh.add_reaction(target["id"], "-1", "Codertocat")
    gh.add_reaction(target["id"], "-1", "stranger")  # read access only: teaches nothing
    gh.add_reaction(target["id"], "+1", "someone")  # teaches nothing
    gh.add_reaction(target["id"], "-1", "ci-helper[bot]", user_type="Bot")  # nor does a bot
    assert app.get("/api/learnings", headers=API).json() == []  # no webhook for a reaction

    sha = push_head2(gh, pull, tmp_path)
    deliver(app, "pull_request", opened_payload("synchronize", sha), "d-2")
    drain(app)
    (learned,) = app.get("/api/learnings", headers=API).json()
    assert learned["origin"] == "reaction" and learned["effect"] == "suppress"
    assert learned["scope"] == {"path": "svc.py", "rule": rule, "lane": target["body"].split(" · ")[1]}
    assert learned["confidence"] == 0.6 and learned["installation_id"] == 1 and learned["repo"] == REPO
    assert learned["sources"] == [
        f"https://github.com/{REPO}/pull/2#discussion_r{target['id']}/reactions/"
        f"{gh.comment_reactions[0]['id']}"
    ]
    # The new shell=True (line 13) has the same rule in the same file: a 0.6 learning downgrades it.
    assert "1 finding downgraded by team learnings" in summary(gh)
    run = app.get("/api/runs", headers=API).json()[0]
    stored = app.get(f"/api/runs/{run['id']}", headers=API).json()["review"]
    (use,) = [u for u in stored["learned"] if u["location"] == "svc.py:13"]
    assert use["action"] == "downgraded" and use["learning_id"] == learned["id"]
    assert app.get("/api/learnings", headers=API).json()[0]["utility"] >= 1

    # A later event reads the same reaction again and captures nothing new.
    deliver(app, "pull_request", opened_payload("reopened", sha), "d-3")
    drain(app)
    assert len(app.get("/api/learnings", headers=API).json()) == 1


def test_reading_reactions_that_fails_does_not_stop_the_review(rig: Rig) -> None:
    app, gh, tmp_path = rig.client, rig.github, rig.tmp
    pull = add_pull(gh, tmp_path / "r", HEAD, opened_payload()["pull_request"]["head"]["sha"])
    deliver(app, "pull_request", opened_payload(), "d-1")
    drain(app)
    gh.add_reaction(shell_comment(gh, 9)["id"], "-1", "Codertocat")
    gh.fail("GET", r"/reactions", 404, times=100)
    sha = push_head2(gh, pull, tmp_path)
    deliver(app, "pull_request", opened_payload("synchronize", sha), "d-2")
    assert drain(app) == {DONE: 2}
    assert len(gh.reviews) == 2 and app.get("/api/learnings", headers=API).json() == []


def test_swarm_learn_needs_write_access_then_suppresses_and_lists(rig: Rig) -> None:
    app, gh, tmp_path = rig.client, rig.github, rig.tmp
    add_pull(gh, tmp_path / "r", HEAD, opened_payload()["pull_request"]["head"]["sha"])
    deliver(app, "pull_request", opened_payload(), "d-1")
    drain(app)
    rule = rule_of(shell_comment(gh, 9))
    assert gh.check_runs[0]["conclusion"] == "failure"

    deliver(app, "issue_comment", command(f"/swarm learn --rule {rule} shell is fine", 50, "stranger"), "c-0")
    drain(app)
    assert "Only people with write access" in list(gh.comments_on(2))[-1]["body"]
    assert app.get("/api/learnings", headers=API).json() == []

    text = f"/swarm learn --path svc.py --rule {rule} unit names are validated before they reach the shell"
    deliver(app, "issue_comment", command(text, 51), "c-1")
    drain(app)
    reply = list(gh.comments_on(2))[-1]["body"]
    assert reply.startswith(f"Learned #1 (path svc.py, rule {rule}): unit names are validated")
    assert "Findings in its scope are suppressed from now on." in reply
    (learned,) = app.get("/api/learnings", headers=API).json()
    assert (learned["origin"], learned["confidence"], learned["status"]) == ("command", 0.9, "active")
    assert learned["sources"] == [f"https://github.com/{REPO}/pull/2#issuecomment-51"]

    deliver(app, "issue_comment", command("/swarm learnings", 52), "c-2")
    drain(app)
    listing = list(gh.comments_on(2))[-1]["body"]
    assert (
        "**What swarm learned** (1):" in listing
        and f"| 1 | repo | active | `path svc.py, rule {rule}` |" in listing
    )

    deliver(app, "issue_comment", command("/swarm pr-review", 53), "c-3")
    drain(app)
    assert "1 finding suppressed by team learnings (#1" in summary(gh)
    assert gh.check_runs[-1]["conclusion"] != "failure"  # the only HIGH finding is gone

    forgotten = app.delete("/api/learnings/1", headers=API)
    assert forgotten.status_code == 200 and forgotten.json()["status"] == "forgotten"
    assert app.delete("/api/learnings/999", headers=API).status_code == 404
    assert app.get("/api/learnings?status=forgotten", headers=API).json()[0]["id"] == 1
    assert app.get("/api/learnings?status=gone", headers=API).status_code == 400
    assert app.get("/api/learnings").status_code == 401


def test_learn_command_errors_are_answered(rig: Rig) -> None:
    app, gh, tmp_path = rig.client, rig.github, rig.tmp
    add_pull(gh, tmp_path / "r", HEAD, opened_payload()["pull_request"]["head"]["sha"])
    deliver(app, "issue_comment", command("/swarm learn --lane nope asserts are fine", 60), "c-1")
    deliver(app, "issue_comment", command("/swarm learn --rule", 61), "c-2")
    deliver(app, "issue_comment", command("/swarm learnings", 62), "c-3")
    deliver(app, "issue_comment", command(f"/swarm learn --path {'a/' * 300}x.py fine", 63), "c-4")
    drain(app)
    bodies = [c["body"] for c in gh.comments_on(2)]
    assert bodies[0].startswith("Unknown lane `nope`; choose one of correctness, security")
    assert bodies[1].startswith("option --rule needs a value.")
    assert bodies[2].startswith("swarm has learned nothing for this repository yet.")
    assert bodies[3].startswith("`--path` takes at most 512 characters")  # wider than the store's column
    assert app.get("/api/learnings", headers=API).json() == []


def reply_payload(
    parent: int, body: str, user_type: str = "User", login: str = "Codertocat"
) -> dict[str, Any]:
    p = json.loads(REPLY.read_text())
    p["comment"].update(
        {"in_reply_to_id": parent, "body": body, "html_url": f"https://github.com/{REPO}/pull/2#r9"}
    )
    p["comment"]["user"].update({"type": user_type, "login": login})
    p["pull_request"]["number"] = 2
    return p


@pytest.mark.parametrize(
    ("body", "user_type", "login", "expected"),
    [
        ("> the finding\n\nThis is intended: the unit name is validated", "User", "Codertocat", "captured"),
        ("thanks, will fix", "User", "Codertocat", {"skipped": "the reply teaches nothing"}),
        ("false positive", "Bot", "ci[bot]", {"skipped": "a bot's reply"}),
        ("false positive", "User", "stranger", {"skipped": "the author has no write access (read)"}),
    ],
)
def test_a_reply_in_swarms_thread_is_captured(
    rig: Rig, body: str, user_type: str, login: str, expected: Any
) -> None:
    app, gh, tmp_path = rig.client, rig.github, rig.tmp
    add_pull(gh, tmp_path / "r", HEAD, opened_payload()["pull_request"]["head"]["sha"])
    deliver(app, "pull_request", opened_payload(), "d-1")
    drain(app)
    parent = shell_comment(gh, 9)
    services = app.app.state.services  # type: ignore[attr-defined]
    result = asyncio.run(
        capture_reply(services, reply_fields(reply_payload(parent["id"], body, user_type, login)) or {})
    )
    if expected != "captured":
        assert result == expected
        return
    assert result == {"captured": 1}
    (learned,) = app.get("/api/learnings", headers=API).json()
    assert learned["origin"] == "reply" and learned["sources"] == [f"https://github.com/{REPO}/pull/2#r9"]
    assert "This is intended: the unit name is validated" in learned["text"]
    # The same reply delivered again is not a second learning.
    assert asyncio.run(capture_reply(services, reply_fields(reply_payload(parent["id"], body)) or {})) == {
        "skipped": "already captured"
    }


def test_replies_outside_swarms_threads_teach_nothing(rig: Rig) -> None:
    app, gh, tmp_path = rig.client, rig.github, rig.tmp
    add_pull(gh, tmp_path / "r", HEAD, opened_payload()["pull_request"]["head"]["sha"])
    gh.add_review_comment(REPO, 2, "a person's note", "octocat")
    person = gh.review_comments[-1]["id"]
    services = app.app.state.services  # type: ignore[attr-defined]
    fields = reply_fields(reply_payload(person, "false positive"))
    assert fields is not None
    assert asyncio.run(capture_reply(services, fields)) == {
        "skipped": "not a reply to one of swarm's findings"
    }


def test_only_new_replies_are_read_from_a_delivery() -> None:
    delivery = reply_payload(7, "false positive")
    assert reply_fields(delivery) == {
        "installation_id": 1,
        "repo": REPO,
        "number": 2,
        "in_reply_to_id": 7,
        "body": "false positive",
        "author_type": "User",
        "author": "Codertocat",
        "url": f"https://github.com/{REPO}/pull/2#r9",
    }
    assert reply_fields(json.loads(REPLY.read_text())) is None  # a new thread, not a reply
    assert reply_fields({**delivery, "action": "edited"}) is None
    assert reply_fields({**delivery, "pull_request": None}) is None
    assert reply_fields({**delivery, "comment": {**delivery["comment"], "in_reply_to_id": "7"}}) is None


def test_threads_a_person_resolved_without_a_change_are_captured(rig: Rig) -> None:
    app, gh, tmp_path = rig.client, rig.github, rig.tmp
    add_pull(gh, tmp_path / "r", HEAD, opened_payload()["pull_request"]["head"]["sha"])
    deliver(app, "pull_request", opened_payload(), "d-1")
    drain(app)
    services = app.app.state.services  # type: ignore[attr-defined]
    pr = PullRequest(REPO, 2, "t", "", "h" * 40, "b" * 40, False, "octocat", "User", "open", "main")
    ours = shell_comment(gh, 9)
    gh.add_review_comment(REPO, 2, "a person's thread", "octocat")
    theirs = gh.review_comments[-1]
    threads = [
        ResolvedThread(ours, "User", False, "https://github.com/o/r/pull/2#t1"),  # dismissed: learned
        ResolvedThread(ours, "User", True, "https://github.com/o/r/pull/2#t2"),  # fixed: nothing
        ResolvedThread(ours, "Bot", False, "https://github.com/o/r/pull/2#t3"),  # swarm's own: nothing
        ResolvedThread(theirs, "User", False, "https://github.com/o/r/pull/2#t4"),  # not swarm's
    ]
    (learned,) = asyncio.run(capture_resolutions(services, pr, 1, threads))
    assert (learned.origin, learned.confidence, learned.sources) == (
        "resolved",
        0.5,
        ("https://github.com/o/r/pull/2#t1",),
    )
    assert asyncio.run(capture_resolutions(services, pr, 1, threads[:1])) == []  # once per thread


def _push(rig: Rig, pull: Any, head_files: dict[str, str], base_files: dict[str, str], n: int) -> None:
    sha = "c" * 40
    pull.head_sha, pull.head_files = sha, head_files
    pull.diff = diff_of(rig.tmp / f"push{n}", base_files, head_files)
    rig.github.repos[REPO]["files"][sha] = head_files
    deliver(rig.client, "pull_request", opened_payload("synchronize", sha), f"push-{n}")
    drain(rig.client)


def _reviewed_two_file_pull(rig: Rig) -> tuple[Any, dict[str, Any]]:
    """A pull request changing svc.py (swarm's shell=True finding at line 9) beside other.py, reviewed."""
    pull = add_pull(rig.github, rig.tmp / "r", HEAD, opened_payload()["pull_request"]["head"]["sha"])
    pull.base_files = {"svc.py": BASE, "other.py": "x = 1\n"}
    pull.head_files = {"svc.py": HEAD, "other.py": "x = 1\n"}
    deliver(rig.client, "pull_request", opened_payload(), "d-1")
    drain(rig.client)
    return pull, shell_comment(rig.github, 9)


def _last_review(rig: Rig) -> dict[str, Any]:
    run = rig.client.get("/api/runs", headers=API).json()[0]
    return dict(rig.client.get(f"/api/runs/{run['id']}", headers=API).json()["review"])


def test_an_incremental_review_applies_a_new_learning_to_what_it_carries_over_and_resolves_nothing(
    rig: Rig,
) -> None:
    app, gh = rig.client, rig.github
    pull, finding = _reviewed_two_file_pull(rig)
    rule = rule_of(finding)
    deliver(
        app, "issue_comment", command(f"/swarm learn --path svc.py --rule {rule} shell is fine", 51), "c-1"
    )
    drain(app)
    # The push changes only other.py: svc.py's finding is carried over, and the learning covers it.
    _push(rig, pull, {"svc.py": HEAD, "other.py": "x = 2\n"}, {"svc.py": BASE, "other.py": "x = 1\n"}, 1)
    review = _last_review(rig)
    assert review["notes"][0].startswith("Incremental review")
    assert rule not in [f["rule"] for f in review["findings"]]
    assert [u["action"] for u in review["learned"]] == ["suppressed"]
    assert gh.check_runs[-1]["conclusion"] == "success"
    # Silenced is not fixed: swarm does not answer "Fixed in ..." nor resolve the thread.
    assert [c for c in gh.review_comments if c.get("in_reply_to_id") == finding["id"]] == []


def test_a_file_the_push_takes_out_of_the_pull_request_takes_its_findings_with_it(rig: Rig) -> None:
    app, gh, tmp_path = rig.client, rig.github, rig.tmp
    pull = add_pull(gh, tmp_path / "r", HEAD, opened_payload()["pull_request"]["head"]["sha"])
    other_base = "import subprocess\n"
    other_head = "import subprocess\n\n\ndef go(x):\n    return subprocess.call('ls ' + x, shell=True)\n"
    pull.base_files = {"svc.py": BASE, "other.py": other_base}
    pull.head_files = {"svc.py": HEAD, "other.py": other_head}
    pull.diff = diff_of(tmp_path / "r1", pull.base_files, pull.head_files)
    gh.repos[REPO]["files"][pull.head_sha] = pull.head_files
    deliver(app, "pull_request", opened_payload(), "d-1")
    drain(app)
    assert ("other.py", 5) in [(f["path"], f["line"]) for f in _last_review(rig)["findings"]]
    _push(rig, pull, {"svc.py": HEAD, "other.py": other_base}, pull.base_files, 2)  # other.py reverted
    assert "other.py" not in [f["path"] for f in _last_review(rig)["findings"]]


def test_a_thread_a_writer_resolved_without_changing_the_code_teaches_swarm(rig: Rig) -> None:
    app, gh = rig.client, rig.github
    pull, finding = _reviewed_two_file_pull(rig)
    gh.resolve_thread(f"PRRT_{finding['id']}", "Codertocat")  # a person resolves it, code unchanged
    _push(rig, pull, {"svc.py": HEAD, "other.py": "x = 2\n"}, {"svc.py": BASE, "other.py": "x = 1\n"}, 3)
    (lesson,) = app.get("/api/learnings", headers=API).json()
    assert (lesson["origin"], lesson["scope"]["rule"]) == ("resolved", rule_of(finding))
    assert lesson["sources"] == [f"https://github.com/{REPO}/pull/2#discussion_r{finding['id']}"]
    # Another review of the same thread captures nothing new.
    _push(rig, pull, {"svc.py": HEAD, "other.py": "x = 3\n"}, {"svc.py": BASE, "other.py": "x = 1\n"}, 4)
    assert len(app.get("/api/learnings", headers=API).json()) == 1
