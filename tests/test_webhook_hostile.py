"""Hostile deliveries: odd types, values the database cannot hold, forged headers; on SQLite and Postgres.

Every case was a 5xx (or a job queued for PR #0) before the payload models existed.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.delivery_writer import DeliveryWriter
from app.main import create_app
from app.settings import load_settings
from swarm_core.errors import StoreError
from swarm_core.github.signature import sign
from swarm_core.store import open_store, sqlite_url
from swarm_core.store.queue import Delivery
from swarm_core.store.schema import deliveries
from tests.conftest import ROOT
from tests.helpers import database_params, reset_database

PAYLOADS = ROOT / "tests" / "fixtures" / "octokit-webhooks" / "payload-examples" / "api.github.com"
SECRET = "hostile-secret"
# Words a driver's error text carries; none may reach a response.
DATABASE_WORDS = ("sqlalchemy", "psycopg", "sqlite3", "value too long", "out of range", "overflow")


def opened() -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((PAYLOADS / "pull_request/opened.payload.json").read_text())
    return payload


def make_app(url: str, tmp_path: Path) -> FastAPI:
    if url.startswith("postgres"):
        reset_database(url)
    store = open_store(url if url != "sqlite" else sqlite_url(tmp_path / "data"))
    settings = load_settings({"GITHUB_WEBHOOK_SECRET": SECRET, "SWARM_DATA_DIR": str(tmp_path / "data")})
    return create_app(settings, store=store, workers=0)


@pytest.fixture(params=database_params())
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(make_app(request.param, tmp_path)) as c:
        yield c


def headers(body: bytes, guid: str, *, event: str = "pull_request", hook: str = "1") -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": guid,
        "X-GitHub-Hook-ID": hook,
        "X-Hub-Signature-256": sign(SECRET, body),
        "Content-Type": "application/json",
    }


def recorded(app: Any) -> list[str]:
    with app.state.store.engine.connect() as conn:
        return sorted(conn.execute(sa.select(deliveries.c.guid)).scalars())


def with_field(path: str, value: Any) -> dict[str, Any]:
    """The real `opened` payload with one field replaced (or removed, for `...`)."""
    payload = opened()
    *parents, last = path.split(".")
    node = payload
    for part in parents:
        node = node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return payload


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("pull_request.number", "abc", "pull_request.number"),
        ("pull_request.number", [2], "pull_request.number"),
        ("pull_request.number", {"n": 2}, "pull_request.number"),
        ("pull_request.number", True, "pull_request.number"),
        ("pull_request.number", ..., "pull_request.number"),  # was queued as PR #0
        ("pull_request.head", "main", "pull_request.head"),
        ("pull_request.head.sha", 7, "pull_request.head.sha"),
        ("pull_request.user", "octocat", "pull_request.user"),
        ("installation.id", 2**63, "installation.id"),
        ("installation.id", "1", "installation.id"),
        ("repository.full_name", "o/" + "r" * 300, "repository.full_name"),
        ("repository.full_name", "o/r\u0000", "repository.full_name"),
        ("action", "x" * 65, "action"),
        ("action", ["opened"], "action"),
    ],
)
def test_a_signed_payload_that_does_not_fit_is_a_400_naming_the_field(
    client: TestClient, path: str, value: Any, field: str
) -> None:
    body = json.dumps(with_field(path, value)).encode()
    r = client.post("/github/webhook", content=body, headers=headers(body, "odd-1"))
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(f"invalid delivery: {field}: ")
    assert not any(word in r.text.lower() for word in DATABASE_WORDS)
    assert client.app.state.queue.depth() == {}  # type: ignore[attr-defined]
    assert recorded(client.app) == []


@pytest.mark.parametrize(
    ("guid", "hook", "event", "field"),
    [
        ("g" * 65, "1", "pull_request", "X-GitHub-Delivery"),
        ("g-1", "9" * 33, "pull_request", "X-GitHub-Hook-ID"),
        ("g-1", "1", "e" * 65, "X-GitHub-Event"),
        ("g 1;drop", "1", "pull_request", "X-GitHub-Delivery"),
    ],
)
def test_delivery_headers_longer_than_their_columns_are_a_400(
    client: TestClient, guid: str, hook: str, event: str, field: str
) -> None:
    body = json.dumps(opened()).encode()
    r = client.post("/github/webhook", content=body, headers=headers(body, guid, event=event, hook=hook))
    assert r.status_code == 400 and r.json()["error"].startswith(f"invalid delivery: {field}: ")
    assert recorded(client.app) == []


def test_an_unknown_event_with_a_long_name_is_recorded_with_a_cut_outcome(client: TestClient) -> None:
    # "ignored: event <64 chars> <64 chars>" does not fit deliveries.outcome (VARCHAR 64).
    body = json.dumps({"action": "a" * 64}).encode()
    r = client.post("/github/webhook", content=body, headers=headers(body, "long-1", event="e" * 64))
    assert r.status_code == 202 and len(r.json()["outcome"]) == 64
    assert recorded(client.app) == ["long-1"]


def test_a_non_ascii_signature_is_a_401(client: TestClient) -> None:
    body = json.dumps(opened()).encode()
    forged = {**headers(body, "sig-1"), "X-Hub-Signature-256": "sha256=" + "é" * 64}
    r = client.post(
        "/github/webhook",
        content=body,
        headers=[(k.encode(), v.encode("utf-8")) for k, v in forged.items()],
    )
    assert r.status_code == 401 and r.json() == {"error": "missing or invalid X-Hub-Signature-256"}


@pytest.mark.parametrize("url", database_params())
def test_one_bad_delivery_among_good_concurrent_ones_fails_alone(url: str, tmp_path: Path) -> None:
    app = make_app(url, tmp_path)
    bodies: list[tuple[str, bytes]] = []
    for n in range(20):
        payload = opened()
        payload["pull_request"]["number"] = 100 + n  # twenty pull requests: nothing supersedes
        if n == 7:
            payload["installation"]["id"] = 2**63  # SQLite overflows, Postgres refuses: was the batch's error
        bodies.append((f"batch-{n}", json.dumps(payload).encode()))

    async def send_all() -> list[int]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://swarm") as c:
                answers = await asyncio.gather(
                    *(c.post("/github/webhook", content=b, headers=headers(b, g)) for g, b in bodies)
                )
                return [a.status_code for a in answers]

    codes = asyncio.run(send_all())
    assert sorted(codes) == [202] * 19 + [400]
    assert codes[7] == 400
    assert recorded(app) == sorted(g for n, (g, _) in enumerate(bodies) if n != 7)
    app.state.store.close()


class _PickyQueue:
    """A queue whose batch write fails whenever one delivery in it is bad (as a driver error does)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def record_deliveries(self, items: list[dict[str, Any]]) -> list[Delivery]:
        self.batches.append([i["guid"] for i in items])
        if any(i["guid"].startswith("bad") for i in items):
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return [Delivery(i["guid"], i["guid"], "ping", "", None, "", "pong", None) for i in items]


