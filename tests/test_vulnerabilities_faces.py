"""Known vulnerabilities in the faces: the App (fake GitHub + fake OSV) and the CLI (its run store caches)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.fakes.github import FakeGitHub, Pull
from tests.fakes.osv import FakeOSV
from tests.test_action import TOKEN, action, opened
from tests.test_app import REPO, app_settings, deliver, diff_of, drain, opened_payload
from tests.test_app import app_key as app_key  # a fixture the tests below use
from tests.test_cli import swarm
from tests.test_vulnerabilities import BASE_PACKAGE, HEAD_PACKAGE


@pytest.fixture
def github(app_key: tuple[str, str]) -> Iterator[FakeGitHub]:
    with FakeGitHub(app_id=4242, public_key=app_key[1]) as fake:
        # The repository asks for another OSV: the App asks only the operator's.
        config = "analyzers:\n  vulnerabilities:\n    url: http://osv.attacker.invalid\n"
        fake.add_repo(REPO, files={".github/swarm.yml": config})
        yield fake
    assert fake.violations == []


def open_pull(github: FakeGitHub, tmp: Path) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    base, head = {"package.json": BASE_PACKAGE}, {"package.json": HEAD_PACKAGE}
    pull = Pull(2, "Bump express", "", diff_of(tmp, base, head), base, head, head_sha=head_sha)
    github.add_pull(REPO, pull)


def review_on_github(github: FakeGitHub, app_key: tuple[str, str], tmp_path: Path, osv_url: str) -> str:
    open_pull(github, tmp_path / "r")
    settings = app_settings(github, app_key, tmp_path, SWARM_OSV_URL=osv_url)
    with TestClient(create_app(settings, workers=1, poll_s=0.05)) as client:
        assert deliver(client, "pull_request", opened_payload(), "d-1").status_code == 202
        drain(client)
    (summary,) = list(github.comments_on(2))
    body: str = summary["body"]
    return body


def test_the_app_reports_vulnerable_versions_with_a_suggested_fix(
    github: FakeGitHub, app_key: tuple[str, str], tmp_path: Path
) -> None:
    with FakeOSV() as osv:
        summary = review_on_github(github, app_key, tmp_path, osv.url)
    assert osv.batches() and all(r.path.startswith("/v1/") for r in osv.requests)
    assert "express 4.17.1 has 2 known vulnerabilities: GHSA-qw6h-vgh9-j6wx, GHSA-rv95-896h-c2vc" in summary
    assert "Known vulnerabilities were not checked" not in summary
    (review,) = github.reviews
    express = next(c for c in review["comments"] if "express 4.17.1" in c["body"])
    assert (express["path"], express["line"]) == ("package.json", 4)
    assert '```suggestion\n    "express": "4.20.0",\n```' in express["body"]
    assert "Move to express 4.20.0 or later." in express["body"]


def test_the_app_says_the_check_was_skipped_when_osv_is_down(
    github: FakeGitHub, app_key: tuple[str, str], tmp_path: Path
) -> None:
    with FakeOSV() as osv:
        closed = osv.url  # nothing listens there any more
    summary = review_on_github(github, app_key, tmp_path, closed)
    # The note passes the sanitizer like all review text: the URL shows as code, not a link.
    assert f"> ℹ️ Known vulnerabilities were not checked: OSV at `{closed}` could not be reached" in summary
    assert "known vulnerabilities:" not in summary


def test_the_cli_caches_answers_in_its_run_store(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo()
    repo.commit({"package.json": BASE_PACKAGE})
    repo.commit({"package.json": HEAD_PACKAGE})
    with FakeOSV() as osv:
        config = tmp_path / "swarm.yml"
        config.write_text(f"analyzers:\n  vulnerabilities:\n    url: {osv.url}\n", encoding="utf-8")
        args = ("pr-review", "--repo", str(repo.path), "--base", "HEAD~1", "--config", str(config))
        first = swarm(*args, "--format", "json")
        asked = len(osv.requests)
        second = swarm(*args, "--format", "json")
        assert len(osv.requests) == asked  # the second review asked OSV nothing
    assert first.returncode == 0, first.stderr
    found = [f for f in json.loads(first.stdout)["findings"] if f["rule"] == "deps/known-vulnerability"]
    again = [f for f in json.loads(second.stdout)["findings"] if f["rule"] == "deps/known-vulnerability"]
    assert [(f["path"], f["line"], f["severity"]) for f in found] == [
        ("package.json", 6, "high"),
        ("package.json", 4, "medium"),
    ]
    assert again == found


def test_the_action_reads_the_check_from_the_repository_config(tmp_path: Path) -> None:
    with FakeOSV() as osv, FakeGitHub() as fake:
        config = f"analyzers:\n  vulnerabilities:\n    url: {osv.url}\n"
        fake.add_repo(REPO, files={".github/swarm.yml": config})
        fake.static_tokens.add(TOKEN)
        open_pull(fake, tmp_path / "r")
        result, summary, outputs = action(tmp_path, fake, "pull_request", opened())
        assert fake.violations == []
    assert result.returncode == 0, result.stderr
    assert "express 4.17.1 has 2 known vulnerabilities" in summary
    assert outputs["high"] == "1"  # lodash 4.17.19: GHSA-35jh-r3h4-6jhm is HIGH
    assert osv.batches()
