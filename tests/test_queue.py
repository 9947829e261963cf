"""The job queue and delivery log on SQLite and Postgres: leases, supersede, per-key and per-installation limits."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa

from swarm_core.store import open_store
from swarm_core.store.queue import DONE, FAILED, QUEUED, RUNNING, SUPERSEDED, Job, JobQueue, fit_worker_name


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_claim_complete_and_lease_expiry(engine: sa.Engine) -> None:
    clock = Clock()
    q = JobQueue(engine, clock=clock)
    job_id = q.enqueue("review", "pr:o/r#1", {"n": 1}, installation_id=7)
    job = q.claim("w1", lease_s=60)
    assert job is not None and (job.id, job.attempts, job.payload, job.status) == (
        job_id,
        1,
        {"n": 1},
        RUNNING,
    )
    assert q.claim("w2") is None  # the only job is held
    clock.now += 61  # w1 died: its lease ran out
    again = q.claim("w2", lease_s=60)
    assert again is not None and again.id == job_id and again.attempts == 2
    assert q.complete(job_id, "w1") is False  # w1 lost the lease; its late result is refused
    assert q.heartbeat(job_id, "w2", lease_s=60) is True
    assert q.complete(job_id, "w2", {"run": "abc"}) is True
    assert q.get(job_id).status == DONE and q.claim("w3") is None


def test_retry_with_backoff_then_failed(engine: sa.Engine) -> None:
    clock = Clock()
    q = JobQueue(engine, clock=clock, backoff_s=10)
    job_id = q.enqueue("review", "k", {}, max_attempts=2)
    assert q.claim("w") is not None
    assert q.fail(job_id, "w", "GitHub 502") == QUEUED
    assert q.claim("w") is None  # not due for 10 s
    clock.now += 10
    assert q.claim("w") is not None
    assert q.fail(job_id, "w", "GitHub 502 again") == FAILED
    job = q.get(job_id)
    assert job.status == FAILED and job.error == "GitHub 502 again" and job.attempts == 2
    other = q.enqueue("review", "k2", {})
    q.claim("w")
    assert q.fail(other, "w", "bad payload", retry=False) == FAILED
    assert q.fail(other, "w", "again") is None  # no longer this worker's


def test_newer_push_supersedes_the_queued_review(engine: sa.Engine) -> None:
    clock = Clock()
    q = JobQueue(engine, clock=clock)
    first = q.enqueue("review", "pr:o/r#1", {"sha": "a"}, supersede=True)
    second = q.enqueue("review", "pr:o/r#1", {"sha": "b"}, supersede=True)
    command = q.enqueue("command", "pr:o/r#1", {"body": "/swarm help"})
    assert q.get(first).status == SUPERSEDED
    job = q.claim("w")
    assert job is not None and job.id == second and job.payload == {"sha": "b"}
    assert q.claim("w2") is None  # the command waits: one job per pull request at a time
    clock.now += 1
    third = q.enqueue("review", "pr:o/r#1", {"sha": "c"}, supersede=True)
    assert q.superseded(second, "pr:o/r#1") is True  # the running review learns it is stale
    assert q.get(third).status == QUEUED
    q.complete(second, "w")
    assert {q.claim("w").id, q.claim("w2")} == {command, None}
    assert q.depth() == {SUPERSEDED: 1, DONE: 1, RUNNING: 1, QUEUED: 1}


def test_per_installation_cap(engine: sa.Engine) -> None:
    q = JobQueue(engine, clock=Clock())
    for n in range(3):
        q.enqueue("review", f"pr:o/r#{n}", {}, installation_id=1)
    q.enqueue("review", "pr:x/y#1", {}, installation_id=2)
    got = [q.claim(f"w{n}", per_installation=2) for n in range(4)]
    assert Counter(j.installation_id for j in got if j) == {1: 2, 2: 1}
    assert got[3] is None


def test_deliveries_are_recorded_once_with_their_job(engine: sa.Engine) -> None:
    q = JobQueue(engine, clock=Clock())
    args = {
        "hook_id": "42",
        "guid": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "event": "pull_request",
        "action": "opened",
        "installation_id": 9,
        "repo": "o/r",
        "outcome": "queued",
        "job": ("review", "pr:o/r#1", {"n": 1}, True),
    }
    first = q.record_delivery(**args)
    again = q.record_delivery(**args)
    assert not first.duplicate and first.job_id is not None
    assert again.duplicate and again.job_id == first.job_id
    assert q.depth() == {QUEUED: 1}
    other_hook = q.record_delivery(**{**args, "hook_id": "43"})
    assert not other_hook.duplicate  # the same event for another hook is another delivery
    ignored = q.record_delivery(**{**args, "guid": "g2", "job": None, "outcome": "ignored: labeled"})
    assert ignored.job_id is None
    assert [d.outcome for d in q.deliveries()][-1] in ("queued", "ignored: labeled")


def _run_workers(url: str, jobs: int, per_installation: int, run: Callable[[Job], None]) -> list[str]:
    """Four workers, each with its own engine, claim and complete until `jobs` are done or all idle."""
    done: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        own = open_store(url).engine
        wq = JobQueue(own)
        idle = 0
        while idle < 20 and len(done) < jobs:
            job = wq.claim(name, lease_s=30, per_installation=per_installation)
            if job is None:
                idle += 1
                time.sleep(0.005)
                continue
            idle = 0
            run(job)
            with lock:
                done.append(job.id)
            assert wq.complete(job.id, name)
        own.dispose()

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done


class Live:
    """How many jobs of each group run at once, and the most there ever were."""

    def __init__(self) -> None:
        self.now: Counter[object] = Counter()
        self.peak: Counter[object] = Counter()
        self.lock = threading.Lock()

    def run(self, group: object, seconds: float = 0.0) -> None:
        with self.lock:
            self.now[group] += 1
            self.peak[group] = max(self.peak[group], self.now[group])
        time.sleep(seconds)
        with self.lock:
            self.now[group] -= 1


def test_concurrent_workers_never_run_one_job_twice(url: str, engine: sa.Engine) -> None:
    q = JobQueue(engine)
    keys = [f"pr:o/r#{n % 10}" for n in range(60)]
    for n, key in enumerate(keys):
        q.enqueue("review", key, {"n": n})
    live = Live()
    runs = _run_workers(url, 60, 100, lambda job: live.run(job.key))
    assert max(live.peak.values()) == 1  # never two jobs of one key at once
    assert len(runs) == 60 and len(set(runs)) == 60
    assert q.depth() == {DONE: 60}


def test_a_batch_of_deliveries_is_one_transaction_with_duplicates_and_supersede(engine: sa.Engine) -> None:
    q = JobQueue(engine, clock=Clock())

    def item(guid: str, sha: str, key: str = "pr:o/r#1") -> dict:
        return {
            "hook_id": "1",
            "guid": guid,
            "event": "pull_request",
            "action": "synchronize",
            "installation_id": 1,
            "repo": "o/r",
            "outcome": "queued",
            "job": ("review", key, {"sha": sha}, True),
        }

    first = q.record_deliveries([item("a", "1"), item("b", "2"), item("a", "1"), item("c", "3", "pr:o/r#2")])
    assert [d.duplicate for d in first] == [False, False, True, False]
    assert first[2].job_id == first[0].job_id
    assert q.get(first[0].job_id).status == SUPERSEDED  # the same PR's newer push in the batch wins
    assert q.get(first[1].job_id).status == QUEUED and q.get(first[3].job_id).status == QUEUED
    again = q.record_deliveries([item("b", "2"), item("d", "4")])
    assert again[0].duplicate and not again[1].duplicate
    assert q.get(first[1].job_id).status == SUPERSEDED and q.depth() == {QUEUED: 2, SUPERSEDED: 2}


def test_a_new_batch_takes_the_fast_path_and_reads_back_exactly(engine: sa.Engine) -> None:
    clock = Clock()
    clock.now = 1_795_299_958.3525145  # a real time.time(): every digit must survive the trip
    q = JobQueue(engine, clock=clock)
    payload = {"repo": "o/r", "number": 7, "sha": "é" * 3, "nested": {"draft": False, "n": None}}
    items = [
        {
            "hook_id": "9",
            "guid": f"g{n}",
            "event": "pull_request" if n else "ping",
            "action": "opened" if n else "",
            "installation_id": 2**40 + n if n else None,
            "repo": "o/r",
            "outcome": "queued: review" if n else "pong",
            "job": ("review", f"pr:o/r#{n}", payload, True) if n else None,
        }
        for n in range(3)
    ]
    out = q.record_deliveries(items)
    assert [d.duplicate for d in out] == [False, False, False] and out[0].job_id is None
    for d in out[1:]:
        job = q.get(d.job_id)
        assert job.payload == payload and job.status == QUEUED and job.installation_id == d.installation_id
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT guid, received_at, installation_id FROM deliveries ORDER BY guid")
        ).all()
    assert [(r.guid, r.received_at, r.installation_id) for r in rows] == [
        ("g0", clock(), None),
        ("g1", clock(), 2**40 + 1),
        ("g2", clock(), 2**40 + 2),
    ]


def test_concurrent_workers_keep_the_installation_cap(url: str, engine: sa.Engine) -> None:
    """Four workers claiming at once never run more of one installation's jobs than the cap."""
    q = JobQueue(engine)
    for n in range(24):
        q.enqueue("review", f"pr:o/r#{n}", {"n": n}, installation_id=1 + n % 2)
    live = Live()
    # Each job runs 10 ms, so a rival claim must see it.
    done = _run_workers(url, 24, 1, lambda job: live.run(job.installation_id, 0.01))
    assert live.peak == {1: 1, 2: 1}
    assert len(done) == 24 and len(set(done)) == 24
    assert q.depth() == {DONE: 24}


