"""The GitHub App end to end: signed webhooks → queue → worker → engine → the fake GitHub server."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import load_settings
from swarm_core.github.signature import sign
from swarm_core.store.queue import DONE, JobQueue
from tests.conftest import PAYLOADS, Repo, git
from tests.fakes.github import FakeGitHub, Pull

SECRET = "test-webhook-secret"
REPO = "Codertocat/Hello-World"

BASE = "import subprocess\n\n\ndef status(name):\n    return subprocess.run(['systemctl', 'status', name])\n"
HEAD = (
    "import subprocess\n\n\ndef status(name):\n    return subprocess.run(['systemctl', 'status', name])\n\n\n"
    "def restart(name):\n    return subprocess.call('systemctl restart ' + name, shell=True)\n"
)
HEAD2 = (
    "import subprocess\n\n\ndef status(name):\n    return subprocess.run(['systemctl', 'status', name])\n\n\n"
    "def restart(name):\n    return subprocess.call(['systemctl', 'restart', name])\n\n\n"
    "def stop(name):\n    return subprocess.call('systemctl stop ' + name, shell=True)\n"
)


@pytest.fixture(scope="module")
def app_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def diff_of(tmp: Path, base: dict[str, str], head: dict[str, str]) -> str:
    tmp.mkdir(parents=True, exist_ok=True)
    repo = Repo(tmp)
    repo.commit(base)
    repo.commit(head)
    return git(tmp, "diff", "HEAD~1", "HEAD")


@pytest.fixture
def github(app_key: tuple[str, str], tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(app_id=4242, public_key=app_key[1]) as fake:
        fake.add_repo(REPO, files={".github/swarm.yml": "fail_on: high\n"})
        fake.permissions.update({"Codertocat": "admin", "stranger": "read"})
        yield fake
    assert fake.violations == []  # every request body matched GitHub's OpenAPI description


def opened_payload(action: str = "opened", head_sha: str | None = None) -> dict[str, Any]:
    p = json.loads((PAYLOADS / f"pull_request/{action}.payload.json").read_text())
    if head_sha:
        p["pull_request"]["head"]["sha"] = head_sha
    return p


def issue_comment(number: int, body: str) -> dict[str, Any]:
    """A real `issue_comment.created` payload for a comment on issue `number` (not a PR)."""
    p = json.loads((PAYLOADS / "issue_comment/created.with-installation.payload.json").read_text())
    p["issue"]["number"] = number
    p["issue"].pop("pull_request", None)
    p["comment"]["body"] = body
    return p


def use_fake_model(monkeypatch: pytest.MonkeyPatch, llm: Any) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", llm.key or "")
    monkeypatch.setenv("OPENAI_BASE_URL", llm.url)


def add_issue_about_restart(github: FakeGitHub, number: int = 5) -> None:
    github.repos[REPO]["files"]["main"].update({"svc.py": HEAD})
    github.issues[(REPO, number)] = {"title": "restart breaks on unit names with spaces", "body": ISSUE_BODY}


def add_pull(github: FakeGitHub, tmp: Path, head: str, head_sha: str) -> Pull:
    pull = Pull(
        number=2,
        title="Restart services",
        body="Adds restart().",
        diff=diff_of(tmp, {"svc.py": BASE}, {"svc.py": head}),
        base_files={"svc.py": BASE},
        head_files={"svc.py": head},
        head_sha=head_sha,
        base_sha="b" * 40,
    )
    return github.add_pull(REPO, pull)


def app_settings(github: FakeGitHub, app_key: tuple[str, str], tmp_path: Path, **extra: str) -> Any:
    return load_settings(
        {
            "GITHUB_APP_ID": "4242",
            "GITHUB_PRIVATE_KEY": app_key[0],
            "GITHUB_WEBHOOK_SECRET": SECRET,
            "GITHUB_API_URL": github.url,
            "SWARM_DATA_DIR": str(tmp_path / "data"),
            **extra,
        }
    )


@pytest.fixture
def client(github: FakeGitHub, app_key: tuple[str, str], tmp_path: Path) -> Iterator[TestClient]:
    settings = app_settings(github, app_key, tmp_path, SWARM_API_TOKEN="api-token")
    app = create_app(settings, workers=1, poll_s=0.05)
    with TestClient(app) as c:
        yield c


def deliver(
    client: TestClient, event: str, payload: dict[str, Any], guid: str, *, secret: str = SECRET
) -> Any:
    body = json.dumps(payload).encode()
    return client.post(
        "/github/webhook",
        content=body,
        headers={
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": guid,
            "X-GitHub-Hook-ID": "1",
            "X-Hub-Signature-256": sign(secret, body),
            "Content-Type": "application/json",
        },
    )


def drain(client: TestClient, timeout: float = 30.0) -> dict[str, int]:
    queue: JobQueue = client.app.state.queue  # type: ignore[attr-defined]
    deadline = time.time() + timeout
    while time.time() < deadline:
        depth = queue.depth()
        if not depth.get("queued") and not depth.get("running"):
            return depth
        time.sleep(0.05)
    raise AssertionError(f"jobs did not finish: {queue.depth()}")


def test_pull_request_opened_is_reviewed_on_github(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    r = deliver(client, "pull_request", opened_payload(), "d-1")
    assert r.status_code == 202 and r.json()["outcome"] == "queued: review"
    assert drain(client) == {DONE: 1}
    # Check run: created in progress, annotated, completed with the config's fail_on (high).
    (run,) = github.check_runs
    assert run["name"] == "swarm" and run["head_sha"] == head_sha
    assert run["status"] == "completed" and run["conclusion"] == "failure"
    assert any(a["path"] == "svc.py" and a["start_line"] == 9 for a in run["annotations"])
    assert run["output"]["title"].startswith("REQUEST_CHANGES")
    # One review with inline comments on commentable lines only.
    (review,) = github.reviews
    assert review["event"] == "COMMENT" and review["commit_id"] == head_sha
    assert review["comments"] and all(c["path"] == "svc.py" for c in review["comments"])
    assert all("<!-- swarm:fp=" in c["body"] for c in review["comments"])
    # One sticky summary.
    (summary,) = list(github.comments_on(2))
    assert summary["body"].startswith("## 🐝 swarm review: ✋ REQUEST CHANGES")
    assert "<!-- swarm:summary -->" in summary["body"] and "<!-- swarm:state=" in summary["body"]
    # The run is stored and the API shows it.
    runs = client.get("/api/runs", headers={"Authorization": "Bearer api-token"}).json()
    assert runs[0]["source"] == f"{REPO}#2"
    # The JWT and the installation token were used as GitHub requires.
    assert github.posted("POST", r"/app/installations/1/access_tokens")
    assert all(r.headers.get("X-GitHub-Api-Version") == "2022-11-28" for r in github.requests)


def test_redelivery_and_retry_post_nothing_twice(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    deliver(client, "pull_request", opened_payload(), "d-1")
    drain(client)
    again = deliver(client, "pull_request", opened_payload(), "d-1")
    assert again.status_code == 202 and again.json()["duplicate"] is True
    # A different delivery of the same push (say, a retried job after a crash) re-runs the review…
    deliver(client, "pull_request", opened_payload("reopened", head_sha), "d-2")
    drain(client)
    # …but nothing is posted twice: no second review, one summary edited in place, one check run.
    assert len(github.reviews) == 1
    assert len(list(github.comments_on(2))) == 1
    assert len(github.check_runs) == 1 and len(github.check_runs[0]["annotations"]) > 0
    annotations = github.check_runs[0]["annotations"]
    assert len({(a["path"], a["start_line"], a["title"]) for a in annotations}) == len(annotations)


def test_new_push_posts_only_new_findings_and_marks_fixed_ones_resolved(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    first_sha = opened_payload()["pull_request"]["head"]["sha"]
    pull = add_pull(github, tmp_path / "r", HEAD, first_sha)
    deliver(client, "pull_request", opened_payload(), "d-1")
    drain(client)
    first_review_paths = [(c["path"], c["line"]) for c in github.reviews[0]["comments"]]
    assert ("svc.py", 9) in first_review_paths
    second_sha = "c" * 40
    pull.head_sha = second_sha
    pull.head_files = {"svc.py": HEAD2}
    pull.diff = diff_of(tmp_path / "r2", {"svc.py": BASE}, {"svc.py": HEAD2})
    github.repos[REPO]["files"][second_sha] = pull.head_files
    deliver(client, "pull_request", opened_payload("synchronize", second_sha), "d-3")
    drain(client)
    assert len(github.reviews) == 2
    fps = [re.findall(r"swarm:fp=(\w+)", c["body"])[0] for c in github.reviews[0]["comments"]]
    second = github.reviews[1]["comments"]
    assert ("svc.py", 13) in [(c["path"], c["line"]) for c in second]  # the new shell=True
    assert not any(fp in c["body"] for fp in fps for c in second)  # nothing posted before is repeated
    (summary,) = list(github.comments_on(2))
    assert "Resolved since the last review" in summary["body"] and "svc.py:9" in summary["body"]
    assert len(github.check_runs) == 2  # one per head SHA


def test_commands_need_write_access_and_answer_once(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    p = json.loads((PAYLOADS / "issue_comment/created.with-installation.payload.json").read_text())
    p["issue"]["number"] = 2
    p["issue"]["pull_request"] = {"url": "x"}
    p["comment"]["body"] = "/swarm help"
    p["comment"]["user"]["login"] = "stranger"
    deliver(client, "issue_comment", p, "c-1")
    drain(client)
    (reply,) = list(github.comments_on(2))
    assert "Only people with write access" in reply["body"] and "@stranger" in reply["body"]
    p["comment"]["user"]["login"] = "Codertocat"
    p["comment"]["id"] = 99
    deliver(client, "issue_comment", p, "c-2")
    drain(client)
    replies = list(github.comments_on(2))
    assert len(replies) == 2 and "swarm commands" in replies[1]["body"]
    assert {"comment_id": 99, "content": "eyes"} in github.reactions
    p["comment"]["body"] = "/swarm pr-review --council"
    p["comment"]["id"] = 100
    deliver(client, "issue_comment", p, "c-3")
    drain(client)
    assert len(github.reviews) == 1 and len(github.check_runs) == 1
    p["comment"]["body"] = "/swarm council is this design right?"
    p["comment"]["id"] = 101
    deliver(client, "issue_comment", p, "c-4")
    drain(client)
    assert "The council needs a model" in list(github.comments_on(2))[-1]["body"]


def test_a_reply_marker_written_by_someone_else_does_not_silence_a_command(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    p = json.loads((PAYLOADS / "issue_comment/created.with-installation.payload.json").read_text())
    p["issue"]["number"] = 2
    p["issue"]["pull_request"] = {"url": "x"}
    p["comment"]["body"] = "/swarm help"
    p["comment"]["user"]["login"] = "Codertocat"
    p["comment"]["id"] = 77
    # Someone writes the marker of swarm's answer to comment 77 before swarm answers it.
    github.add_issue_comment(REPO, 2, "quoting: <!-- swarm:reply=77 -->", "mallory")
    deliver(client, "issue_comment", p, "c-77")
    drain(client)
    mine = [c for c in github.comments_on(2) if c["user"]["login"] != "mallory"]
    assert len(mine) == 1 and "swarm commands" in mine[0]["body"]
    # A redelivery finds swarm's own answer and posts nothing more.
    deliver(client, "issue_comment", p, "c-77b")
    drain(client)
    assert len([c for c in github.comments_on(2) if c["user"]["login"] != "mallory"]) == 1


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, b"{}", 401),
        ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, b"{}", 401),
        ({"X-Hub-Signature-256": sign(SECRET, b"{not json")}, b"{not json", 400),
        ({"X-Hub-Signature-256": sign(SECRET, b"[1]")}, b"[1]", 400),
    ],
)
def test_bad_deliveries_are_refused_and_lose_nothing(
    client: TestClient, headers: dict[str, str], body: bytes, status: int
) -> None:
    r = client.post(
        "/github/webhook",
        content=body,
        headers={
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": "x",
            "Content-Type": "application/json",
            **headers,
        },
    )
    assert r.status_code == status
    assert client.app.state.queue.depth() == {}  # type: ignore[attr-defined]


def test_form_encoded_ping_and_unknown_events(client: TestClient) -> None:
    from urllib.parse import urlencode

    ping = (PAYLOADS / "ping/payload.json").read_text()
    body = urlencode({"payload": ping}).encode()
    r = client.post(
        "/github/webhook",
        content=body,
        headers={
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": "p-1",
            "X-Hub-Signature-256": sign(SECRET, body),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert r.status_code == 200 and r.json()["outcome"] == "pong"
    r = deliver(client, "star", {"action": "created"}, "s-1")
    assert r.status_code == 202 and r.json()["outcome"] == "ignored: event star created"


def test_oversized_body_is_refused(client: TestClient) -> None:
    big = b'{"a": "' + b"x" * (26 * 1024 * 1024) + b'"}'
    r = client.post(
        "/github/webhook",
        content=big,
        headers={
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "b",
            "X-Hub-Signature-256": sign(SECRET, big),
        },
    )
    assert r.status_code == 413


def test_no_secret_configured_fails_closed(tmp_path: Path) -> None:
    app = create_app(load_settings({"SWARM_DATA_DIR": str(tmp_path)}), workers=0)
    with TestClient(app) as c:
        r = c.post("/github/webhook", content=b"{}", headers={"X-Hub-Signature-256": sign("", b"{}")})
    assert r.status_code == 401 and "no webhook secret" in r.json()["error"]


def test_api_auth_rate_limit_memory_and_health(client: TestClient) -> None:
    assert client.get("/api/runs").status_code == 401
    assert client.get("/api/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
    auth = {"Authorization": "Bearer api-token"}
    assert (
        client.put(
            "/api/memory/team/style", json={"value": {"tabs": False}, "ttl": 60}, headers=auth
        ).status_code
        == 200
    )
    assert client.get("/api/memory/team/style", headers=auth).json()["value"] == {"tabs": False}
    assert client.delete("/api/memory/team/style", headers=auth).json()["deleted"] is True
    assert client.get("/api/memory/team/style", headers=auth).status_code == 404
    assert client.post("/api/reviews", json={"repo": "o/r", "pr": 1}, headers=auth).status_code == 404
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/metrics").status_code == 401  # installation ids: behind the token by default
    assert client.get("/metrics", headers=auth).status_code == 200
    codes = [client.get("/api/runs", headers=auth).status_code for _ in range(100)]
    assert 429 in codes


def test_github_errors_are_handled_without_losing_the_review(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    # A 502 on a read is retried by the client; a secondary rate limit on the review POST
    # is waited out (Retry-After) and the POST sent again; a 422 would fall back to the body.
    github.fail("GET", r"/pulls/2$", 502)
    github.fail("POST", r"/pulls/2/reviews$", 403, headers={"Retry-After": "1"})
    deliver(client, "pull_request", opened_payload(), "e-1")
    assert drain(client) == {DONE: 1}
    assert len(github.reviews) == 1 and github.check_runs[0]["status"] == "completed"
    rate_limited = [r for r in github.requests if r.method == "POST" and r.path.endswith("/reviews")]
    assert [r.status for r in rate_limited] == [403, 200]


def test_review_refused_with_422_falls_back_to_the_body(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    github.fail(
        "POST",
        r"/pulls/2/reviews$",
        422,
        body={
            "message": "Unprocessable Entity",
            "errors": ["Pull request review thread line must be part of the diff"],
        },
    )
    deliver(client, "pull_request", opened_payload(), "e-2")
    assert drain(client) == {DONE: 1}
    (review,) = github.reviews
    assert "comments" not in review and "svc.py:9" in review["body"] and "swarm:fp=" in review["body"]


@pytest.mark.parametrize(("status", "final"), [(404, "failed"), (403, "failed"), (500, "queued")])
def test_github_refusals_fail_or_retry_the_job(
    client: TestClient,
    github: FakeGitHub,
    tmp_path: Path,
    status: int,
    final: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    github.fail("GET", r"/pulls/2$", status, times=10)
    r = deliver(client, "pull_request", opened_payload(), f"f-{status}")
    job_id = r.json()["job"]
    queue: JobQueue = client.app.state.queue  # type: ignore[attr-defined]
    deadline = time.time() + 20
    while time.time() < deadline and queue.get(job_id).attempts == 0:
        time.sleep(0.05)
    while time.time() < deadline and queue.get(job_id).status == "running":
        time.sleep(0.05)
    job = queue.get(job_id)
    assert job.status == final and f"GitHub answered {status}" in job.error
    assert github.reviews == []
    # The failure is logged once, with its traceback and the ids to find the job and delivery by
    # (the job's status is recorded first, so the record may follow a moment later).
    while time.time() < deadline and not failure_records(caplog, job_id):
        time.sleep(0.05)
    (record,) = failure_records(caplog, job_id)
    assert (record.job_kind, record.delivery_id) == ("review", f"f-{status}")  # type: ignore[attr-defined]
    assert record.levelname == ("ERROR" if final == "failed" else "WARNING")
    assert "review_pull_request" in traceback_of(record)


def failure_records(caplog: pytest.LogCaptureFixture, job_id: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "swarm.worker" and getattr(r, "job_id", None) == job_id and r.exc_info
    ]


def traceback_of(record: logging.LogRecord) -> str:
    assert record.exc_info is not None
    return "".join(traceback.format_exception(*record.exc_info))


def test_a_worker_that_dies_mid_job_loses_its_lease_and_the_job_runs_once_more(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    queue: JobQueue = client.app.state.queue  # type: ignore[attr-defined]
    for w in client.app.state.workers:  # type: ignore[attr-defined]
        w.lease_s = 600
    # A dead worker holds the job with a lease that is about to run out.
    payload = route_job(opened_payload())
    job_id = queue.enqueue("review", "pr:Codertocat/Hello-World#2", payload, installation_id=1)
    dead = queue.claim("dead-worker", lease_s=0.3)
    assert dead is not None and dead.id == job_id
    time.sleep(0.4)
    client.app.state.wake.set()  # type: ignore[attr-defined]
    assert drain(client) == {DONE: 1}
    job = queue.get(job_id)
    assert job.attempts == 2 and job.lease_owner is None
    assert queue.complete(job_id, "dead-worker") is False  # the dead worker's late result is refused
    assert len(github.reviews) == 1


def route_job(payload: dict[str, Any]) -> dict[str, Any]:
    from swarm_core.github.events import route

    decision = route("pull_request", payload)
    assert decision.job is not None
    return decision.job[2]


def test_pr_review_from_the_cli_with_a_token(github: FakeGitHub, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    github.static_tokens.add("ghp_cli")
    env = {**os.environ, "GITHUB_TOKEN": "ghp_cli", "GITHUB_API_URL": github.url}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "swarm_cli",
            "pr-review",
            "--pr",
            f"https://github.com/{REPO}/pull/2",
            "--format",
            "json",
            "--no-store",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr  # fail_on: high from the default branch's config
    data = json.loads(result.stdout)
    assert data["source"] == f"{REPO}#2" and data["verdict"] == "REQUEST_CHANGES"
    assert github.reviews == [] and github.check_runs == []  # the CLI only reads
    bad = subprocess.run(
        [sys.executable, "-m", "swarm_cli", "pr-review", "--pr", "not-a-ref"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "give a pull request URL or owner/repo#N" in bad.stderr


def test_serve_refuses_to_start_without_its_settings(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    result = subprocess.run(
        [sys.executable, "-m", "swarm_cli", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "swarm: config error: missing setting(s): GITHUB_APP_ID, GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, "
        "GITHUB_WEBHOOK_SECRET (see README: GitHub App)"
    )


def test_pagination_finds_the_sticky_summary_on_a_later_page(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    github.per_page_cap = 1  # one item per page: every list is followed through its link headers
    for n in range(3):
        github.issue_comments.append(
            {
                "id": 900 + n,
                "repo": REPO,
                "issue": 2,
                "body": f"human {n}",
                "user": {"login": "x", "type": "User"},
            }
        )
    deliver(client, "pull_request", opened_payload(), "g-1")
    drain(client)
    deliver(client, "pull_request", opened_payload("reopened", head_sha), "g-2")
    drain(client)
    summaries = [c for c in github.comments_on(2) if "<!-- swarm:summary -->" in c["body"]]
    assert len(summaries) == 1 and len(github.reviews) == 1
    pages = [r for r in github.requests if r.path.endswith("/issues/2/comments") and r.method == "GET"]
    assert any(r.query.get("page") == ["4"] for r in pages)


def test_a_diff_too_large_for_github_is_rebuilt_from_the_files_list(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    pull = add_pull(github, tmp_path / "r", HEAD, head_sha)
    pull.diff_too_large = True
    deliver(client, "pull_request", opened_payload(), "h-1")
    assert drain(client) == {DONE: 1}
    (review,) = github.reviews
    assert any(c["path"] == "svc.py" and c["line"] == 9 for c in review["comments"])
    (summary,) = list(github.comments_on(2))
    assert "rebuilt from the per-file patches" in summary["body"]


ISSUE_BODY = (
    "Calling `restart` on a unit with spaces in its name runs a broken shell command.\n\n"
    "### Expected behavior\nThe unit restarts.\n"
)


def test_swarm_issue_command_posts_one_sticky_analysis(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    github.repos[REPO]["files"]["main"].update(
        {"svc.py": HEAD, "docs/index.rst": "Services.\n", "util.py": "X = 1\n"}
    )
    github.issues[(REPO, 5)] = {"title": "restart breaks on unit names with spaces", "body": ISSUE_BODY}
    p = issue_comment(5, "/swarm issue --trace")
    deliver(client, "issue_comment", p, "i-1")
    assert drain(client) == {DONE: 1}
    analysis = [c for c in github.comments_on(5) if "<!-- swarm:issue -->" in c["body"]]
    assert len(analysis) == 1
    assert "| 1 | `svc.py` |" in analysis[0]["body"] and "defines `restart`" in analysis[0]["body"]
    assert "**Expected**: The unit restarts." in analysis[0]["body"]
    assert any("`--trace` (a proposed patch)" in c["body"] for c in github.comments_on(5))
    p["comment"]["id"] += 1
    p["comment"]["body"] = "/swarm issue"
    deliver(client, "issue_comment", p, "i-2")
    drain(client)
    assert (
        len([c for c in github.comments_on(5) if "<!-- swarm:issue -->" in c["body"]]) == 1
    )  # edited in place


def test_new_issues_are_analysed_only_when_configured(client: TestClient, github: FakeGitHub) -> None:
    github.repos[REPO]["files"]["main"].update({"svc.py": HEAD})
    github.issues[(REPO, 1)] = {"title": "restart is broken", "body": ISSUE_BODY}
    payload = json.loads((PAYLOADS / "issues/opened.payload.json").read_text())
    payload["installation"] = {"id": 1}
    payload["repository"]["full_name"] = REPO
    payload["issue"]["number"] = 1
    r = deliver(client, "issues", payload, "n-1")
    assert r.json()["outcome"] == "queued: issue analysis"
    drain(client)
    assert list(github.comments_on(1)) == []  # issues.auto_analyze is off by default
    github.repos[REPO]["files"]["main"][".github/swarm.yml"] = "issues:\n  auto_analyze: true\n"
    deliver(client, "issues", payload, "n-2")
    drain(client)
    assert len([c for c in github.comments_on(1) if "<!-- swarm:issue -->" in c["body"]]) == 1


def test_swarm_council_posts_the_members_and_the_verdict(
    github: FakeGitHub, app_key: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes.llm import FakeLLM

    with FakeLLM() as llm:
        use_fake_model(monkeypatch, llm)
        settings = app_settings(github, app_key, tmp_path, SWARM_MODEL="openai/gpt-4.1-mini")
        github.issues[(REPO, 9)] = {"title": "Switch to gRPC?", "body": "We make 3 REST calls per request."}
        with TestClient(create_app(settings, workers=1, poll_s=0.05)) as c:
            p = issue_comment(9, "@swarm council should we switch to gRPC?")
            deliver(c, "issue_comment", p, "k-1")
            assert drain(c) == {DONE: 1}
        (reply,) = list(github.comments_on(9))
        assert "## 🐝 swarm council" in reply["body"] and "**Verdict: FOR**" in reply["body"]
        assert reply["body"].count("<details>") == 3 and "<!-- swarm:council -->" in reply["body"]
        assert len(llm.calls("council")) == 3 and len(llm.calls("moderator")) == 1


def test_agents_api(
    github: FakeGitHub, app_key: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes.llm import FakeLLM, Reply

    with FakeLLM() as llm:
        llm.default("other", "", Reply({"result": "a migration plan"}))
        use_fake_model(monkeypatch, llm)
        settings = app_settings(
            github, app_key, tmp_path, SWARM_MODEL="openai/gpt-4.1-mini", SWARM_API_TOKEN="t0ken-1234"
        )
        auth = {"Authorization": "Bearer t0ken-1234"}
        with TestClient(create_app(settings, workers=0)) as c:
            assert (
                c.post(
                    "/api/agents", json={"name": "migrator", "role": "You plan database migrations."}
                ).status_code
                == 401
            )
            r = c.post(
                "/api/agents",
                json={"name": "migrator", "role": "You plan database migrations."},
                headers=auth,
            )
            assert r.status_code == 201
            agents = {a["name"]: a for a in c.get("/api/agents", headers=auth).json()}
            assert (
                agents["migrator"]["spawned"] == "true"
                and agents["security"]["model"] == "openai/gpt-4.1-mini"
            )
            run = c.post(
                "/api/execute",
                json={"task": "Plan the v2 schema", "agents": ["migrator", "security"]},
                headers=auth,
            ).json()
            assert [(x["name"], x["status"], x["output"]) for x in run["results"]] == [
                ("migrator", "ok", "a migration plan"),
                ("security", "ok", "a migration plan"),
            ]
            assert run["status"] == "ok" and run["usage"]["calls"] == 2
            # The run is stored: its results, and one evidence row per model call.
            stored = c.get(f"/api/runs/{run['run_id']}", headers=auth).json()
            assert stored["kind"] == "exec" and stored["run"]["results"] == run["results"]
            assert sorted(e["lane"] for e in stored["evidence"]) == ["migrator", "security"]
            listed = {r["id"]: r for r in c.get("/api/runs", headers=auth).json()}
            assert listed[run["run_id"]]["kind"] == "exec" and listed[run["run_id"]]["verdict"] == "ok"
            assert (
                "You plan database migrations." in llm.requests[0].prompt
                or "You plan database migrations." in llm.requests[1].prompt
            )
            assert (
                c.post("/api/execute", json={"task": "x", "agents": ["ghost"]}, headers=auth).status_code
                == 422
            )
            assert c.delete("/api/agents/migrator", headers=auth).json() == {
                "agent": "migrator",
                "deleted": True,
            }
            assert c.delete("/api/agents/security", headers=auth).status_code == 404


def test_an_installation_budget_caps_then_stops_model_work(
    github: FakeGitHub, app_key: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SWARM_INSTALLATION_BUDGET_USD: a run is capped at what is left; once spent, no model is called."""
    from swarm_core.lanes import LLM_DISABLED_NOTE
    from swarm_core.models import Exchange, Usage
    from tests.fakes.llm import FakeLLM

    def spend(store: Any, usd: float, installation: int) -> None:
        calls = (
            Exchange("council", "council", "openai/gpt-4.1", "h", Usage(calls=1, cost_usd=usd), 1.0, "ok"),
        )
        store.save_document(
            "council",
            source=f"{REPO}#1",
            status="FOR",
            duration_s=1.0,
            document={},
            exchanges=calls,
            counts={},
            repo=REPO,
            installation_id=installation,
        )

    with FakeLLM() as llm:
        use_fake_model(monkeypatch, llm)
        settings = app_settings(
            github, app_key, tmp_path, SWARM_MODEL="openai/gpt-4.1-mini", SWARM_INSTALLATION_BUDGET_USD="6"
        )
        first_sha = opened_payload()["pull_request"]["head"]["sha"]
        pull = add_pull(github, tmp_path / "r", HEAD, first_sha)
        with TestClient(create_app(settings, workers=1, poll_s=0.05)) as c:
            store = c.app.state.store  # type: ignore[attr-defined]
            spend(store, 5.0, installation=1)  # earlier this month
            spend(store, 50.0, installation=99)  # another installation's spend does not count
            # $1 left: the review runs its model lanes with its cost cap lowered to $1.
            deliver(c, "pull_request", opened_payload(), "b-1")
            assert drain(c) == {DONE: 1}
            assert llm.calls("lane")
            (summary,) = list(github.comments_on(2))
            assert "capped at $1.00" in summary["body"]
            assert store.spent_by_installation(1, since=0) > 5.0  # the review's calls count
            # The budget is spent: the next push is reviewed by the deterministic lanes only.
            spend(store, 1.0, installation=1)
            calls_before = len(llm.requests)
            second_sha = "c" * 40
            pull.head_sha, pull.head_files = second_sha, {"svc.py": HEAD2}
            pull.diff = diff_of(tmp_path / "r2", {"svc.py": BASE}, {"svc.py": HEAD2})
            github.repos[REPO]["files"][second_sha] = pull.head_files
            deliver(c, "pull_request", opened_payload("synchronize", second_sha), "b-2")
            assert drain(c) == {DONE: 2}
            assert len(llm.requests) == calls_before  # no model was called
            (summary,) = list(github.comments_on(2))
            assert "The model budget of this installation is spent: $" in summary["body"]
            assert LLM_DISABLED_NOTE.split(":")[0] not in summary["body"]  # not "no model is configured"
            assert github.reviews[-1]["comments"]  # the deterministic findings are still posted
            # A council asked for now is refused politely, also without a model call.
            github.issues[(REPO, 9)] = {"title": "Switch to gRPC?", "body": "We make 3 REST calls."}
            p = issue_comment(9, "@swarm council should we switch to gRPC?")
            deliver(c, "issue_comment", p, "b-3")
            assert drain(c) == {DONE: 3}
            (reply,) = list(github.comments_on(9))
            assert "The model budget of this installation is spent" in reply["body"]
            # An issue analysis keeps its deterministic part and says why the model part is missing.
            add_issue_about_restart(github)
            p = issue_comment(5, "/swarm issue")
            p["comment"]["id"] += 1  # another comment than the council's
            deliver(c, "issue_comment", p, "b-4")
            assert drain(c) == {DONE: 4}
            (analysis,) = [x for x in github.comments_on(5) if "<!-- swarm:issue -->" in x["body"]]
            assert "The model budget of this installation is spent" in analysis["body"]
            assert "| 1 | `svc.py` |" in analysis["body"]
            assert len(llm.requests) == calls_before


