"""One redactor for outward text: a provider key planted in error text never leaves the process."""

from __future__ import annotations

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
from swarm_core.store.queue import DONE
from tests.conftest import ROOT
from tests.fakes.github import FakeGitHub
from tests.fakes.llm import FakeLLM, Reply
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
        }
    )
    env = {"OPENAI_API_KEY": "local-key-3456", "OPENAI_BASE_URL": "http://10.0.0.7:8000/v1"}
    redactor = redactor_for(settings, env)
    text = "webhook-secret-1234 api-token-5678 db-pass-9012 local-key-3456 at http://10.0.0.7:8000/v1/chat"
    assert redactor.text(text) == f"{REDACTED} {REDACTED} {REDACTED} {REDACTED} at {ENDPOINT}/chat"
    assert redactor.data({"a": [text], "n": 1}) == {"a": [redactor.text(text)], "n": 1}
    assert url_passwords("postgresql://u:p%40ss@h/db") == ("p%40ss", "p@ss") and url_passwords(None) == ()
    assert Redactor(["short"]).text("short stays") == "short stays"  # under 8 characters: no credential