def test_the_writer_retries_a_failed_batch_one_delivery_at_a_time() -> None:
    queue = _PickyQueue()
    writer = DeliveryWriter(queue)  # type: ignore[arg-type]

    async def record_all() -> list[Any]:
        guids = ["good-0", "good-1", "bad-2", "good-3"]
        results = await asyncio.gather(*(writer.record(guid=g) for g in guids), return_exceptions=True)
        await writer.close()
        return results

    results = asyncio.run(record_all())
    assert [type(r) for r in results] == [Delivery, Delivery, StoreError, Delivery]
    assert "OverflowError" in str(results[2])
    assert queue.batches == [
        ["good-0", "good-1", "bad-2", "good-3"],
        ["good-0"],
        ["good-1"],
        ["bad-2"],
        ["good-3"],
    ]


def test_payload_models_accept_every_real_payload_the_app_routes() -> None:
    from swarm_core.github.events import route

    for name, event in (
        ("pull_request/opened.payload.json", "pull_request"),
        ("issue_comment/created.with-installation.payload.json", "issue_comment"),
        ("check_run/rerequested.payload.json", "check_run"),
        ("issues/opened.payload.json", "issues"),
        ("ping/payload.json", "ping"),
    ):
        payload = json.loads((PAYLOADS / name).read_text())
        assert route(event, copy.deepcopy(payload)).outcome  # validates without raising