def test_an_expired_lease_is_an_attempt_and_the_last_one_fails_the_job_for_good(engine: sa.Engine) -> None:
    """A job that kills its worker every time runs max_attempts times, then is a dead letter."""
    clock = Clock()
    q = JobQueue(engine, clock=clock)
    job_id = q.enqueue("review", "pr:o/r#1", {}, max_attempts=2)
    assert q.claim("w1", lease_s=60) is not None
    clock.now += 61  # w1 was killed mid-job
    again = q.claim("w2", lease_s=60)
    assert again is not None and again.attempts == 2
    assert again.error == "attempt 1: the lease of worker w1 ran out (it died, hung or lost the database)"
    clock.now += 61  # w2 was killed too: no third attempt
    assert q.claim("w3", lease_s=60) is None
    (dead,) = q.failed_jobs()
    assert (dead.id, dead.status, dead.attempts, dead.lease_owner) == (job_id, FAILED, 2, None)
    assert dead.error == (
        "given up after 2 of 2 attempts: "
        "attempt 2: the lease of worker w2 ran out (it died, hung or lost the database)"
    )
    assert q.depth() == {FAILED: 1} and q.reap_expired() == []


def test_a_crashed_worker_s_job_runs_again_within_about_a_minute_by_default(engine: sa.Engine) -> None:
    clock = Clock()
    q = JobQueue(engine, clock=clock)
    q.enqueue("review", "pr:o/r#1", {})
    assert q.claim("crashed") is not None
    clock.now += 59
    assert q.claim("w2") is None
    clock.now += 2
    assert q.claim("w2") is not None


