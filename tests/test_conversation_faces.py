"""`swarm ask` / `swarm describe` in the CLI (the README's examples among them) and in the Action."""

# ruff: noqa: F811  (tests take the fixture github, imported from test_action)

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PAYLOADS, ROOT
from tests.fakes.github import FakeGitHub
from tests.fakes.llm import FakeLLM
from tests.test_action import action, github, opened  # noqa: F401 (github is a fixture)
from tests.test_app import REPO
from tests.test_cli import README, swarm

ANSWER = "The lock is taken once, in `restart` (svc.py line 9)."
SECTION = README[README.index("## Questions and walkthroughs") : README.index("## Issue analysis")]


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", fake.key or "")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        monkeypatch.setenv("SWARM_MODEL", "openai/gpt-4.1-mini")
        monkeypatch.setenv("SWARM_DATA_DIR", str(tmp_path / "data"))
        yield fake


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "SWARM_MODEL", "OLLAMA_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SWARM_DATA_DIR", str(tmp_path / "data"))


def readme_command(prefix: str) -> list[str]:
    (line,) = [line for line in re.findall(r"^(swarm .*)$", SECTION, flags=re.M) if line.startswith(prefix)]
    return re.findall(r'"[^"]*"|\S+', line[len("swarm ") :])


def test_readme_describe_example_posts_the_deterministic_part_with_no_model(no_model: None) -> None:
    result = swarm(*readme_command("swarm describe"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("## 🐝 swarm walkthrough") and "No model is configured" in result.stdout
    assert "| source | `app/deploy.py` | added +20 −0 |" in result.stdout
    assert "- added: `rollback(service, version)` in `app/deploy.py`" in result.stdout


def test_readme_ask_example_answers_and_stores_its_call(llm: FakeLLM, tmp_path: Path) -> None:
    args = [a.strip('"') for a in readme_command("swarm ask")]
    result = swarm(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(ANSWER)
    (call,) = llm.calls("ask")
    assert (
        "(line 14, marked `>`)" in call.prompt
        and '<untrusted name="app/deploy.py (head version)' in call.prompt
    )
    runs = swarm("runs", "list", "--format", "json")
    assert runs.returncode == 0, runs.stderr
    assert [r["kind"] for r in json.loads(runs.stdout)] == ["ask"]


def test_ask_with_no_model_is_a_clear_message_and_bad_sites_are_usage_errors(no_model: None) -> None:
    patch = str(ROOT / "examples" / "leaky-deploy.patch")
    result = swarm("ask", "--patch", patch, "why?")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Answering questions needs a model: set SWARM_MODEL" in result.stderr
    bad = swarm("ask", "--patch", patch, "--at", "deploy.py", "why?")
    assert bad.returncode == 2 and "expected FILE:LINE" in bad.stderr


def test_describe_json_and_output_file(no_model: None, tmp_path: Path) -> None:
    out = tmp_path / "walkthrough.json"
    patch = str(ROOT / "examples" / "leaky-deploy.patch")
    result = swarm("describe", "--patch", patch, "--format", "json", "-o", str(out), "--no-llm")
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["narrative"] is None and data["diagram"] is None and data["usage"]["calls"] == 0
    assert [f["path"] for f in data["files"]["source"]] == ["app/deploy.py", "app/notify.js"]


def _comment(body: str, **extra: Any) -> dict[str, Any]:
    payload = json.loads((PAYLOADS / "issue_comment/created.with-installation.payload.json").read_text())
    payload["issue"]["number"] = 2
    payload["issue"]["pull_request"] = {"url": "x"}
    payload["comment"].update(body=body, **extra)
    return payload


def _line_comment(comment: dict[str, Any]) -> dict[str, Any]:
    p = json.loads((PAYLOADS / "pull_request_review_comment/created.payload.json").read_text())
    p["pull_request"]["number"] = 2
    p["comment"].update(
        {k: comment[k] for k in ("id", "body", "path", "line", "in_reply_to_id") if k in comment}
    )
    p["comment"]["user"] = {**p["comment"]["user"], **comment["user"]}
    return p


def test_the_action_answers_ask_and_replies_in_its_threads(
    github: FakeGitHub, tmp_path: Path, llm: FakeLLM
) -> None:
    result, summary, _ = action(tmp_path, github, "issue_comment", _comment("/swarm ask why shell=True?"))
    assert result.returncode == 0, result.stderr
    (answer,) = list(github.comments_on(2))
    assert answer["body"].startswith(ANSWER) and "swarm ran the comment command" in summary
    # The review's inline finding starts a thread; a person's reply there is answered in it.
    assert action(tmp_path, github, "pull_request", opened())[0].returncode == 1  # fail_on: high
    finding = next(c for c in github.review_comments if c["line"] == 9)
    reply = github.add_review_comment(
        REPO, 2, "why is this high?", "Codertocat", line=9, in_reply_to_id=finding["id"]
    )
    result, _, _ = action(tmp_path, github, "pull_request_review_comment", _line_comment(reply))
    assert result.returncode == 0, result.stderr
    answers = [
        c for c in github.review_comments if c.get("in_reply_to_id") == finding["id"] and c is not reply
    ]
    assert len(answers) == 1 and answers[0]["body"].startswith(ANSWER)
    assert answers[0]["user"]["login"] == "github-actions[bot]"
    # Its own answer (a bot's comment) is never answered.
    own = _line_comment({**answers[0], "user": {"login": "github-actions[bot]", "type": "Bot"}})
    result, summary, _ = action(tmp_path, github, "pull_request_review_comment", own)
    assert result.returncode == 0 and "ignored: comment by a bot" in summary
    assert len(llm.calls("ask")) == 2


def test_the_action_describes_with_no_model(github: FakeGitHub, tmp_path: Path, no_model: None) -> None:
    result, _, _ = action(tmp_path, github, "issue_comment", _comment("/swarm describe"))
    assert result.returncode == 0, result.stderr
    (walkthrough,) = list(github.comments_on(2))
    assert walkthrough["body"].startswith("## 🐝 swarm walkthrough")
    assert "No model is configured" in walkthrough["body"]


def test_the_action_describes_an_opened_pull_request_with_describe_auto(
    github: FakeGitHub, tmp_path: Path, no_model: None
) -> None:
    result, _, _ = action(tmp_path, github, "pull_request", opened())
    assert result.returncode == 1, result.stderr  # fail_on: high
    assert not [
        c for c in github.comments_on(2) if "<!-- swarm:describe -->" in c["body"]
    ]  # default: command
    github.repos[REPO]["files"]["main"][".github/swarm.yml"] = "fail_on: high\nreview:\n  describe: auto\n"
    action(tmp_path, github, "pull_request", opened())
    (walkthrough,) = [c for c in github.comments_on(2) if "<!-- swarm:describe -->" in c["body"]]
    assert walkthrough["body"].startswith("## 🐝 swarm walkthrough")
    assert walkthrough["user"]["login"] == "github-actions[bot]"
