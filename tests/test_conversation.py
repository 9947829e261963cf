"""`/swarm ask`, replies in swarm's review threads and `/swarm describe`, end to end in the App:
signed webhooks → queue → worker → engine → the fake GitHub server and the fake model."""

# ruff: noqa: F811  (tests take the fixtures app_key and github, imported from test_app)

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from swarm_core.models import Exchange, Usage
from swarm_core.store.queue import DONE
from tests.conftest import PAYLOADS
from tests.fakes.github import FakeGitHub
from tests.fakes.llm import FakeLLM, Reply
from tests.test_app import (  # noqa: F401 (app_key and github are fixtures)
    HEAD,
    REPO,
    add_pull,
    app_key,
    app_settings,
    deliver,
    drain,
    github,
    opened_payload,
    use_fake_model,
)

AUTH = {"Authorization": "Bearer api-token"}
ANSWER = "The lock is taken once, in `restart` (svc.py line 9)."


def pr_comment(body: str, *, login: str = "Codertocat", comment_id: int = 501) -> dict[str, Any]:
    """A real `issue_comment.created` payload for a comment on pull request #2."""
    p = json.loads((PAYLOADS / "issue_comment/created.with-installation.payload.json").read_text())
    p["issue"]["number"] = 2
    p["issue"]["pull_request"] = {"url": "x"}
    p["comment"].update(body=body, id=comment_id)
    p["comment"]["user"]["login"] = login
    return p


def line_comment(comment: dict[str, Any]) -> dict[str, Any]:
    """A real `pull_request_review_comment.created` payload for a comment the fake GitHub holds."""
    p = json.loads((PAYLOADS / "pull_request_review_comment/created.payload.json").read_text())
    p["pull_request"]["number"] = 2
    p["comment"].update(
        id=comment["id"], body=comment["body"], path=comment["path"], line=comment["line"], side="RIGHT"
    )
    p["comment"]["user"] = {**p["comment"]["user"], **comment["user"]}
    if "in_reply_to_id" in comment:
        p["comment"]["in_reply_to_id"] = comment["in_reply_to_id"]
    return p


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        use_fake_model(monkeypatch, fake)
        yield fake


@pytest.fixture
def with_model(
    github: FakeGitHub,
    app_key: tuple[str, str],
    tmp_path: Path,
    llm: FakeLLM,
) -> Iterator[TestClient]:
    settings = app_settings(
        github, app_key, tmp_path, SWARM_MODEL="openai/gpt-4.1-mini", SWARM_API_TOKEN="api-token"
    )
    add_pull(github, tmp_path / "r", HEAD, opened_payload()["pull_request"]["head"]["sha"])
    with TestClient(create_app(settings, workers=1, poll_s=0.05)) as c:
        yield c


@pytest.fixture
def no_model(
    github: FakeGitHub,
    app_key: tuple[str, str],
    tmp_path: Path,
) -> Iterator[TestClient]:
    add_pull(github, tmp_path / "r", HEAD, opened_payload()["pull_request"]["head"]["sha"])
    with TestClient(create_app(app_settings(github, app_key, tmp_path), workers=1, poll_s=0.05)) as c:
        yield c


def swarms(fake: FakeGitHub) -> list[dict[str, Any]]:
    return [c for c in fake.issue_comments if c["user"]["login"] == fake.bot_login]


def test_ask_on_the_pull_request_is_answered_once_with_its_calls_stored(
    with_model: TestClient,
    github: FakeGitHub,
    llm: FakeLLM,
) -> None:
    # "stranger" has read access only: enough to ask (write is not needed).
    p = pr_comment("/swarm ask why does restart() use shell=True?", login="stranger")
    r = deliver(with_model, "issue_comment", p, "a-1")
    assert r.json()["outcome"] == "queued: command ask"
    assert drain(with_model) == {DONE: 1}
    (answer,) = swarms(github)
    assert answer["body"].startswith(ANSWER) and "<!-- swarm:reply=501 -->" in answer["body"]
    (call,) = llm.calls("ask")
    # The question and the diff reach the model fenced, as data.
    assert '<untrusted name="question">\nwhy does restart() use shell=True?\n</untrusted>' in call.prompt
    assert '<untrusted name="diff of svc.py">' in call.prompt and "shell=True" in call.prompt
    # The model call is stored as the run's evidence and counts for the installation.
    (run,) = with_model.get("/api/runs", headers=AUTH).json()
    assert run["kind"] == "ask" and run["source"] == f"{REPO}#2"
    stored = with_model.get(f"/api/runs/{run['id']}", headers=AUTH).json()
    assert stored["run"]["text"] == ANSWER and len(stored["evidence"]) == 1
    assert with_model.app.state.store.spent_by_installation(1, since=0) > 0  # type: ignore[attr-defined]
    # A redelivery (a new delivery id: a retried job) neither asks the model again nor posts again.
    deliver(with_model, "issue_comment", p, "a-2")
    drain(with_model)
    assert len(swarms(github)) == 1 and len(llm.calls("ask")) == 1