def test_a_council_in_the_app_is_stored_with_its_cost(
    github: FakeGitHub, app_key: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes.llm import FakeLLM

    with FakeLLM() as llm:
        use_fake_model(monkeypatch, llm)
        settings = app_settings(
            github, app_key, tmp_path, SWARM_MODEL="openai/gpt-4.1-mini", SWARM_API_TOKEN="api-token"
        )
        github.issues[(REPO, 9)] = {"title": "Switch to gRPC?", "body": "We make 3 REST calls."}
        with TestClient(create_app(settings, workers=1, poll_s=0.05)) as c:
            p = issue_comment(9, "@swarm council should we switch to gRPC?")
            deliver(c, "issue_comment", p, "s-1")
            assert drain(c) == {DONE: 1}
            auth = {"Authorization": "Bearer api-token"}
            (listed,) = c.get("/api/runs", headers=auth).json()
            assert listed["kind"] == "council" and listed["verdict"] == "FOR"
            stored = c.get(f"/api/runs/{listed['id']}", headers=auth).json()
            assert stored["run"]["question"] == "should we switch to gRPC?"
            assert len(stored["evidence"]) == len(llm.requests) == 4  # three members and the moderator
            inst = p["installation"]["id"]
            assert c.app.state.store.spent_by_installation(inst, since=0) > 0  # type: ignore[attr-defined]
            # An issue analysis with a model is stored the same way, with its own calls.
            add_issue_about_restart(github)
            p = issue_comment(5, "/swarm issue")
            p["comment"]["id"] += 1  # another comment than the council's
            council_calls = len(llm.requests)
            deliver(c, "issue_comment", p, "s-2")
            assert drain(c) == {DONE: 2}
            newest = c.get("/api/runs", headers=auth).json()[0]
            assert newest["kind"] == "issue" and newest["source"] == f"{REPO}#5"
            issue_run = c.get(f"/api/runs/{newest['id']}", headers=auth).json()
            assert len(issue_run["evidence"]) == len(llm.requests) - council_calls > 0
    # The CLI shows it from the same store.
    env = {**os.environ, "SWARM_DATA_DIR": str(tmp_path / "data")}
    shown = subprocess.run(
        [sys.executable, "-m", "swarm_cli", "runs", "show", listed["id"]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"council run {listed['id']}: FOR ({REPO}#9)")


def test_a_malformed_job_fails_for_good_and_logs_its_traceback(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    queue: JobQueue = client.app.state.queue  # type: ignore[attr-defined]
    job_id = queue.enqueue("review", f"pr:{REPO}#2", {"installation_id": 1}, installation_id=1)
    client.app.state.wake.set()  # type: ignore[attr-defined]
    assert drain(client) == {"failed": 1}
    assert queue.get(job_id).error == "KeyError: 'repo'"  # what the job shows…
    (record,) = failure_records(caplog, job_id)
    text = traceback_of(record)  # …and what the log holds to debug it from
    assert "KeyError: 'repo'" in text and "handlers.py" in text and "review_pull_request" in text


def test_a_publish_that_fails_is_logged_with_the_stored_run(
    client: TestClient, github: FakeGitHub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    github.fail("POST", r"/pulls/2/reviews$", 403, times=10)
    job_id = deliver(client, "pull_request", opened_payload(), "p-1").json()["job"]
    assert drain(client) == {"failed": 1}
    deadline = time.time() + 10  # the job's status is recorded first, its log record a moment later
    while time.time() < deadline and not failure_records(caplog, job_id):
        time.sleep(0.05)
    (record,) = failure_records(caplog, job_id)
    runs = client.get("/api/runs", headers={"Authorization": "Bearer api-token"}).json()
    assert record.run_id == runs[0]["id"] and record.delivery_id == "p-1"  # type: ignore[attr-defined]
    assert "publish" in traceback_of(record) and "GitHubForbidden" in traceback_of(record)


def test_check_suite_rerequested_reruns_the_review_at_the_suites_head(
    client: TestClient, github: FakeGitHub, tmp_path: Path
) -> None:
    payload = json.loads((PAYLOADS / "check_suite/rerequested.payload.json").read_text())
    head_sha = payload["check_suite"]["head_sha"]
    add_pull(github, tmp_path / "r", HEAD, head_sha)
    deliver(client, "pull_request", opened_payload(), "cs-1")
    assert drain(client) == {DONE: 1}
    # "Re-run all checks": the suite's job queues a review of each of its pull requests, which
    # runs again (a re-run is explicit) and publishes without repeating itself.
    r = deliver(client, "check_suite", payload, "cs-2")
    assert r.status_code == 202 and r.json()["outcome"] == "queued: re-run of the check suite"
    assert drain(client) == {DONE: 3}
    queue: JobQueue = client.app.state.queue  # type: ignore[attr-defined]
    suite = queue.get(r.json()["job"])
    assert suite is not None and suite.kind == "suite"
    assert len(github.check_runs) == 2 and all(run["head_sha"] == head_sha for run in github.check_runs)
    assert github.check_runs[-1]["status"] == "completed"
    assert len(github.reviews) == 1  # nothing new to say inline
    assert len(list(github.comments_on(2))) == 1  # the sticky summary, edited in place


REDIS_URL = os.environ.get("SWARM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_redis(call: Any) -> Any:
    """`call(memory)` on a RedisMemory of its own, in an event loop of its own."""
    import asyncio

    from swarm_core.memory import RedisMemory

    async def run() -> Any:
        memory = RedisMemory(REDIS_URL)
        try:
            return await call(memory)
        finally:
            await memory.aclose()

    return asyncio.run(run())


def test_swarm_memory_is_in_redis_when_swarm_redis_url_is_set(
    github: FakeGitHub, app_key: tuple[str, str], tmp_path: Path
) -> None:
    from swarm_core.errors import MemoryStoreError
    from swarm_core.memory import RedisMemory

    key = f"pr:{REPO}#2"
    try:
        in_redis(lambda m: m.delete("pr-state", key))
    except MemoryStoreError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    settings = app_settings(github, app_key, tmp_path, SWARM_REDIS_URL=REDIS_URL, SWARM_API_TOKEN="api-token")
    try:
        with TestClient(create_app(settings, workers=1, poll_s=0.05)) as c:
            assert isinstance(c.app.state.memory, RedisMemory)  # type: ignore[attr-defined]
            p = issue_comment(2, "/swarm pause")
            p["issue"]["pull_request"] = {"url": "x"}
            deliver(c, "issue_comment", p, "m-1")
            assert drain(c) == {DONE: 1}
            # The pause is in Redis, where every App process and worker sees it.
            entry = in_redis(lambda m: m.get("pr-state", key))
            assert entry is not None and entry.value == "paused" and entry.created_by == "Codertocat"
            # The API's memory endpoints use the same backend.
            auth = {"Authorization": "Bearer api-token"}
            assert c.put("/api/memory/probe", json={"value": [1, 2]}, headers=auth).status_code == 200
            assert in_redis(lambda m: m.get("api", "probe")).value == [1, 2]
    finally:
        in_redis(lambda m: m.delete("pr-state", key))
        in_redis(lambda m: m.delete("api", "probe"))


def test_app_logs_are_json_lines_with_secrets_redacted(
    github: FakeGitHub,
    app_key: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    planted = "sk-planted-0123456789abcdef"
    settings = app_settings(
        github,
        app_key,
        tmp_path,
        SWARM_LOG_FORMAT="json",
        OPENAI_API_KEY=planted,
        SWARM_API_TOKEN="api-token",
    )
    with TestClient(create_app(settings, workers=1, poll_s=0.05)) as c:
        queue: JobQueue = c.app.state.queue  # type: ignore[attr-defined]
        capsys.readouterr()
        logging.getLogger("swarm.test").warning("calling the provider with %s", planted)
        job_id = queue.enqueue("review", f"pr:{REPO}#2", {"installation_id": 1}, installation_id=1)
        c.app.state.wake.set()  # type: ignore[attr-defined]
        assert drain(c) == {"failed": 1}
    err = capsys.readouterr().err
    assert planted not in err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    said = next(x for x in lines if x["logger"] == "swarm.test")
    assert said["message"] == "calling the provider with [redacted]" and said["level"] == "WARNING"
    failed = next(x for x in lines if x.get("job_id") == job_id)
    assert failed["level"] == "ERROR" and failed["job_kind"] == "review"
    assert failed["exc"].startswith("Traceback") and "KeyError: 'repo'" in failed["exc"]


def test_the_app_never_runs_the_mutation_gate(client: TestClient, github: FakeGitHub, tmp_path: Path) -> None:
    # Enabled, failing on survivors, with a test command that would leave a marker: the App
    # reviews through the API and never executes a pull request's code.
    marker = tmp_path / "tests-ran"
    check = f"open({str(marker)!r}, 'w').close()\n"
    github.repos[REPO]["files"]["main"][".github/swarm.yml"] = (
        f"mutation:\n  enabled: true\n  fail_action: FAIL\n  test_command: {sys.executable} check.py\n"
    )
    head_sha = opened_payload()["pull_request"]["head"]["sha"]
    pull = add_pull(github, tmp_path / "r", HEAD, head_sha)
    pull.base_files["check.py"] = pull.head_files["check.py"] = check
    deliver(client, "pull_request", opened_payload(), "d-mutation")
    assert drain(client) == {DONE: 1}
    (run,) = github.check_runs
    assert run["conclusion"] == "success" and not marker.exists()
    (summary,) = list(github.comments_on(2))
    assert "Mutation" not in summary["body"] and "tests/mutation-" not in json.dumps(github.reviews)
