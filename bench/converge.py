"""Converge: a scripted pull request history against the fake GitHub, reviewed push by push.

    python bench/converge.py [--filler 40]

Everything runs in this process: the fake GitHub (tests/fakes/github.py) and the fake
OpenAI-compatible model (tests/fakes/llm.py) on loopback, swarm's review jobs as a worker
runs them (tests/rig.py). The pull request opens with 8 planted problems the analyzers
find (shell injection, each in its own function, in two files among `--filler` clean
functions each) and one only the (fake) correctness lane reports, fixed by push 2: its
thread is resolved only after that lane, asked again on the new code, no longer reports it. Four follow-up pushes each fix 2 problems and add 1; then a force-push
rewrites the history (a squash that also moves every line down). Two 👎 reactions land on
swarm's comments and one `/swarm learn` comment is written along the way.

Printed per push: inline comments posted, duplicates (a finding posted twice: must be 0),
threads resolved correctly (the problem is gone from that head) and wrongly (it is still
there: must be 0), fixed problems whose thread is still open, findings suppressed by
learnings ("n/a" when swarm has no learnings module), and the model calls and tokens of the
incremental review against a full review of the same head (target: <= 35 %).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from swarm_core.config import SwarmConfig  # noqa: E402
from swarm_core.github.pr_changeset import change_from_pr  # noqa: E402
from tests.fakes.github import FakeGitHub, Pull, unified_diff  # noqa: E402
from tests.fakes.llm import FakeLLM, Recorded, Reply, lane_reply  # noqa: E402
from tests.rig import REPO, Rig  # noqa: E402

NUMBER = 18
FILES = ("tools.py", "jobs.py")


def problem(n: int) -> str:
    return f"def _run_{n}(name):\n    return subprocess.call('tool{n} go ' + name, shell=True)\n\n\n"


MODEL_BUG = (
    "def _last(items):\n    return items[len(items)]\n\n\n"  # no analyzer sees it; the correctness lane does
)
MODEL_FIX = "def _last(items):\n    return items[-1]\n\n\n"
BUG_LINE = "    return items[len(items)]"


def clean(n: int) -> str:
    return f"def _size_{n}(items):\n    total = 0\n    for item in items:\n        total += len(item)\n    return total\n\n\n"


def tree(present: set[int], filler: int, top: str = "", model_bug: bool = True) -> dict[str, str]:
    """The head's files: problem n lives in tools.py when odd, jobs.py when even, among clean code;
    the model-only bug sits at the top of tools.py."""
    out = {"README.md": "converge\n"}
    for i, name in enumerate(FILES):
        mine = sorted(n for n in present if n % 2 == (1 - i))
        body = (MODEL_BUG if model_bug else MODEL_FIX) if i == 0 else ""
        body += "".join(clean(100 * i + k) for k in range(filler // 2))
        body += "".join(problem(n) for n in mine)
        body += "".join(clean(100 * i + k) for k in range(filler // 2, filler))
        out[name] = top + "import subprocess\n\n\n" + body
    return out


def problems_at(files: dict[str, str]) -> set[str]:
    """The planted problems a head has: "tool<n>" for the analyzers' ones, "last" for the model's."""
    shell = r"'tool(\d+) go ' \+ name, shell=True"
    found = {f"tool{n}" for text in files.values() for n in re.findall(shell, text)}
    return found | ({"last"} if any(BUG_LINE in text.split("\n") for text in files.values()) else set())


def correctness_lane(files: dict[str, dict[str, str]]) -> Any:
    """The fake correctness lane: it reports the model-only bug when the prompt shows its line."""

    def reply(req: Recorded) -> Reply:
        lines = files["head"].get("tools.py", "").split("\n")
        if BUG_LINE not in req.prompt or BUG_LINE not in lines:
            return lane_reply()
        return lane_reply(
            {
                "path": "tools.py",
                "line": lines.index(BUG_LINE) + 1,
                "severity": "high",
                "category": "correctness",
                "title": "Index out of range: the last item is items[-1]",
                "evidence": BUG_LINE.strip(),
                "confidence": 0.9,
            }
        )

    return reply


def learnings_available() -> bool:
    return importlib.util.find_spec("swarm_core.learnings") is not None


class History:
    """What swarm posted so far, read back from the fake."""

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self.files_at: dict[str, dict[str, str]] = {}

    def roots(self) -> list[dict[str, Any]]:
        return [
            c
            for c in self.fake.review_comments
            if "in_reply_to_id" not in c and c["user"]["login"] == self.fake.bot_login
        ]

    def problem_of(self, c: dict[str, Any]) -> str | None:
        """The planted problem a comment is about: the code at its line in the head it was posted on."""
        lines = self.files_at[c["commit_id"]].get(c["path"], "").split("\n")
        line = lines[int(c["line"]) - 1] if c.get("line") and int(c["line"]) <= len(lines) else ""
        m = re.search(r"'tool(\d+) go '", line)
        return f"tool{m.group(1)}" if m else "last" if line == BUG_LINE else None

    def duplicates(self) -> int:
        fps = [re.findall(r"swarm:fp=(\w+):", c["body"]) for c in self.roots()]
        flat = [f for group in fps for f in group]
        return len(flat) - len(set(flat))


def full_cost(rig: Rig, config: SwarmConfig) -> tuple[int, int]:
    """Model calls and tokens of a full review of the pull request's current head (nothing posted)."""
    pr = rig.client.pull_request(REPO, NUMBER)
    change = change_from_pr(rig.client, pr, config)
    review = asyncio.run(rig.services.review(config, change))
    return review.usage.calls, review.usage.total_tokens


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--filler", type=int, default=40, help="clean functions per file around the problems")
    args = ap.parse_args(argv)
    learn = learnings_available()
    steps: list[tuple[str, set[int], set[int], bool]] = [
        ("open", set(), set(range(1, 9)), False),
        ("push 1", {1, 2}, {9}, False),
        ("push 2", {3, 4}, {10}, False),
        ("push 3", {5, 6}, {11}, False),
        ("push 4", {7, 8}, {12}, False),
        ("force-push", set(), set(), True),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, FakeGitHub() as fake, FakeLLM() as llm:
        fake.add_repo(REPO, files={})
        current: dict[str, dict[str, str]] = {"head": {}}
        llm.default("lane", "correctness", correctness_lane(current))
        rig = Rig(fake, Path(tmp), llm)
        history = History(fake)
        present: set[int] = set()
        ever: set[str] = set()
        resolved_seen: set[str] = set()
        for name, fixes, adds, force in steps:
            present = (present - fixes) | adds
            top = "# squashed and rebased\n\n" if force else ""
            files = tree(present, args.filler, top, model_bug=name in ("open", "push 1"))
            current["head"] = files
            ever |= problems_at(files)
            if name == "open":
                base = {"README.md": "converge\n"}
                fake.add_pull(
                    REPO,
                    Pull(
                        NUMBER,
                        "Run the tools",
                        "Adds the tool runners.",
                        unified_diff(base, files),
                        base,
                        files,
                    ),
                )
            else:
                fake.push(REPO, NUMBER, files, force=force)
            pull = fake.pulls[(REPO, NUMBER)]
            history.files_at[pull.head_sha] = dict(files)
            before = len(history.roots())
            result = rig.review(NUMBER)
            run = rig.store.get_run(result["run_id"]).review
            posted = len(history.roots()) - before
            now_resolved = [c for c in history.roots() if fake.thread_of(c["id"])["isResolved"]]
            fresh = [c for c in now_resolved if str(c["id"]) not in resolved_seen]
            resolved_seen |= {str(c["id"]) for c in fresh}
            correct = sum(1 for c in fresh if history.problem_of(c) not in problems_at(files))
            wrong = len(fresh) - correct
            open_fixed = sum(
                1
                for c in history.roots()
                if not fake.thread_of(c["id"])["isResolved"]
                and history.problem_of(c) is not None
                and history.problem_of(c) not in problems_at(files)
            )
            calls, tokens = run.usage.calls, run.usage.total_tokens
            full_calls, full_tokens = full_cost(rig, SwarmConfig()) if name != "open" else (calls, tokens)
            if name == "push 1":  # two 👎 on swarm's comments by a maintainer who disagrees
                fake.permissions["maintainer"] = "write"
                for c in history.roots()[:2]:
                    fake.add_review_reaction(c["id"], "-1", "maintainer")
            if name == "push 2" and learn:  # the team decides a rule is not wanted here
                rule = next(f.rule for f in run.findings if not f.source.startswith("model:"))
                rig.command(NUMBER, f"/swarm learn --rule {rule} tool runners take trusted names only")
            rows.append(
                (
                    name,
                    result["mode"],
                    posted,
                    history.duplicates(),
                    correct,
                    wrong,
                    open_fixed,
                    result.get("suppressed_by_learnings", "n/a") if learn else "n/a",
                    calls,
                    tokens,
                    full_calls,
                    full_tokens,
                )
            )
        rig.close()
        fixed_total = len(ever - problems_at(files))
    head = (
        f"{'push':<11} {'review':<24} {'posted':>6} {'dupes':>5} {'resolved ok':>11} {'wrong':>5} "
        f"{'fixed open':>10} {'learned':>7} {'calls':>5} {'tokens':>7} {'full calls':>10} {'full tokens':>11} {'ratio':>6}"
    )
    print(head)
    for r in rows:
        ratio = f"{100 * r[9] / r[11]:.0f} %" if r[11] else "-"
        print(
            f"{r[0]:<11} {r[1]:<24} {r[2]:>6} {r[3]:>5} {r[4]:>11} {r[5]:>5} {r[6]:>10} {r[7]!s:>7} "
            f"{r[8]:>5} {r[9]:>7} {r[10]:>10} {r[11]:>11} {ratio:>6}"
        )
    incremental = rows[1:]
    spent, full = sum(r[9] for r in incremental), sum(r[11] for r in incremental)
    print(
        f"incremental pushes: {spent} tokens vs {full} for full re-reviews = "
        f"{100 * spent / max(full, 1):.1f} % (target <= 35 %); duplicates {rows[-1][3]}, "
        f"wrongly resolved {sum(r[5] for r in rows)}, resolved {sum(r[4] for r in rows)} of {fixed_total} fixed"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