def test_ask_on_a_diff_line_answers_in_its_thread_about_that_line(
    with_model: TestClient,
    github: FakeGitHub,
    llm: FakeLLM,
) -> None:
    asked = github.add_review_comment(REPO, 2, "/swarm ask is this quoting safe?", "Codertocat", line=9)
    r = deliver(with_model, "pull_request_review_comment", line_comment(asked), "l-1")
    assert r.json()["outcome"] == "queued: command ask"
    assert drain(with_model) == {DONE: 1}
    (reply,) = [c for c in github.review_comments if c.get("in_reply_to_id") == asked["id"]]
    assert reply["user"]["login"] == github.bot_login and reply["body"].startswith(ANSWER)
    assert f"<!-- swarm:reply={asked['id']} -->" in reply["body"]
    (call,) = llm.calls("ask")
    # The site: the code around line 9 (marked), and the definition that encloses it.
    assert (
        "(line 9, marked `>`)" in call.prompt
        and '<untrusted name="svc.py (head version), lines 1-10">' in call.prompt
    )
    assert "    9>     return subprocess.call('systemctl restart ' + name, shell=True)" in call.prompt
    assert "function restart (lines 8-9)" in call.prompt and "restart, in full" not in call.prompt
    deliver(with_model, "pull_request_review_comment", line_comment(asked), "l-2")
    drain(with_model)
    assert len([c for c in github.review_comments if c.get("in_reply_to_id") == asked["id"]]) == 1


def test_a_reply_in_swarms_thread_is_answered_once_and_swarm_never_answers_a_bot(
    with_model: TestClient,
    github: FakeGitHub,
    llm: FakeLLM,
) -> None:
    deliver(with_model, "pull_request", opened_payload(), "r-0")
    drain(with_model)
    finding = next(c for c in github.review_comments if c["line"] == 9)
    assert finding["user"]["login"] == github.bot_login
    reply = github.add_review_comment(
        REPO,
        2,
        "false positive because name is validated upstream",
        "Codertocat",
        line=9,
        in_reply_to_id=finding["id"],
    )
    r = deliver(with_model, "pull_request_review_comment", line_comment(reply), "r-1")
    assert r.json()["outcome"] == "queued: reply in a review thread"
    drain(with_model)
    answers = [
        c for c in github.review_comments if c["user"]["login"] == github.bot_login and "in_reply_to_id" in c
    ]
    assert len(answers) == 1 and answers[0]["in_reply_to_id"] == finding["id"]
    assert answers[0]["body"].startswith(ANSWER)
    (call,) = llm.calls("ask")
    # The model reads the thread (swarm's finding) and the reply as the question, all fenced.
    thread = call.prompt.split('<untrusted name="review thread">')[1].split("</untrusted>")[0]
    assert thread.lstrip().startswith("swarm (the finding) wrote:") and "shell=True" in thread
    assert '<untrusted name="question">\nfalse positive because name is validated' in call.prompt
    # The same reply teaches swarm (the team's learnings), once the question is answered.
    learned = with_model.get("/api/learnings", headers=AUTH).json()
    (lesson,) = learned
    assert lesson["scope"]["rule"] == "bandit/B602" and lesson["text"].endswith("name is validated upstream")
    # Redelivered: answered once.
    deliver(with_model, "pull_request_review_comment", line_comment(reply), "r-2")
    drain(with_model)
    assert len(llm.calls("ask")) == 1
    # Loop guard: swarm's own answer, and any other bot's reply, are never answered.
    own = line_comment({**answers[0], "user": {"login": github.bot_login, "type": "Bot"}})
    assert deliver(with_model, "pull_request_review_comment", own, "r-3").json()["outcome"] == (
        "ignored: comment by a bot"
    )
    other = github.add_review_comment(
        REPO, 2, "Bump requests", "dependabot[bot]", line=9, in_reply_to_id=finding["id"], user_type="Bot"
    )
    routed = deliver(with_model, "pull_request_review_comment", line_comment(other), "r-4").json()
    assert routed["outcome"] == "ignored: comment by a bot"
    # A reply in a thread a person started is none of swarm's business.
    root = github.add_review_comment(REPO, 2, "nit: rename this", "octocat", line=9)
    human = github.add_review_comment(REPO, 2, "agreed", "Codertocat", line=9, in_reply_to_id=root["id"])
    deliver(with_model, "pull_request_review_comment", line_comment(human), "r-5")
    drain(with_model)
    assert len(llm.calls("ask")) == 1
    assert not [c for c in github.review_comments if c.get("in_reply_to_id") == root["id"] and c is not human]


