"""The HTTP API under hostile use: auth before limits, bounded limiter, body caps, odd paths, closed docs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api import RateLimiter
from app.main import create_app
from app.settings import load_settings
from swarm_core.store import open_store, sqlite_url
from tests.helpers import database_params, reset_database

TOKEN = "api-t0ken-hostile"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_client(tmp_path: Path, url: str = "sqlite", **env: str) -> TestClient:
    if url.startswith("postgres"):
        reset_database(url)
    store = open_store(url if url != "sqlite" else sqlite_url(tmp_path / "data"))
    settings = load_settings({"SWARM_API_TOKEN": TOKEN, "SWARM_DATA_DIR": str(tmp_path / "data"), **env})
    return TestClient(create_app(settings, store=store, workers=0))


@pytest.fixture(params=database_params())
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path, request.param) as c:
        yield c


def test_anonymous_requests_never_lock_out_the_token_holder(tmp_path: Path) -> None:
    with make_client(tmp_path, SWARM_API_RATE_PER_MINUTE="5") as c:
        anonymous = [c.get("/api/runs").status_code for _ in range(8)]
        assert anonymous == [401] * 5 + [429] * 3  # failed authentication is limited per address
        assert c.get("/api/runs", headers=AUTH).status_code == 200  # same address, own budget
        codes = [c.get("/api/runs", headers=AUTH).status_code for _ in range(5)]
        assert codes == [200] * 4 + [429]
        r = c.get("/api/runs", headers=AUTH)
        assert r.json() == {"detail": "rate limit: 5 requests per minute"}  # the configured limit
        assert r.headers["retry-after"] == "60"


def test_the_limiter_table_is_bounded() -> None:
    limiter = RateLimiter(1, max_keys=3)
    for n in range(100):
        assert limiter.allow(f"10.0.0.{n}", now=0.0)
    assert len(limiter) == 3
    assert limiter.allow("10.0.0.99", now=1.0) is False  # the newest keys are kept…
    assert limiter.allow("10.0.0.0", now=1.0) is True  # …the oldest were evicted


def test_request_bodies_are_capped_while_they_stream(client: TestClient) -> None:
    big = {"value": "x" * (20 * 1024 * 1024)}
    r = client.put("/api/memory/team/big", json=big, headers=AUTH)
    assert r.status_code == 413 and "SWARM_API_MAX_BODY_BYTES" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"value": "'
        for _ in range(40):
            yield b"x" * (512 * 1024)
        yield b'"}'

    r = client.put(
        "/api/memory/team/big", content=chunks(), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert client.get("/api/memory/team/big", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/runs/a%00b"),
        ("GET", "/api/runs/" + "a" * 33),
        ("PUT", "/api/memory/" + "k" * 600),
        ("PUT", "/api/memory/a%00b"),
        ("GET", "/api/memory/a%00b"),
        ("DELETE", "/api/memory/a%01b"),
    ],
)
def test_odd_identifiers_are_a_4xx_on_every_database(client: TestClient, method: str, path: str) -> None:
    r = client.request(method, path, json={"value": 1}, headers=AUTH)
    assert r.status_code == 422, r.text
    assert "sqlalchemy" not in r.text.lower() and "psycopg" not in r.text.lower()


def test_a_review_request_for_an_overlong_repository_is_refused(client: TestClient) -> None:
    r = client.post("/api/reviews", json={"repo": "o/" + "r" * 300, "pr": 1}, headers=AUTH)
    assert r.status_code == 422


def test_docs_and_metrics_are_closed_by_default(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=AUTH).status_code == 200
    assert client.get("/readyz").json() == {"status": "ready"}  # no queue depth for strangers
    assert "queue" in client.get("/readyz", headers=AUTH).json()
    assert client.get("/healthz").json() == {"status": "ok"}


def test_operators_can_open_docs_and_metrics(tmp_path: Path) -> None:
    with make_client(tmp_path, SWARM_API_DOCS="true", SWARM_METRICS_PUBLIC="true") as c:
        assert c.get("/openapi.json").status_code == 200 and c.get("/docs").status_code == 200
        assert c.get("/metrics").status_code == 200
        assert "queue" in c.get("/readyz").json()
