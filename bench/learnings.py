"""Learnings: a scripted pull request history against the fake GitHub, with and without the team's feedback.

    python bench/learnings.py [--pushes 5] [--per-push 2]

The App (one in-process worker, SQLite, deterministic lanes: no model) reviews a pull
request whose every push adds `--per-push` more `subprocess.call(..., shell=True)` calls to
one file, a pattern the team has decided is fine there (the unit names are validated).
Two histories are replayed on fresh databases:

- baseline: nobody reacts;
- feedback: after the first review two maintainers 👎 one comment each; after the second,
  a maintainer writes `/swarm learn --path svc.py --rule <rule> ...`.

Printed per push: inline comments posted, the findings the review kept at HIGH, those the
learnings downgraded and suppressed, the review's verdict, and the GitHub requests the
reaction poll cost. Then the curator's and the store's cost at the caps: one curator pass
over 1,100 learnings (100 in a repository + 1,000 on the installation tier), and one
capture into a SQLite store that holds them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chaos import app_key  # noqa: E402 (bench/chaos.py, beside this script)
from fastapi.testclient import TestClient  # noqa: E402

from app.main import create_app  # noqa: E402
from swarm_core.learnings import Learning, LearningDraft, Scope, curate  # noqa: E402
from swarm_core.store import LearningStore, open_store, sqlite_url  # noqa: E402
from tests.fakes.github import FakeGitHub, Pull  # noqa: E402
from tests.test_app import REPO, app_settings, deliver, diff_of, drain, opened_payload  # noqa: E402

API = {"Authorization": "Bearer bench-token"}
BASE = "import subprocess\n"


def _source(calls: int) -> str:
    body = [BASE]
    for n in range(calls):
        body.append(
            f"\n\ndef restart_{n}(name):\n    return subprocess.call('systemctl restart ' + name, shell=True)\n"
        )
    return "".join(body)


def _command(body: str, comment_id: int) -> dict[str, Any]:
    p = json.loads(
        (
            ROOT
            / "tests/fixtures/octokit-webhooks/payload-examples/api.github.com/issue_comment"
            / "created.with-installation.payload.json"
        ).read_text()
    )
    p["issue"]["number"] = 2
    p["issue"]["pull_request"] = {"url": "x"}
    p["comment"].update({"body": body, "id": comment_id})
    p["comment"]["user"]["login"] = "Codertocat"
    return p


def history(feedback: bool, pushes: int, per_push: int, keys: tuple[str, str]) -> list[dict[str, Any]]:
    """Replay the pull request's pushes; one row per push."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, FakeGitHub(app_id=4242, public_key=keys[1]) as gh:
        gh.add_repo(REPO, files={".github/swarm.yml": "fail_on: high\n"})
        gh.permissions.update({"Codertocat": "admin", "hubot": "write"})
        settings = app_settings(gh, keys, Path(tmp), SWARM_API_TOKEN="bench-token")
        with TestClient(create_app(settings, workers=1, poll_s=0.02)) as client:
            pull: Pull | None = None
            for push in range(1, pushes + 1):
                head = _source(per_push * push)
                sha = f"{push:040x}"
                diff = diff_of(Path(tmp) / f"r{push}", {"svc.py": BASE}, {"svc.py": head})
                if pull is None:
                    pull = Pull(
                        2, "Restart units", "", diff, {"svc.py": BASE}, {"svc.py": head}, sha, "b" * 40
                    )
                    gh.add_pull(REPO, pull)
                    action = "opened"
                else:
                    pull.head_sha, pull.head_files, pull.diff = sha, {"svc.py": head}, diff
                    gh.repos[REPO]["files"][sha] = pull.head_files
                    action = "synchronize"
                before_comments, before_requests = len(gh.review_comments), len(gh.requests)
                deliver(client, "pull_request", opened_payload(action, sha), f"d-{push}")
                drain(client, timeout=120)
                polled = sum(1 for r in gh.requests[before_requests:] if r.path.endswith("/reactions"))
                run = client.get("/api/runs", headers=API).json()[0]
                review = client.get(f"/api/runs/{run['id']}", headers=API).json()["review"]
                learned = review.get("learned", [])
                rows.append(
                    {
                        "push": push,
                        "posted": len(gh.review_comments) - before_comments,
                        "high": review["counts"]["high"],
                        "downgraded": sum(1 for u in learned if u["action"] == "downgraded"),
                        "suppressed": sum(1 for u in learned if u["action"] == "suppressed"),
                        "verdict": review["verdict"],
                        "reaction_gets": polled,
                    }
                )
                if not feedback:
                    continue
                ours = [c for c in gh.review_comments if c["user"]["login"].endswith("[bot]")]
                if push == 1:  # two maintainers 👎 one comment each
                    gh.add_reaction(ours[0]["id"], "-1", "Codertocat")
                    gh.add_reaction(ours[-1]["id"], "-1", "hubot")
                if push == 2:
                    rule = ours[0]["body"].split("`")[1]
                    text = (
                        f"/swarm learn --path svc.py --rule {rule} unit names are validated before the shell"
                    )
                    deliver(client, "issue_comment", _command(text, 9000 + push), f"c-{push}")
                    drain(client, timeout=120)
    return rows