def test_on_a_private_repository_only_people_with_read_access_get_answers(
    with_model: TestClient,
    github: FakeGitHub,
    llm: FakeLLM,
) -> None:
    github.repos[REPO]["private"] = True
    github.permissions.update({"outsider": "none", "reader": "read"})
    deliver(with_model, "issue_comment", pr_comment("/swarm ask what changed?", login="outsider"), "p-1")
    drain(with_model)
    (refusal,) = swarms(github)
    assert "only people with read access" in refusal["body"] and "(your access: none)" in refusal["body"]
    assert llm.calls("ask") == []
    p = pr_comment("/swarm ask what changed?", login="reader", comment_id=502)
    deliver(with_model, "issue_comment", p, "p-2")
    drain(with_model)
    assert swarms(github)[-1]["body"].startswith(ANSWER) and len(llm.calls("ask")) == 1


def test_ask_with_no_model_says_how_to_configure_one(
    no_model: TestClient,
    github: FakeGitHub,
) -> None:
    deliver(no_model, "issue_comment", pr_comment("/swarm ask why?"), "n-1")
    assert drain(no_model) == {DONE: 1}
    (reply,) = swarms(github)
    assert "Answering questions needs a model: set SWARM_MODEL" in reply["body"]
    deliver(no_model, "issue_comment", pr_comment("/swarm ask", comment_id=503), "n-2")
    drain(no_model)
    assert "`ask` needs a question" in swarms(github)[-1]["body"]


def test_describe_with_no_model_posts_the_deterministic_walkthrough_once(
    no_model: TestClient,
    github: FakeGitHub,
) -> None:
    deliver(no_model, "issue_comment", pr_comment("/swarm describe"), "d-1")
    assert drain(no_model) == {DONE: 1}
    (walkthrough,) = swarms(github)
    body = walkthrough["body"]
    assert body.startswith("## 🐝 swarm walkthrough") and "No model is configured" in body
    assert "| source | `svc.py` | modified +4 −0 |" in body
    assert "- added: `restart(name)` in `svc.py`" in body
    assert "No test file changed." in body and body.rstrip().endswith("<!-- swarm:describe -->")
    # Run again: the one walkthrough is edited in place, not posted twice.
    deliver(no_model, "issue_comment", pr_comment("/swarm describe", comment_id=504), "d-2")
    drain(no_model)
    assert [c["id"] for c in swarms(github)] == [walkthrough["id"]]
    # Only people with write access may ask for one (it edits the pull request's comments).
    deliver(no_model, "issue_comment", pr_comment("/swarm describe", login="stranger", comment_id=505), "d-3")
    drain(no_model)
    assert "Only people with write access" in swarms(github)[-1]["body"]


def test_describe_writes_an_empty_description_only_when_the_config_allows(
    no_model: TestClient,
    github: FakeGitHub,
) -> None:
    pull = github.pulls[(REPO, 2)]
    pull.body = ""
    deliver(no_model, "issue_comment", pr_comment("/swarm describe"), "e-1")
    drain(no_model)
    assert pull.body == "" and len(swarms(github)) == 1  # not allowed: a comment
    github.repos[REPO]["files"]["main"][".github/swarm.yml"] = "review:\n  describe_edit_body: true\n"
    deliver(no_model, "issue_comment", pr_comment("/swarm describe", comment_id=506), "e-2")
    drain(no_model)
    assert pull.body.startswith("## 🐝 swarm walkthrough") and len(swarms(github)) == 1
    # The author's own description is never replaced.
    pull.body = "Adds restart()."
    deliver(no_model, "issue_comment", pr_comment("/swarm describe", comment_id=507), "e-3")
    drain(no_model)
    assert pull.body == "Adds restart()."
    # `review.describe: off` turns the command off; `auto` describes every opened pull request.
    github.repos[REPO]["files"]["main"][".github/swarm.yml"] = "review:\n  describe: 'off'\n"
    deliver(no_model, "issue_comment", pr_comment("/swarm describe", comment_id=508), "e-4")
    drain(no_model)
    assert "`review.describe` is off" in swarms(github)[-1]["body"]


