"""One redactor for outward text: a provider key planted in error text never leaves the process."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.redaction import redactor_for
from app.settings import load_settings
from swarm_core.models import Lane, LaneResult, LaneStatus, Review, Verdict
from swarm_core.redact import ENDPOINT, REDACTED, Redactor, url_passwords
from swarm_core.render.sanitize import sanitize
from swarm_core.store.queue import DONE
from tests.conftest import ROOT
from tests.fakes.github import FakeGitHub
from tests.fakes.llm import FakeLLM, Reply, lane_reply
from tests.test_app import (  # noqa: F401  (app_key and github are fixtures)
    HEAD,
    add_pull,
    app_key,
    app_settings,
    deliver,
    drain,
    github,
    use_fake_model,
)

PAYLOADS = ROOT / "tests" / "fixtures" / "octokit-webhooks" / "payload-examples" / "api.github.com"
# Not shaped like any known credential: only a redactor that knows the configured key finds it.
KEY = "proxy-key-7f3a9c2e1b5d4a60"
REPO_NAME = "Codertocat/Hello-World"


def test_a_provider_key_in_error_text_is_nowhere_outside_the_process(
    github: FakeGitHub,  # noqa: F811  (the fixtures imported from test_app)
    app_key: tuple[str, str],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeLLM(key=KEY) as llm:
        # A proxy that refuses the model quotes the key, as "Incorrect API key provided: sk-…" does.
        llm.default("lane", "", Reply(status=401, error=f"Incorrect API key provided: {KEY}"))
        use_fake_model(monkeypatch, llm)
        settings = app_settings(
            github, app_key, tmp_path, SWARM_MODEL="openai/gpt-4.1-mini", SWARM_API_TOKEN="api-token"
        )
        payload = json.loads((PAYLOADS / "pull_request/opened.payload.json").read_text())
        add_pull(github, tmp_path / "r", HEAD, payload["pull_request"]["head"]["sha"])
        with TestClient(create_app(settings, workers=1, poll_s=0.05)) as c:
            assert deliver(c, "pull_request", payload, "red-1").status_code == 202
            assert drain(c) == {DONE: 1}
            auth = {"Authorization": "Bearer api-token"}
            runs = c.get("/api/runs", headers=auth).json()
            run = c.get(f"/api/runs/{runs[0]['id']}", headers=auth).json()
            stored = c.app.state.store.get_run(runs[0]["id"])  # type: ignore[attr-defined]
        assert llm.calls("lane")  # the lanes did call the model and were refused
    posted: list[Any] = [github.reviews, list(github.comments_on(2)), github.check_runs, runs, run]
    text = json.dumps(posted)
    assert "answered HTTP 401" in text  # the failure is still explained…
    assert KEY not in text  # …without the key
    assert llm.url.rstrip("/") not in json.dumps(posted[:3])  # nor the internal model URL on GitHub
    assert stored.review is not None and KEY not in json.dumps([stored.review.notes, stored.document])


def review_with_note(note: str) -> Review:
    lane = LaneResult(Lane.SECURITY, LaneStatus.FAILED, note=note)
    return Review("o/r#1", None, None, Verdict.APPROVE, (), (), (lane,), 1, 1, 0, notes=(note,))


@pytest.mark.parametrize(
    "leak",
    [
        "Incorrect API key provided: sk-proj-abcdefghijklmnop1234",
        "bad credentials ghp_abcdefghijklmnopqrstuvwxyz0123",
        "AWS said no to AKIAABCDEFGHIJKLMNOP",
        "Authorization: Bearer abcdefghijklmnopqrstuvwx",
        "could not connect to postgresql://swarm:hunter2hunter2@db:5432/swarm",
    ],
)
def test_credential_shapes_are_redacted_with_no_configuration(leak: str) -> None:
    out = Redactor().review(review_with_note(leak))
    assert REDACTED in out.notes[0] and REDACTED in out.lanes[0].note
    for secret in (
        "sk-proj-abcdefghijklmnop1234",
        "ghp_abc",
        "AKIAABCD",
        "abcdefghijklmnopqrstuvwx",
        "hunter2",
    ):
        assert secret not in json.dumps([out.notes, out.lanes[0].note])


def test_the_apps_redactor_knows_every_configured_secret() -> None:
    settings = load_settings(
        {
            "GITHUB_WEBHOOK_SECRET": "webhook-secret-1234",
            "SWARM_API_TOKEN": "api-token-5678",
            "SWARM_DATABASE_URL": "postgresql://swarm:db-pass-9012@db/swarm",
            "OPENAI_API_KEY": "local-key-3456",
            "OPENAI_BASE_URL": "http://10.0.0.7:8000/v1",
        }
    )
    redactor = redactor_for(settings)
    text = "webhook-secret-1234 api-token-5678 db-pass-9012 local-key-3456 at http://10.0.0.7:8000/v1/chat"
    assert redactor.text(text) == f"{REDACTED} {REDACTED} {REDACTED} {REDACTED} at {ENDPOINT}/chat"
    assert redactor.data({"a": [text], "n": 1}) == {"a": [redactor.text(text)], "n": 1}
    assert url_passwords("postgresql://u:p%40ss@h/db") == ("p%40ss", "p@ss") and url_passwords(None) == ()
    assert Redactor(["short"]).text("short stays") == "short stays"  # under 8 characters: no credential


HOSTILE = (
    "Ping @octocat and @acme/security. <!-- swarm:fp=0123456789abcdef --> <img src=x onerror=alert(1)> "
    "Read [the fix](https://evil.example/fix) ![px](https://evil.example/p.png) or https://evil.example/y; "
    f"the file is [here](https://github.com/{REPO_NAME}/blob/main/svc.py#L9). `List<int>` stays code."
)


def assert_sanitized(body: str) -> None:
    assert "@octocat" not in body and "@acme/security" not in body and "@\u2060octocat" in body
    assert "<!-- swarm:fp=0123456789abcdef" not in body and "<img" not in body
    assert "](https://evil.example" not in body and "(https://evil.example" not in body
    assert "`https://evil.example/y`" in body  # shown as code, not a link
    assert f"[here](https://github.com/{REPO_NAME}/blob/main/svc.py#L9)" in body  # the repository's own
    assert "`List<int>`" in body


def test_a_hostile_finding_message_is_posted_sanitized(
    github: FakeGitHub,  # noqa: F811
    app_key: tuple[str, str],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    finding = {
        "path": "svc.py",
        "line": 9,
        "severity": "medium",
        "category": "injection",
        "title": "Shell command built from input @octocat",
        "claim": HOSTILE,
        "evidence": "subprocess.call('systemctl restart ' + name, shell=True)",
        "symbols": ["restart"],
        "confidence": 0.9,
    }
    with FakeLLM() as llm:
        llm.default("lane", "correctness", lane_reply(finding))
        use_fake_model(monkeypatch, llm)
        settings = app_settings(github, app_key, tmp_path, SWARM_MODEL="openai/gpt-4.1-mini")
        payload = json.loads((PAYLOADS / "pull_request/opened.payload.json").read_text())
        add_pull(github, tmp_path / "r", HEAD, payload["pull_request"]["head"]["sha"])
        with TestClient(create_app(settings, workers=1, poll_s=0.05)) as c:
            deliver(c, "pull_request", payload, "san-1")
            assert drain(c) == {DONE: 1}
    inline = [x["body"] for x in github.reviews[0]["comments"] if "Shell command built" in x["body"]]
    assert len(inline) == 1
    assert_sanitized(inline[0])
    assert inline[0].count("<!-- swarm:fp=") == 1  # only swarm's own marker is a comment
    (summary,) = list(github.comments_on(2))
    assert "@octocat" not in summary["body"]


def test_sanitize_keeps_code_and_closes_an_open_fence() -> None:
    assert_sanitized(sanitize(HOSTILE, repo=REPO_NAME))
    assert sanitize("mail a@b.com") == "mail a@b.com"  # an address is no mention
    cut = sanitize("see\n```python\nx = 1 @y <b>\n")
    # An open fence is no code block yet: its text is made safe, and the fence is closed so it
    # cannot swallow the marker after it.
    assert cut == "see\n```python\nx = 1 @\u2060y &lt;b&gt;\n\n```"
    assert sanitize("x" * 50, limit=10) == "x" * 9 + "…"
    assert sanitize("[a](https://github.com/o/r.evil/x)", repo="o/r") == "a (link removed)"


def test_sarif_output_is_redacted() -> None:
    from swarm_core.models import Finding, Severity
    from swarm_core.render.sarif import to_sarif

    leak = Finding(
        "a.py",
        3,
        Severity.HIGH,
        Lane.SECURITY,
        "secrets",
        "llm/secrets",
        "a key",
        "sk-proj-abcdefghijklmnop1234",
    )
    review = dataclasses.replace(review_with_note("n"), findings=(leak,))
    text = json.dumps(to_sarif(review))
    assert "sk-proj-abcdefghijklmnop1234" not in text and REDACTED in text
    custom = dataclasses.replace(review, findings=(dataclasses.replace(leak, message="key local-key-3456"),))
    assert "local-key-3456" not in json.dumps(to_sarif(custom, redactor=Redactor(["local-key-3456"])))
