"""Budget holds: concurrent runs of one installation never reserve more than its budget has left."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from swarm_core.models import Exchange, Usage
from swarm_core.store import open_store, sqlite_url
from swarm_core.store.budget_holds import BudgetHolds
from swarm_core.store.runs import SqlRunStore
from tests.helpers import database_params, reset_database


@pytest.fixture(params=database_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> SqlRunStore:
    url = sqlite_url(tmp_path / "data") if request.param == "sqlite" else request.param
    if url.startswith("postgres"):
        reset_database(url)
    s = open_store(url)
    request.addfinalizer(s.close)
    return s


def spend(store: SqlRunStore, usd: float, installation: int) -> None:
    calls = (Exchange("lane", "security", "openai/gpt-4.1", "h", Usage(calls=1, cost_usd=usd), 1.0, "ok"),)
    store.save_document(
        "council",
        source="o/r#1",
        status="ok",
        duration_s=1.0,
        document={},
        exchanges=calls,
        counts={},
        repo="o/r",
        installation_id=installation,
    )


def test_concurrent_runs_of_one_installation_share_what_is_left(store: SqlRunStore) -> None:
    spend(store, 5.0, installation=7)  # $1 of a $6 budget left
    spend(store, 50.0, installation=8)  # another installation's spend does not count
    holds = BudgetHolds(store.engine)
    granted: dict[str, float] = {}
    start = threading.Barrier(8)

    def run(job: str) -> None:
        start.wait()
        granted[job] = holds.reserve(7, job, want_usd=0.4, limit_usd=6.0, since=0.0).granted

    threads = [threading.Thread(target=run, args=(f"job-{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Eight runs, each capped at $0.40, asked together: together they hold no more than $1.
    assert sum(granted.values()) == pytest.approx(1.0)
    assert sorted(granted.values())[-3:] == pytest.approx([0.2, 0.4, 0.4])
    # A released hold is free again; the same job reserving twice replaces its hold.
    top = max(granted, key=lambda j: granted[j])
    holds.release(7, top)
    assert holds.reserve(7, "late", want_usd=1.0, limit_usd=6.0, since=0.0).granted == pytest.approx(0.4)
    assert holds.reserve(7, "late", want_usd=0.1, limit_usd=6.0, since=0.0).granted == pytest.approx(0.1)
    other = holds.reserve(8, "job-x", want_usd=1.0, limit_usd=60.0, since=0.0)
    assert (other.spent, other.held_by_others, other.granted) == (50.0, 0.0, 1.0)


def test_an_expired_hold_is_not_counted(store: SqlRunStore) -> None:
    holds = BudgetHolds(store.engine, ttl_s=-1.0)  # every hold has expired by the next reservation
    assert holds.reserve(7, "dead-worker", want_usd=1.0, limit_usd=1.0, since=0.0).granted == 1.0
    assert holds.reserve(7, "next", want_usd=1.0, limit_usd=1.0, since=0.0).granted == 1.0
