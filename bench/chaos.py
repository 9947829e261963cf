"""Chaos: `swarm serve` and `swarm worker` processes against the fake GitHub, killed at random.

    python bench/chaos.py [--db sqlite|postgres|both] [--prs 24] [--kills 8] [--seed 1]

The fake GitHub (tests/fakes/github.py) runs in this process on loopback; one `swarm serve
--workers 0` and two `swarm worker --concurrency 2` run as child processes on SQLite (a
data directory) or Postgres (SWARM_TEST_DATABASE_URL). The sender signs a few hundred
deliveries: every pull request opened, then bursts of pushes (synchronize with a new head),
redeliveries of the same GUID, and bad deliveries (a forged signature, broken JSON, a
payload whose number the database cannot hold). GitHub faults are injected per pull
request: a 500 on the review POST, a 502 after GitHub created the review, a 422 on the
review POST, a 401 (every installation token revoked), a 403 with Retry-After on a read,
and a 404 (the pull request deleted). Meanwhile a chaos thread SIGKILLs a worker or the
server at random moments (`--kills` in all, loopback only) and starts a new one. A
delivery the server did not acknowledge is sent again once it is back, as an operator
would press "Redeliver". Everything stops by itself after `--timeout` seconds.

Printed per database: sent, acknowledged, reviewed, lost, duplicated (reviews, inline
comments, check runs, summaries), check runs left in progress, failed jobs, and the time
from the last kill until the queue was idle (time to recover). No model lanes run, so the
model spend is $0 against any cap: the cost cap is tested in tests/test_guardrails.py.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from swarm_core.github.signature import sign  # noqa: E402
from tests.fakes.github import FakeGitHub, Pull  # noqa: E402

PAYLOADS = ROOT / "tests/fixtures/octokit-webhooks/payload-examples/api.github.com/pull_request"
REPO = "Codertocat/Hello-World"
SECRET = "chaos-secret"
CHECK_NAME = "swarm"
BASE = "import subprocess\n\n\ndef status(name):\n    return subprocess.run(['systemctl', 'status', name])\n"


class ChaosGitHub(FakeGitHub):
    """The fake GitHub, plus faults that strike after the request took effect (a 502 after create)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._after: list[list[Any]] = []
        self._local = threading.local()

    def __enter__(self) -> ChaosGitHub:
        super().__enter__()
        assert self._server is not None
        # A killed worker resets its connections: expected here, not worth a traceback each.
        self._server.handle_error = lambda *args: None  # type: ignore[method-assign]
        return self

    def fail_after(self, method: str, path: str, status: int, *, times: int = 1) -> None:
        """The next `times` matching requests take effect, then answer `status` (a lost response)."""
        import re

        with self.lock:
            self._after.append([method, re.compile(path), status, times])

    def _dispatch(self, h: Any, method: str, path: str, query: Any, body: Any) -> int:
        with self.lock:
            hit = next((f for f in self._after if f[0] == method and f[1].search(path) and f[3] > 0), None)
            if hit is not None:
                hit[3] -= 1
        self._local.after = hit[2] if hit is not None else None
        try:
            return super()._dispatch(h, method, path, query, body)
        finally:
            self._local.after = None

    def _send(self, h: Any, status: int, payload: Any, headers: Any = None, raw: Any = None) -> int:
        after = getattr(self._local, "after", None)
        if after is not None and status < 300:
            self._local.after = None
            return super()._send(h, after, {"message": "Bad Gateway"})
        return int(super()._send(h, status, payload, headers, raw))


@dataclass
class Tally:
    """What the sender saw."""

    sent: int = 0
    acknowledged: int = 0
    redelivered: int = 0
    bad_sent: int = 0
    bad_refused: int = 0
    bad_accepted: int = 0
    unacknowledged: set[str] = field(default_factory=set)
    answers: Counter[str] = field(default_factory=Counter)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def head_version(number: int, push: int) -> str:
    """A head with one shell-injection finding per push, so every review has something to post."""
    funcs = "".join(
        f"\n\ndef restart_{number}_{n}(name):\n    return subprocess.call('systemctl restart ' + name, shell=True)\n"
        for n in range(push + 1)
    )
    return BASE + funcs


def unified(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}", n=3
    )
    return f"diff --git a/{path} b/{path}\n" + "".join(lines)


def push(fake: FakeGitHub, number: int, n: int) -> str:
    """Make push `n` of pull request `number` its head; returns the new head SHA."""
    head = head_version(number, n)
    sha = f"{number:04d}{n:04d}" + "c" * 32
    pull = Pull(
        number=number,
        title=f"Restart services {number}",
        body="Adds restart().",
        diff=unified("svc.py", BASE, head),
        base_files={"svc.py": BASE},
        head_files={"svc.py": head},
        head_sha=sha,
        base_sha="b" * 40,
    )
    fake.add_pull(REPO, pull)
    return sha