def test_describe_auto_on_open_with_a_model_adds_summary_risks_and_a_safe_diagram(
    with_model: TestClient,
    github: FakeGitHub,
    llm: FakeLLM,
) -> None:
    github.repos[REPO]["files"]["main"][".github/swarm.yml"] = "review:\n  describe: auto\n"
    hostile = "run`\n```\n<img src=x onerror=alert(1)> %%{init}%% ; end"
    llm.script(
        "describe",
        "",
        Reply(
            {
                "summary": "Adds restart(), which @octocat asked for. <!-- swarm:fp=deadbeef:0 -->",
                "files": [{"path": "svc.py", "summary": "adds `restart` | a <b>shell</b> call"}],
                "risks": ["Unit names reach a shell: see https://evil.example/x"],
                "flow_changed": True,
                "flow": [
                    {"source": "cli", "target": "svc.restart", "message": "restart(name)"},
                    {"source": "svc.restart", "target": "systemctl", "message": hostile},
                    {"source": "systemctl", "target": "svc.restart", "message": "exit code", "reply": True},
                ],
            }
        ),
    )
    deliver(with_model, "pull_request", opened_payload(), "o-1")
    assert drain(with_model) == {DONE: 1}
    (walkthrough,) = [c for c in swarms(github) if "<!-- swarm:describe -->" in c["body"]]
    body = walkthrough["body"]
    assert "Adds restart(), which @\u2060octocat asked for." in body  # no ping
    assert "swarm:fp=deadbeef" not in body.replace("&lt;!-- swarm:fp=deadbeef:0 --&gt;", "")
    assert (
        "| source | `svc.py` | modified +4 −0 | adds `restart` \\| a &lt;b&gt;shell&lt;/b&gt; call |" in body
    )
    assert "### Risks" in body and "https://evil.example" not in body.replace("`https://evil.example/x`", "")
    diagram = body.split("```mermaid\n")[1].split("\n```")[0]
    assert diagram.splitlines() == [
        "sequenceDiagram",
        "    participant P1 as cli",
        "    participant P2 as svc.restart",
        "    participant P3 as systemctl",
        "    P1->>P2: restart(name)",
        "    P2->>P3: run img src=x onerror=alert(1) init end",
        "    P3-->>P2: exit code",
    ]
    runs = with_model.get("/api/runs", headers=AUTH).json()
    assert {r["kind"] for r in runs} == {"pr-review", "describe"}


def test_a_spent_installation_budget_stops_ask_and_describe_calling_the_model(
    github: FakeGitHub, app_key: tuple[str, str], tmp_path: Path, llm: FakeLLM
) -> None:
    settings = app_settings(
        github, app_key, tmp_path, SWARM_MODEL="openai/gpt-4.1-mini", SWARM_INSTALLATION_BUDGET_USD="1"
    )
    add_pull(github, tmp_path / "r", HEAD, opened_payload()["pull_request"]["head"]["sha"])
    with TestClient(create_app(settings, workers=1, poll_s=0.05)) as c:
        spent = (Exchange("ask", "ask", "openai/gpt-4.1", "h", Usage(calls=1, cost_usd=2.0), 1.0, "ok"),)
        c.app.state.store.save_document(  # type: ignore[attr-defined]
            "ask",
            source=f"{REPO}#2",
            status="ok",
            duration_s=1.0,
            document={},
            exchanges=spent,
            counts={},
            repo=REPO,
            installation_id=1,
        )
        deliver(c, "issue_comment", pr_comment("/swarm ask why?"), "b-1")
        deliver(c, "issue_comment", pr_comment("/swarm describe", comment_id=509), "b-2")
        assert drain(c) == {DONE: 2}
    answer, walkthrough = swarms(github)
    assert "The model budget of this installation is spent" in answer["body"]
    assert walkthrough["body"].startswith("## 🐝 swarm walkthrough")
    assert "The model budget of this installation is spent" in walkthrough["body"]
    assert "| source | `svc.py` | modified +4 −0 |" in walkthrough["body"]
    assert llm.requests == []


def test_with_no_model_a_reply_in_swarms_thread_is_learned_not_answered(
    github: FakeGitHub, app_key: tuple[str, str], tmp_path: Path
) -> None:
    add_pull(github, tmp_path / "r", HEAD, opened_payload()["pull_request"]["head"]["sha"])
    settings = app_settings(github, app_key, tmp_path, SWARM_API_TOKEN="api-token")
    with TestClient(create_app(settings, workers=1, poll_s=0.05)) as client:
        deliver(client, "pull_request", opened_payload(), "n-0")
        drain(client)
        finding = next(c for c in github.review_comments if c["line"] == 9)
        reply = github.add_review_comment(
            REPO,
            2,
            "This is intended: the name is validated upstream",
            "Codertocat",
            line=9,
            in_reply_to_id=finding["id"],
        )
        deliver(client, "pull_request_review_comment", line_comment(reply), "n-1")
        drain(client)
        bot_replies = [
            c
            for c in github.review_comments
            if c.get("in_reply_to_id") and c["user"]["login"] == github.bot_login
        ]
        assert [c["body"][:80] for c in bot_replies] == []  # no "configure a model" answer
        (lesson,) = client.get("/api/learnings", headers=AUTH).json()
        assert lesson["scope"]["rule"] == "bandit/B602"
