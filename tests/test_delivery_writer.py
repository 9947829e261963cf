"""The intake writer: commits run on its thread, never on the event loop; batches; close drains."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from app.delivery_writer import DeliveryWriter
from swarm_core.store import open_store, sqlite_url
from swarm_core.store.queue import Delivery, JobQueue


class _SlowQueue:
    """A queue whose commit takes `delay` seconds (a slow fsync), recording the thread it ran on."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()

    def record_deliveries(self, items: list[dict[str, Any]]) -> list[Delivery]:
        self.threads.add(threading.current_thread().name)
        self.batches.append([i["guid"] for i in items])
        time.sleep(self.delay)
        return [Delivery("1", i["guid"], "ping", "", None, "", "pong", None) for i in items]


def test_a_slow_commit_never_stalls_the_event_loop() -> None:
    queue = _SlowQueue(delay=0.3)
    writer = DeliveryWriter(queue)  # type: ignore[arg-type]

    async def scenario() -> tuple[list[Any], float]:
        lags: list[float] = []

        async def ticker() -> None:
            for _ in range(30):
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - before - 0.01)

        tick = asyncio.create_task(ticker())
        results = await asyncio.gather(*(writer.record(guid=f"d-{n}") for n in range(5)))
        await tick
        await writer.close()
        return results, max(lags)

    results, worst_lag = asyncio.run(scenario())
    assert [r.guid for r in results] == [f"d-{n}" for n in range(5)]
    assert queue.batches == [[f"d-{n}" for n in range(5)]]  # one turn's deliveries, one commit
    assert queue.threads == {"swarm-delivery-writer"}
    # The loop kept turning through a 0.3 s commit (inline, every tick would have waited it out).
    assert worst_lag < 0.15
    assert writer.timings.snapshot()["deliveries"] == 5
    assert writer.timings.slowest_commit >= 0.3


def test_deliveries_arriving_during_a_commit_go_in_the_next_batch() -> None:
    queue = _SlowQueue(delay=0.2)
    writer = DeliveryWriter(queue)  # type: ignore[arg-type]

    async def scenario() -> list[Delivery]:
        first = asyncio.create_task(writer.record(guid="early"))
        await asyncio.sleep(0.05)  # the writer is inside the first commit now
        later = [asyncio.create_task(writer.record(guid=f"late-{n}")) for n in range(3)]
        done = await asyncio.gather(first, *later)
        await writer.close()
        return list(done)

    done = asyncio.run(scenario())
    assert [d.guid for d in done] == ["early", "late-0", "late-1", "late-2"]
    assert queue.batches == [["early"], ["late-0", "late-1", "late-2"]]


def test_close_writes_what_was_handed_over_and_a_new_record_starts_a_new_thread(tmp_path: Path) -> None:
    store = open_store(sqlite_url(tmp_path / "data"))
    writer = DeliveryWriter(JobQueue(store.engine))
    item = {
        "hook_id": "1",
        "event": "ping",
        "action": "",
        "installation_id": None,
        "repo": "",
        "job": None,
        "outcome": "pong",
    }

    async def scenario() -> tuple[Delivery, Delivery, Delivery]:
        first = await writer.record(guid="g-1", **item)
        await writer.close()
        second = await writer.record(guid="g-2", **item)
        again = await writer.record(guid="g-1", **item)
        await writer.close()
        return first, second, again

    first, second, again = asyncio.run(scenario())
    assert (first.guid, first.duplicate) == ("g-1", False)
    assert (second.guid, second.duplicate) == ("g-2", False)
    assert (again.guid, again.duplicate) == ("g-1", True)
    assert [d.guid for d in JobQueue(store.engine).deliveries()] == ["g-2", "g-1"]
    store.close()


def test_the_app_commits_deliveries_on_the_writer_thread_on_sqlite(tmp_path: Path) -> None:
    import json

    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import load_settings
    from swarm_core.github.signature import sign

    store = open_store(sqlite_url(tmp_path / "data"))
    committed_on: list[str] = []
    sa.event.listen(store.engine, "commit", lambda conn: committed_on.append(threading.current_thread().name))
    settings = load_settings({"GITHUB_WEBHOOK_SECRET": "s", "SWARM_DATA_DIR": str(tmp_path / "data")})
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    with TestClient(create_app(settings, store=store, workers=0)) as client:
        committed_on.clear()  # start-up's own writes are not intake
        r = client.post(
            "/github/webhook",
            content=body,
            headers={
                "X-GitHub-Event": "ping",
                "X-GitHub-Delivery": "p-1",
                "X-GitHub-Hook-ID": "1",
                "X-Hub-Signature-256": sign("s", body),
                "Content-Type": "application/json",
            },
        )
        assert r.status_code == 200 and r.json()["outcome"] == "pong"
        # Before: DeliveryWriter(inline=True) committed on the event loop's thread.
        assert committed_on == ["swarm-delivery-writer"]