def payload(action: str, number: int, sha: str) -> dict[str, Any]:
    p: dict[str, Any] = json.loads((PAYLOADS / "opened.payload.json").read_text())
    p["action"] = action
    p["number"] = number
    p["pull_request"]["number"] = number
    p["pull_request"]["head"]["sha"] = sha
    if action == "synchronize":
        p["before"], p["after"] = "a" * 40, sha
    return p


class Fleet:
    """The swarm processes: one server, two worker processes; each can be killed and restarted."""

    def __init__(self, env: dict[str, str], port: int, logs: Path) -> None:
        self.env = env
        self.port = port
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.lock = threading.Lock()
        self.kills: list[tuple[float, str]] = []

    def start(self, name: str) -> None:
        cmd = [sys.executable, "-m", "swarm_cli"]
        if name == "server":
            cmd += ["serve", "--port", str(self.port), "--workers", "0"]
        else:
            cmd += ["worker", "--concurrency", "2", "--poll", "0.2"]
        log = (self.logs / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        if name == "server":
            deadline = time.time() + 90  # imports take a while on a loaded machine
            while time.time() < deadline and self.procs[name].poll() is None:
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    return
                time.sleep(0.05)
            tail = (self.logs / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"swarm serve did not start:\n{tail}")

    def kill(self, name: str) -> None:
        with self.lock:
            proc = self.procs[name]
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            self.kills.append((time.time(), name))
            time.sleep(0.5 if name != "server" else 1.0)
            self.start(name)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def deliver(client: httpx.Client, event: str, body: bytes, guid: str, *, secret: str = SECRET) -> int:
    try:
        r = client.post(
            "/github/webhook",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": guid,
                "X-GitHub-Hook-ID": "1",
                "X-Hub-Signature-256": sign(secret, body),
            },
        )
    except httpx.HTTPError:
        return 0
    return r.status_code


def inject_faults(fake: ChaosGitHub, numbers: list[int]) -> dict[int, str]:
    """One fault per pull request for the first few; the rest run clean."""
    faults = {
        numbers[0]: ("500 on the review POST", lambda p: fake.fail("POST", p + "/reviews$", 500, times=1)),
        numbers[1]: (
            "502 after the review was created",
            lambda p: fake.fail_after("POST", p + "/reviews$", 502),
        ),
        numbers[2]: ("422 on the review POST", lambda p: fake.fail("POST", p + "/reviews$", 422, times=1)),
        numbers[3]: (
            "403 Retry-After 30 on the files read",
            lambda p: fake.fail("GET", p + "/files$", 403, headers={"Retry-After": "30"}, times=1),
        ),
        numbers[4]: ("404: pull request deleted", lambda p: fake.fail("GET", p + "$", 404, times=1000)),
        numbers[5]: (
            "500 on the summary, then a retry",
            lambda p: fake.fail("POST", p.replace("pulls", "issues") + "/comments$", 500, times=1),
        ),
    }
    for number, (_, arm) in faults.items():
        arm(f"/repos/{REPO}/pulls/{number}")
    return {n: what for n, (what, _) in faults.items()}


def revoke_tokens(fake: FakeGitHub) -> None:
    """Every installation token stops working (a 401 until a new one is minted)."""
    with fake.lock:
        fake.tokens.clear()


