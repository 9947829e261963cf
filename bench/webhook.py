"""Webhook intake: swarm's receiver (signature check + durable enqueue) against a bare FastAPI endpoint.

Each server runs in its own process (uvicorn, one worker); the load generators run in
processes of their own: wrk for the closed loop, a small asyncio client for the open
loop. Every request carries a real `pull_request.opened` payload with a valid signature
and a fresh X-GitHub-Delivery, so each one is a new delivery that enqueues a review job.

    python bench/webhook.py [--duration 10] [--open-seconds 30] [--postgres URL]

Targets (issue 4): closed loop at 32 connections >= 0.5x the bare endpoint; open loop at
200 deliveries/s for 30 s: p99 < 50 ms, no errors, every delivery recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PAYLOAD = (
    ROOT / "tests/fixtures/octokit-webhooks/payload-examples/api.github.com/pull_request/opened.payload.json"
)
SECRET = "bench-secret"

LUA = r"""
local body = io.open(os.getenv("BENCH_BODY")):read("*a")
local sig = os.getenv("BENCH_SIG")
local prefix = tostring(math.random(1, 1e9))
local n = 0
request = function()
  n = n + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["X-GitHub-Event"] = "pull_request"
  headers["X-GitHub-Delivery"] = prefix .. "-" .. n
  headers["X-GitHub-Hook-ID"] = "1"
  headers["X-Hub-Signature-256"] = sig
  return wrk.format("POST", "/github/webhook", headers, body)