def test_a_released_job_waits_for_its_time_without_spending_an_attempt(engine: sa.Engine) -> None:
    clock = Clock()
    q = JobQueue(engine, clock=clock)
    job_id = q.enqueue("review", "pr:o/r#1", {}, max_attempts=1)
    assert q.claim("w") is not None
    assert q.release(job_id, "other", clock() + 120) is False  # not its lease
    assert q.release(job_id, "w", clock() + 120, "GitHubRateLimited: retry after 120 s") is True
    job = q.get(job_id)
    assert (job.status, job.attempts, job.run_after, job.error) == (
        QUEUED,
        0,
        clock() + 120,
        "GitHubRateLimited: retry after 120 s",
    )
    clock.now += 119
    assert q.claim("w") is None
    clock.now += 1
    again = q.claim("w")
    assert again is not None and again.id == job_id and again.attempts == 1


def test_a_long_worker_name_still_claims_and_completes(engine: sa.Engine) -> None:
    """A 200-character host name used to make every claim fail on Postgres (VARCHAR(64))."""
    q = JobQueue(engine, clock=Clock())
    name = "pod-" + "x" * 190 + ":1234:abcdef"
    twin = "pod-" + "x" * 190 + ":9999:abcdef"
    assert len(name) > 200 and fit_worker_name(name) != fit_worker_name(twin)
    assert len(fit_worker_name(name)) == 64 and fit_worker_name("short:1") == "short:1"
    job_id = q.enqueue("review", "pr:o/r#1", {})
    job = q.claim(name)
    assert job is not None and job.lease_owner == fit_worker_name(name)
    assert q.heartbeat(job_id, twin) is False and q.heartbeat(job_id, name) is True
    assert q.complete(job_id, name) is True and q.get(job_id).status == DONE
