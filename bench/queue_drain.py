"""Queue drain on Postgres: 1,000 queued review jobs, a zero-latency engine stand-in, 1 vs 4 worker processes.

Each worker process runs swarm's real Worker loop (claim with lease, heartbeat, complete)
with a handler that returns at once, so the numbers are the queue's own cost. Afterwards
every job must be done exactly once: attempts == 1 and one `done` per job.

    python bench/queue_drain.py [--jobs 1000] [--postgres URL] [--procrastinate]

With --procrastinate the same Worker loop drains the same jobs through the spike in
bench/procrastinate_queue.py (Procrastinate's schema and SQL functions) instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def _noop(job: Any, services: Any) -> dict[str, Any]:
    return {"ok": True}


def worker_process(url: str, procrastinate: bool) -> None:
    """Drain until the queue is empty, then exit."""
    from app.worker import Worker
    from bench.procrastinate_queue import ProcrastinateQueue
    from swarm_core.store import open_store
    from swarm_core.store.queue import JobQueue

    store = open_store(url)
    queue: Any = ProcrastinateQueue(store.engine) if procrastinate else JobQueue(store.engine)
    worker = Worker(queue, None, handler=_noop, per_installation=1000)  # type: ignore[arg-type]

    print("ready", flush=True)
    sys.stdin.readline()  # the parent says go once every worker has started

    async def run() -> None:
        idle = 0
        while idle < 3:
            job = await worker.run_once()
            idle = 0 if job else idle + 1

    asyncio.run(run())
    store.close()


def drain(url: str, jobs: int, workers: int, procrastinate: bool) -> tuple[float, dict[str, int], int]:
    import sqlalchemy as sa

    from bench.procrastinate_queue import ProcrastinateQueue, install
    from swarm_core.store import open_store
    from swarm_core.store.queue import JobQueue
    from tests.helpers import reset_database

    reset_database(url)
    store = open_store(url)
    queue: Any = JobQueue(store.engine)
    if procrastinate:
        install(store.engine)
        queue = ProcrastinateQueue(store.engine)
    for n in range(jobs):
        queue.enqueue("review", f"pr:o/r#{n % 200}", {"n": n}, installation_id=n % 7)
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", url, *(["--procrastinate"] if procrastinate else [])],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    for p in procs:  # imports and connections are not part of the measurement
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        p.wait()
    elapsed = time.perf_counter() - started
    depth = queue.depth()
    table = "procrastinate_jobs" if procrastinate else "jobs"
    with store.engine.connect() as conn:
        twice = conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE attempts <> 1")).scalar()
    store.close()
    return elapsed, depth, int(twice or 0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SWARM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--procrastinate", action="store_true", help="drain through the Procrastinate spike")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_process(args.worker, args.procrastinate)
        return
    which = "Procrastinate spike" if args.procrastinate else "swarm's queue"
    print(f"{args.jobs} jobs (200 pull requests, 7 installations), zero-latency handler, Postgres, {which}")
    print(f"{'workers':>8}{'seconds':>10}{'jobs/s':>10}{'done':>8}{'run twice':>11}")
    for workers in (1, 4):
        elapsed, depth, twice = drain(args.postgres, args.jobs, workers, args.procrastinate)
        done = depth.get("succeeded" if args.procrastinate else "done", 0)
        print(f"{workers:>8}{elapsed:>10.2f}{args.jobs / elapsed:>10.0f}{done:>8}{twice:>11}")


if __name__ == "__main__":
    main()