def send_all(
    fake: ChaosGitHub, port: int, numbers: list[int], rng: random.Random, tally: Tally, heads: dict[int, str]
) -> None:
    """Opened for every pull request, then bursts of pushes, redeliveries and bad deliveries."""
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    sent_bodies: dict[str, tuple[str, bytes]] = {}

    def good(event: str, body: bytes, guid: str) -> None:
        tally.sent += 1
        sent_bodies[guid] = (event, body)
        status = deliver(client, event, body, guid)
        tally.answers[f"good {status or 'no answer'}"] += 1
        if 200 <= status < 300:
            tally.acknowledged += 1
        else:
            tally.unacknowledged.add(guid)

    for number in numbers:
        heads[number] = push(fake, number, 0)
        good("pull_request", json.dumps(payload("opened", number, heads[number])).encode(), f"open-{number}")
    for round_no in range(1, 6):
        for number in rng.sample(numbers, k=len(numbers) // 2):
            burst = rng.randint(1, 4)
            for b in range(burst):
                n = round_no * 10 + b
                heads[number] = push(fake, number, n)
                body = json.dumps(payload("synchronize", number, heads[number])).encode()
                good("pull_request", body, f"sync-{number}-{n}")
        # Redeliveries: the same GUID again (GitHub's "Redeliver" button): never a second job.
        for guid in rng.sample(sorted(sent_bodies), k=min(8, len(sent_bodies))):
            event, body = sent_bodies[guid]
            status = deliver(client, event, body, guid)
            tally.redelivered += 1
            tally.answers[f"redelivery {status or 'no answer'}"] += 1
            if 200 <= status < 300 and guid in tally.unacknowledged:
                tally.unacknowledged.discard(guid)
                tally.acknowledged += 1
        # Bad deliveries among the good ones: each must get its own 4xx.
        some = json.dumps(payload("synchronize", numbers[0], heads[numbers[0]])).encode()
        huge = payload("synchronize", numbers[0], heads[numbers[0]])
        huge["number"] = huge["pull_request"]["number"] = 2**70
        for event, body, guid, secret in (
            ("pull_request", some, f"forged-{round_no}", "wrong-secret"),
            ("pull_request", b"{not json", f"broken-{round_no}", SECRET),
            ("pull_request", json.dumps(huge).encode(), f"huge-{round_no}", SECRET),
        ):
            tally.bad_sent += 1
            status = deliver(client, event, body, guid, secret=secret)
            tally.answers[f"{guid.split('-')[0]} {status or 'no answer'}"] += 1
            if 400 <= status < 500:
                tally.bad_refused += 1
            elif 200 <= status < 300:
                tally.bad_accepted += 1
        if round_no == 3:
            revoke_tokens(fake)
        time.sleep(rng.uniform(0.5, 2.0))
    # What the server never acknowledged is delivered again once it answers (an operator's
    # manual redelivery: GitHub does not redeliver by itself).
    deadline = time.time() + 60
    while tally.unacknowledged and time.time() < deadline:
        for guid in sorted(tally.unacknowledged):
            event, body = sent_bodies[guid]
            status = deliver(client, event, body, guid)
            if not status:
                break  # the server is down (killed): wait for it, do not count a redelivery
            tally.redelivered += 1
            tally.answers[f"redelivery {status}"] += 1
            if 200 <= status < 300:
                tally.unacknowledged.discard(guid)
                tally.acknowledged += 1
        time.sleep(0.5)
    client.close()


def chaos(fleet: Fleet, rng: random.Random, kills: int, window: float, stop: threading.Event) -> None:
    """SIGKILL a worker or the server at random moments within `window` seconds."""
    moments = sorted(rng.uniform(2, window) for _ in range(kills))
    start = time.time()
    for n, at in enumerate(moments):
        if stop.wait(max(0.0, start + at - time.time())):
            return
        # Every third kill takes the server; the others a worker process.
        fleet.kill("server" if n % 3 == 2 else rng.choice(["worker-1", "worker-2"]))


def job_states(url: str) -> dict[str, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT status, count(*) FROM jobs GROUP BY status")).all()
    finally:
        engine.dispose()
    return {str(s): int(n) for s, n in rows}


def failed_reasons(url: str) -> list[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT key, error FROM jobs WHERE status = 'failed'")).all()
    finally:
        engine.dispose()
    return [f"{k}: {(e or '')[:90]}" for k, e in rows]


def tally_github(fake: FakeGitHub, heads: dict[int, str], skip: set[int]) -> dict[str, Any]:
    """Reviewed, lost and duplicated, read from what the fake GitHub holds."""
    reviews = Counter((r["pull"], r.get("commit_id")) for r in fake.reviews)
    comments = Counter((c["pull"], c.get("path"), c.get("line"), c.get("body")) for c in fake.review_comments)
    runs = Counter((r["head_sha"], r["name"]) for r in fake.check_runs)
    summaries = Counter(c["issue"] for c in fake.issue_comments if "swarm" in c["body"])
    done = {r["head_sha"] for r in fake.check_runs if r.get("status") == "completed"}
    final = {n: sha for n, sha in heads.items() if n not in skip}
    reviewed = sum(1 for sha in final.values() if sha in done)
    return {
        "reviewed": reviewed,
        "lost": len(final) - reviewed,
        "dup_reviews": sum(n - 1 for n in reviews.values() if n > 1),
        "dup_comments": sum(n - 1 for n in comments.values() if n > 1),
        "dup_check_runs": sum(n - 1 for n in runs.values() if n > 1),
        "dup_summaries": sum(n - 1 for n in summaries.values() if n > 1),
        "in_progress": sum(1 for r in fake.check_runs if r.get("status") != "completed"),
        "where": sorted(
            {f"#{n} review x{c}" for (n, _), c in reviews.items() if c > 1}
            | {
                f"{sha[:8]} check run {r.get('status')}"
                for r in fake.check_runs
                if r.get("status") != "completed"
                for sha in [r["head_sha"]]
            }
        ),
        "check_runs": len(fake.check_runs),
        "reviews": len(fake.reviews),
    }


def run(db: str, args: argparse.Namespace) -> None:
    import sqlalchemy as sa  # noqa: F401  (the driver must import before the fleet starts)

    from swarm_core.store.database import normalize_url

    rng = random.Random(args.seed)
    private, public = app_key()
    with tempfile.TemporaryDirectory() as tmp, ChaosGitHub(app_id=4242, public_key=public) as fake:
        tmpd = Path(tmp)
        fake.add_repo(REPO, files={".github/swarm.yml": "fail_on: high\n"})
        numbers = list(range(101, 101 + args.prs))
        faults = inject_faults(fake, numbers)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "GITHUB_APP_ID": "4242",
            "GITHUB_PRIVATE_KEY": private,
            "GITHUB_WEBHOOK_SECRET": SECRET,
            "GITHUB_API_URL": fake.url,
            "SWARM_DATA_DIR": str(tmpd / "data"),
            "SWARM_LEASE_SECONDS": str(args.lease),
            "SWARM_LOG_LEVEL": "WARNING",
        }
        if db == "postgres":
            from tests.helpers import reset_database

            reset_database(args.postgres)
            env["SWARM_DATABASE_URL"] = args.postgres
            url = normalize_url(args.postgres)
        else:
            env.pop("SWARM_DATABASE_URL", None)
            url = f"sqlite:///{tmpd / 'data' / 'swarm.db'}"
        fleet = Fleet(env, free_port(), tmpd)
        fleet.start("server")
        fleet.start("worker-1")
        fleet.start("worker-2")
        tally, heads = Tally(), {}
        stop = threading.Event()
        killer = threading.Thread(target=chaos, args=(fleet, rng, args.kills, args.window, stop), daemon=True)
        t0 = time.time()
        killer.start()
        try:
            send_all(fake, fleet.port, numbers, rng, tally, heads)
            killer.join(args.timeout)
            stop.set()
            last_kill = max((t for t, _ in fleet.kills), default=t0)
            deadline = time.time() + args.timeout
            states = job_states(url)
            while (states.get("queued") or states.get("running")) and time.time() < deadline:
                time.sleep(0.5)
                states = job_states(url)
            idle = time.time()
        finally:
            stop.set()
            fleet.stop()
        # The deleted pull request can never be reviewed: its check run must end, not count as lost.
        gone = {n for n, what in faults.items() if what.startswith("404")}
        gh = tally_github(fake, heads, gone)
        stuck = bool(states.get("queued") or states.get("running"))
        print(f"\n== {db} (seed {args.seed}, lease {args.lease:.0f} s, {args.prs} pull requests) ==")
        print("faults:", "; ".join(f"#{n} {w}" for n, w in faults.items()), "; all tokens revoked once")
        print(f"kills: {', '.join(name for _, name in fleet.kills)} ({len(fleet.kills)} SIGKILL)")
        print(
            f"sent {tally.sent}  acknowledged {tally.acknowledged}  redelivered {tally.redelivered}  "
            f"bad {tally.bad_sent} (refused 4xx {tally.bad_refused}, accepted {tally.bad_accepted}, "
            f"the rest met a killed server)"
        )
        print("answers:", ", ".join(f"{k}: {v}" for k, v in sorted(tally.answers.items())))
        print(
            f"pull requests {len(numbers) - len(gone)} (+{len(gone)} deleted)  reviewed (final head) "
            f"{gh['reviewed']}  lost {gh['lost']}"
        )
        print(
            f"duplicated: reviews {gh['dup_reviews']}  comments {gh['dup_comments']}  check runs "
            f"{gh['dup_check_runs']}  summaries {gh['dup_summaries']}"
        )
        if gh["where"]:
            print("  where:", ", ".join(gh["where"]))
        print(
            f"check runs {gh['check_runs']}, left in progress {gh['in_progress']}; reviews posted {gh['reviews']}"
        )
        print(f"jobs: {dict(sorted(states.items()))}" + ("  (NOT idle at the timeout)" if stuck else ""))
        for reason in failed_reasons(url)[:8]:
            print(f"  failed {reason}")
        recover = "not recovered" if stuck else f"{idle - last_kill:.1f} s"
        print(f"time to recover (last kill -> queue idle): {recover}; whole run {idle - t0:.0f} s")
        print("model spend: $0.00 (no model lanes in this bench)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--prs", type=int, default=24)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--window", type=float, default=25.0, help="seconds in which the kills fall")
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SWARM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    # A SIGTERM runs the `finally` blocks, so the fleet is stopped with the bench.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        run(db, args)


if __name__ == "__main__":
    main()