def _print(title: str, rows: list[dict[str, Any]]) -> None:
    print(title)
    print(
        f"{'push':>4} {'posted':>6} {'high':>4} {'downgraded':>10} {'suppressed':>10} {'reaction GETs':>13}  verdict"
    )
    for r in rows:
        print(
            f"{r['push']:>4} {r['posted']:>6} {r['high']:>4} {r['downgraded']:>10} {r['suppressed']:>10} "
            f"{r['reaction_gets']:>13}  {r['verdict']}"
        )
    print(f"total posted: {sum(r['posted'] for r in rows)}")


def _learning(n: int, repo: str) -> Learning:
    return Learning(
        n,
        7,
        repo,
        f"learning number {n}",
        Scope(f"src/m{n}.py", f"rule/{n}"),
        "suppress",
        0.5 + (n % 5) / 10,
        n % 7,
        "active",
        "command",
        (f"s{n}",),
        float(n),
        float(n),
    )


def caps() -> None:
    """The curator and the store at the caps."""
    rows = [_learning(n, "o/r") for n in range(1, 101)] + [_learning(n, "") for n in range(101, 1101)]
    times = []
    for _ in range(5):
        started = time.perf_counter()
        result = curate([*rows, _learning(2000, "o/r")], 10_000.0)
        times.append(time.perf_counter() - started)
    print(
        f"curator pass over {len(rows) + 1} learnings: median {statistics.median(times) * 1000:.1f} ms, "
        f"{len(result.changed)} changed (one over the repository cap forgotten)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(sqlite_url(Path(tmp)))
        learnings = LearningStore(store.engine)
        for n in range(1, 1101):
            repo = "o/r" if n <= 100 else ""
            learnings.capture(
                7, repo, LearningDraft(f"learning {n}", Scope(rule=f"rule/{n}"), 0.9, f"s{n}", "command")
            )
        took = []
        for n in range(5):
            started = time.perf_counter()
            learnings.capture(
                7, "o/r", LearningDraft(f"new {n}", Scope(rule=f"new/{n}"), 0.9, f"n{n}", "command")
            )
            took.append(time.perf_counter() - started)
        count = len(learnings.list_learnings(installation_id=7, status="active"))
        store.close()
    print(
        f"capture into a SQLite store holding 1,100 learnings (with its curator pass): "
        f"median {statistics.median(took) * 1000:.1f} ms; {count} active after 5 more captures"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pushes", type=int, default=5)
    parser.add_argument("--per-push", type=int, default=2)
    args = parser.parse_args()
    keys = app_key()
    _print("baseline (no feedback)", history(False, args.pushes, args.per_push, keys))
    print()
    _print(
        "feedback (two 👎 after push 1, /swarm learn after push 2)",
        history(True, args.pushes, args.per_push, keys),
    )
    print()
    caps()


if __name__ == "__main__":
    main()