end
"""


def bare_app() -> FastAPI:
    """The ceiling: a FastAPI endpoint that reads the body and answers 202."""
    app = FastAPI()

    @app.post("/github/webhook")
    async def hook(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"ok": True}, status_code=202)

    return app


def swarm_app():  # type: ignore[no-untyped-def]
    """swarm's App with no in-process worker: intake only (verify, record, enqueue)."""
    from app.main import create_app
    from app.settings import load_settings

    env = {"GITHUB_WEBHOOK_SECRET": SECRET, "SWARM_DATA_DIR": os.environ["BENCH_DATA"]}
    if os.environ.get("BENCH_DB"):
        env["SWARM_DATABASE_URL"] = os.environ["BENCH_DB"]
    return create_app(load_settings(env), workers=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(kind: str, data: Path, db: str | None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "BENCH_DATA": str(data), "BENCH_DB": db or "", "PYTHONPATH": str(ROOT)}
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []  # server on CPU 0, wrk on CPU 1
    proc = subprocess.Popen(
        [
            *pin,
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"bench.webhook:{kind}",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{kind} did not start")


def wrk(port: int, seconds: int, lua: Path, env: dict[str, str]) -> dict[str, float]:
    pin = ["taskset", "-c", "1"] if shutil.which("taskset") else []
    out = subprocess.run(
        [
            *pin,
            "wrk",
            "-t1",
            "-c32",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(lua),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)

    def pct(p: str) -> str:
        m = re.search(rf"\s{p}%\s+([\d.]+\w+)", out)
        return m.group(1) if m else "?"

    return {
        "rps": rps,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(0) if errors else "",
        "p50": pct("50"),
        "p99": pct("99"),
    }  # type: ignore[dict-item]


async def open_loop(port: int, rate: float, seconds: float, body: bytes, sig: str) -> tuple[list[float], int]:
    import httpx

    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=10) as client:

        async def one(n: int) -> None:
            nonlocal failures
            t0 = time.perf_counter()
            try:
                r = await client.post(
                    "/github/webhook",
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-GitHub-Event": "pull_request",
                        "X-GitHub-Delivery": f"open-{n}",
                        "X-GitHub-Hook-ID": "1",
                        "X-Hub-Signature-256": sig,
                    },
                )
                if r.status_code != 202:
                    failures += 1
            except httpx.HTTPError:
                failures += 1
            latencies.append(time.perf_counter() - t0)

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for n in range(total):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return latencies, failures


def open_loop_process(port: int, rate: float, seconds: float, body_path: str, sig: str) -> dict[str, float]:
    code = (
        f"import asyncio, json, sys; sys.path.insert(0, {str(ROOT)!r}); import bench.webhook as b; "
        f"lat, fail = asyncio.run(b.open_loop({port}, {rate}, {seconds}, open({body_path!r}, 'rb').read(), {sig!r})); "
        "print(json.dumps({'lat': lat, 'fail': fail}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    lat = sorted(data["lat"])
    return {
        "n": len(lat),
        "fail": data["fail"],
        "p50": lat[len(lat) // 2] * 1000,
        "p99": lat[int(len(lat) * 0.99) - 1] * 1000,
        "max": lat[-1] * 1000,
    }


def recorded(data: Path, db: str | None) -> int:
    import sqlalchemy as sa

    from swarm_core.store.database import normalize_url

    url = normalize_url(db) if db else f"sqlite:///{data / 'swarm.db'}"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM deliveries WHERE guid LIKE 'open-%'")).scalar()
    engine.dispose()
    return int(n or 0)


def reset_pg(db: str) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.helpers import reset_database

    reset_database(db)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--open-seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SWARM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    from swarm_core.github.signature import sign

    body = json.dumps(json.loads(PAYLOAD.read_text())).encode()
    sig = sign(SECRET, body)
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        (tmpd / "body.json").write_bytes(body)
        lua = tmpd / "hook.lua"
        lua.write_text(LUA)
        env = {"BENCH_BODY": str(tmpd / "body.json"), "BENCH_SIG": sig}
        print(
            f"payload: pull_request.opened, {len(body):,} bytes, signed; wrk -t1 -c32 -d{args.duration}s; "
            f"median of {args.rounds} interleaved rounds (every round's req/s in brackets); "
            "server pinned to CPU 0, wrk to CPU 1"
        )
        print(f"{'server':34}{'req/s':>10}{'ratio':>8}{'p50':>10}{'p99':>10}{'non-2xx':>9}")
        servers = (
            ("bare FastAPI 202 (ceiling)", "bare_app", None),
            ("swarm intake, SQLite", "swarm_app", None),
            ("swarm intake, Postgres", "swarm_app", args.postgres),
        )
        runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in servers}
        for round_no in range(args.rounds):
            for label, kind, db in servers:
                data = tmpd / f"{kind}-{round_no}" / ("pg" if db else "sqlite")
                data.mkdir(parents=True, exist_ok=True)
                if db:
                    reset_pg(db)
                proc, port = start(kind, data, db)
                try:
                    runs[label].append(wrk(port, args.duration, lua, env))
                finally:
                    proc.terminate()
                    proc.wait()
        ceiling = statistics.median(r["rps"] for r in runs[servers[0][0]])
        for label, _, _ in servers:
            rps = statistics.median(r["rps"] for r in runs[label])
            mid = sorted(runs[label], key=lambda r: r["rps"])[len(runs[label]) // 2]
            every = "/".join(f"{r['rps']:.0f}" for r in runs[label])
            non2xx = sum(int(r["non2xx"]) for r in runs[label])
            print(
                f"{label:34}{rps:>10.0f}{rps / ceiling:>7.2f}x{mid['p50']:>10}{mid['p99']:>10}{non2xx:>9}  ({every})"
            )
        print()
        print(
            f"open loop: {args.rate:.0f} deliveries/s for {args.open_seconds:.0f} s (asyncio client in its own process)"
        )
        print(f"{'server':34}{'sent':>7}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'recorded':>10}")
        for label, kind, db in (
            ("swarm intake, SQLite", "swarm_app", None),
            ("swarm intake, Postgres", "swarm_app", args.postgres),
        ):
            data = tmpd / "open" / ("pg" if db else "sqlite")
            data.mkdir(parents=True, exist_ok=True)
            if db:
                reset_pg(db)
            proc, port = start(kind, data, db)
            try:
                res = open_loop_process(port, args.rate, args.open_seconds, str(tmpd / "body.json"), sig)
            finally:
                proc.terminate()
                proc.wait()
            n = recorded(data, db)
            print(
                f"{label:34}{res['n']:>7.0f}{res['fail']:>8.0f}{res['p50']:>9.1f}{res['p99']:>9.1f}{res['max']:>9.1f}{n:>10}"
            )


if __name__ == "__main__":
    main()
