"""Benchmark: how noisy swarm's no-model review is on real merged changes of real projects.

Usage:
    python bench/noise.py select --repos DIR [--per-repo 12] > bench/data/noise_changes.jsonl
    python bench/noise.py select-fixes --repos DIR [--per-repo 6] > bench/data/noise_fixes.jsonl
    python bench/noise.py run --repos DIR [--changes FILE] [--labels FILE] [--fixes FILE]
                              [--dump FILE --part tuning]

`--repos DIR` holds one git clone per project, named as the `repo` field of the changes
file (e.g. DIR/httpx). The benchmark is a thin wrapper of `swarm eval` (swarm_core.evaluation):
selection is its history module, and each change and reversed fix is a task of its runner,
reviewed exactly as `swarm pr-review --repo R --base A --head B --no-llm` reviews it (same
source, same config loading, same engine, no model) and scored by its scoring module. A merged change should rarely be worth blocking, so every finding on one is
either a real late catch or noise: the numbers printed are findings per 1,000 changed
lines, the share of changes that would get REQUEST_CHANGES or BLOCK, per-rule counts,
median and p90 review time, and the score of the hand-labelled findings
(bench/data/noise_labels.jsonl: TRUE = a maintainer would want to hear it, DEBATABLE,
FALSE = noise).

The second part reviews bug-fix commits in reverse (base = the fix, head = its parent:
a change that re-introduces the bug) and counts how many the regression guard flags at
the fix's own lines; the guard's share of flagged merged changes is printed beside it.

Changes are split deterministically (a hash of repo and head sha) into a tuning part and a
held-back part of about a third; tuning must only look at the tuning part's findings.
Targets (issue 14): <= 1 % of changes REQUEST_CHANGES/BLOCK, <= 6 findings per 1,000
changed lines, median review <= 2 s, p90 <= 4 s; >= 60 % of labelled findings TRUE and
<= 15 % FALSE.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarm_core import ProviderKeys, build_engine
from swarm_core.evaluation import (
    Change,
    EvalSettings,
    Fix,
    FixPatterns,
    HistoryQuery,
    ResultStore,
    Runner,
    Task,
    bug_fixes,
    merged_changes,
    repo_config,
)

_DATA = Path(__file__).parent / "data"
_BLOCKING = frozenset({"REQUEST_CHANGES", "BLOCK"})
_GUARD = "regression/undoes-fix"
# The guard must point at the fix's own lines: no slack either side.
_SETTINGS = EvalSettings(window=0)


def held_back(repo: str, head: str) -> bool:
    """True for the third of changes kept back from tuning (stable across runs)."""
    return hashlib.sha256(f"{repo}:{head}".encode()).digest()[0] % 3 == 0


@dataclass
class Part:
    """The results (swarm eval's per-change rows) of one part of the benchmark."""

    name: str
    items: list[dict[str, Any]] = field(default_factory=list)


def _clones(repos: Path) -> list[Path]:
    return sorted(p for p in repos.iterdir() if (p / ".git").exists())


def select(repos: Path, per_repo: int, min_lines: int, max_lines: int) -> Iterator[Change]:
    """The newest first-parent commits of each clone that touch Python and change 10-2,000 lines."""
    query = HistoryQuery(last=per_repo, min_lines=min_lines, max_lines=max_lines, scan=400, suffixes=(".py",))
    for clone in _clones(repos):
        yield from merged_changes(clone, query)


def select_fixes(repos: Path, per_repo: int) -> Iterator[dict[str, str]]:
    """Recent single-parent commits whose message says they fix something and that rewrite library code."""
    patterns = FixPatterns(issues=False, tests=False, suffixes=(".py",))
    for clone in _clones(repos):
        for fix in bug_fixes(clone, HistoryQuery(last=per_repo, scan=1500), patterns):
            yield {"repo": fix.repo, "sha": fix.sha, "subject": fix.subject}


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _run_tasks(repos: Path, tasks: list[Task], progress: bool) -> list[dict[str, Any]]:
    """swarm eval's runner over the tasks, one repository (and its config) at a time, nothing stored."""
    reviewer = build_engine(ProviderKeys()).review
    items: list[dict[str, Any]] = []
    for repo in dict.fromkeys(t.repo for t in tasks):
        mine = [t for t in tasks if t.repo == repo]
        runner = Runner(reviewer, repo_config(repos / repo), _SETTINGS, ResultStore(None))
        items += runner.run(mine, _print_progress if progress else None)
    for item in items:
        if item["status"] != "done":
            raise SystemExit(f"{item['repo']}@{item.get('sha', '')[:8]} failed: {item['error']}")
    return items


def _print_progress(task: Task, item: dict[str, Any]) -> None:
    if task.kind == "regression":
        flagged = any(f["rule"] == _GUARD and f["hit"] for f in item["findings"])
        print(
            f"  {task.repo}@{task.key[:8]} {'FLAGGED' if flagged else 'missed '} {task.subject[:70]}",
            file=sys.stderr,
        )
        return
    shown = "" if held_back(task.repo, task.key) else f" {len(item['findings'])} findings"
    print(
        f"  {task.repo}@{task.key[:8]} {item['lines']} lines {item['seconds']:.2f}s {item['verdict']}{shown}",
        file=sys.stderr,
        flush=True,
    )


def reversed_fixes(repos: Path, path: Path) -> list[str]:
    """Review each fix reversed; the lines the guard must point at are the ones the fix wrote."""
    rows = _rows(path)
    tasks = [
        Task.of_fix(
            repos / r["repo"],
            Fix(r["repo"], r["sha"], _parent(repos / r["repo"], r["sha"]), r["subject"], "", "message"),
        )
        for r in rows
    ]
    items = _run_tasks(repos, tasks, progress=True)
    flagged = sum(1 for i in items if any(f["rule"] == _GUARD and f["hit"] for f in i["findings"]))
    any_line = sum(1 for i in items if any(f["rule"] == _GUARD for f in i["findings"]))
    times = [i["seconds"] for i in items]
    n = max(1, len(rows))
    return [
        f"== reversed bug fixes: {len(rows)} fix commits from {len({r['repo'] for r in rows})} repos, "
        "each reviewed from the fix back to its parent",
        f"regression guard flags the fix's lines in {flagged} of {len(rows)} = {100 * flagged / n:.0f} % "
        f"(target >= 60 %); any guard finding in {any_line}",
        f"review time: median {statistics.median(times) if times else 0:.2f} s",
    ]


def _parent(root: Path, sha: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(root), "rev-parse", f"{sha}^"], capture_output=True, check=True, text=True
    )
    return out.stdout.strip()


def load_changes(repos: Path, path: Path) -> list[Task]:
    """The changes listed in a JSON-lines file (repo, base, head), as swarm eval tasks."""
    return [Task.of_change(repos / r["repo"], Change(r["repo"], r["base"], r["head"])) for r in _rows(path)]


def time_cli(repos: Path, task: Task) -> tuple[float, float]:
    """Wall and CPU time of `swarm pr-review --no-llm` in a fresh interpreter: what a user waits for.

    CPU time (user + system of the process and the tools it waits for: bandit, ruff, git) does
    not grow with what else the machine runs, so it bounds the wall time on an idle machine,
    where nothing waits for a core and swarm's disk reads come from the page cache.
    """
    argv = [sys.executable, "-m", "swarm_cli", "pr-review", "--repo", str(repos / task.repo)]
    argv += ["--base", task.base, "--head", task.head, "--no-llm", "--no-store", "--format", "json"]
    with tempfile.TemporaryDirectory() as data:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(
            argv, capture_output=True, check=False, env={**os.environ, "SWARM_DATA_DIR": data}
        )
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise SystemExit(f"swarm pr-review failed on {task.repo}@{task.head[:8]}: {tail[0]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def finding_rows(items: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every finding as a row for blind labelling, with code around its line from the head."""
    for item in items:
        for f in item["findings"]:
            yield {
                "repo": item["repo"],
                "sha": item["sha"],
                "rule": f["rule"],
                "path": f["path"],
                "line": f["line"],
                "message": f["title"] if not f["body"] else f"{f['title']} | {f['body']}",
                "severity": f["severity"].lower(),
                "code": f["code"],
            }


def _label_key(
    repo: str, sha: str, rule: str, path: str, line: int | None
) -> tuple[str, str, str, str, int | None]:
    return (repo, sha, rule, path, line)


def load_labels(path: Path) -> dict[tuple[str, str, str, str, int | None], str]:
    """Labels by (repo, sha, rule, path, line); an absent file is no labels."""
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            out[_label_key(r["repo"], r["sha"], r["rule"], r["path"], r.get("line"))] = str(
                r["label"]
            ).upper()
    return out


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(
    part: Part, labels: dict[tuple[str, str, str, str, int | None], str], *, blind: bool = False
) -> list[str]:
    """The printed lines for one part; `blind` (the held-back part) names no rule and no change.

    Tuning must not read the held-back part, so its per-rule counts and the changes it blocks
    are left out: only the totals and the labelled score are printed.
    """
    outs = part.items
    if not outs:
        return [f"== {part.name}: no changes"]
    findings = [f for o in outs for f in o["findings"]]
    lines_changed = sum(o["lines"] for o in outs)
    blocking = [o for o in outs if o["verdict"] in _BLOCKING]
    with_any = sum(1 for o in outs if o["findings"])
    guarded = sum(1 for o in outs if any(f["rule"] == _GUARD for f in o["findings"]))
    times = [o["seconds"] for o in outs]
    per_k = 1000 * len(findings) / max(1, lines_changed)
    cli = [o["cli_seconds"] for o in outs if o.get("cli_seconds") is not None]
    cpu = [o["cli_cpu_seconds"] for o in outs if o.get("cli_cpu_seconds") is not None]
    cli_row = (
        [
            f"CLI time from process start: median {statistics.median(cli):.2f} s, p90 {_pct(cli, 0.9):.2f} s, "
            f"max {max(cli):.2f} s (wall, with whatever else the machine runs)",
            f"CLI CPU from process start: median {statistics.median(cpu):.2f} s, p90 {_pct(cpu, 0.9):.2f} s, "
            f"max {max(cpu):.2f} s (user+sys of swarm and its tools: the wall time's bound on an idle machine)",
        ]
        if cli and cpu
        else []
    )
    rows = [
        f"== {part.name}: {len(outs)} changes from {len({o['repo'] for o in outs})} repos, "
        f"{lines_changed} changed lines",
        f"findings: {len(findings)} = {per_k:.1f} per 1,000 changed lines (target <= 6)",
        f"changes REQUEST_CHANGES/BLOCK: {len(blocking)} of {len(outs)} = "
        f"{100 * len(blocking) / len(outs):.1f} % (target <= 1 %)"
        + (
            f"  [{', '.join(o['repo'] + '@' + o['sha'][:8] for o in blocking)}]"
            if blocking and not blind
            else ""
        ),
        f"changes with at least one finding: {with_any} of {len(outs)}",
        f"changes the regression guard flags: {guarded} of {len(outs)} = {100 * guarded / len(outs):.1f} % "
        "(target <= 2 %)",
        f"verdicts: {dict(sorted(Counter(o['verdict'] for o in outs).items()))}",
        f"review time: median {statistics.median(times):.2f} s, p90 {_pct(times, 0.9):.2f} s, "
        f"max {max(times):.2f} s (targets median <= 2 s, p90 <= 4 s; in-process, no interpreter start)",
        *cli_row,
        "per rule: (not printed for the held-back part)" if blind else "per rule:",
    ]
    by_rule = Counter() if blind else Counter(f["rule"] for f in findings)
    sev = {r: Counter(f["severity"].lower() for f in findings if f["rule"] == r) for r in by_rule}
    for rule, count in by_rule.most_common():
        rows.append(f"  {count:>4}  {rule:<40} {dict(sev[rule])}")
    scored: Counter[str] = Counter()
    gone: Counter[str] = Counter()
    reported = {
        _label_key(o["repo"], o["sha"], f["rule"], f["path"], f["line"]) for o in outs for f in o["findings"]
    }
    shas = {(o["repo"], o["sha"]) for o in outs}
    for key, label in labels.items():
        if (key[0], key[1]) not in shas:
            continue
        (scored if key in reported else gone)[label] += 1
    total = sum(scored.values())
    if total:
        rows.append(
            f"labelled findings still reported: {total}: TRUE {scored['TRUE']} ({100 * scored['TRUE'] / total:.0f} %), "
            f"DEBATABLE {scored['DEBATABLE']}, FALSE {scored['FALSE']} ({100 * scored['FALSE'] / total:.0f} %) "
            "(targets TRUE >= 60 %, FALSE <= 15 %)"
        )
    else:
        rows.append("labelled findings still reported: none (no labels for this part yet)")
    if gone:
        rows.append(f"labelled findings no longer reported: {dict(gone)}")
    unlabelled = sum(1 for k in reported if k not in labels)
    rows.append(f"unlabelled findings: {unlabelled}")
    return rows


def run(args: argparse.Namespace) -> None:
    """Review every change with swarm eval's runner, print both parts, and optionally dump one part's findings."""
    tasks = load_changes(args.repos, args.changes)
    labels = load_labels(args.labels)
    tuning, held = Part("tuning part"), Part("held-back part")
    for task, item in zip(tasks, _run_tasks(args.repos, tasks, progress=True), strict=True):
        if args.cli:
            item["cli_seconds"], item["cli_cpu_seconds"] = time_cli(args.repos, task)
        (held if held_back(task.repo, task.head) else tuning).items.append(item)
    for part in (tuning, held):
        print("\n".join(report(part, labels, blind=part is held)))
        print()
    if args.fixes is not None:
        print("\n".join(reversed_fixes(args.repos, args.fixes)))
        print()
    if args.dump is not None:
        chosen = {"tuning": tuning.items, "held": held.items, "all": tuning.items + held.items}[args.part]
        with args.dump.open("w") as fh:
            for row in finding_rows(chosen):
                fh.write(json.dumps(row) + "\n")
        print(f"wrote the {args.part} part's findings to {args.dump}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    sel = sub.add_parser("select", help="list recent merged changes of each clone as JSON lines")
    sel.add_argument("--repos", type=Path, required=True)
    sel.add_argument("--per-repo", type=int, default=12)
    sel.add_argument("--min-lines", type=int, default=10)
    sel.add_argument("--max-lines", type=int, default=2000)
    fixes = sub.add_parser("select-fixes", help="list recent bug-fix commits of each clone as JSON lines")
    fixes.add_argument("--repos", type=Path, required=True)
    fixes.add_argument("--per-repo", type=int, default=6)
    go = sub.add_parser("run", help="review the listed changes and print the numbers")
    go.add_argument("--repos", type=Path, required=True)
    go.add_argument("--changes", type=Path, default=_DATA / "noise_changes.jsonl")
    go.add_argument("--labels", type=Path, default=_DATA / "noise_labels.jsonl")
    go.add_argument("--cli", action="store_true", help="also time `swarm pr-review` from process start")
    go.add_argument("--fixes", type=Path, help="bug-fix commits to review reversed (JSON lines: repo, sha)")
    go.add_argument("--dump", type=Path, help="write one part's findings here as JSON lines")
    go.add_argument(
        "--part",
        choices=("tuning", "held", "all"),
        default="tuning",
        help="whose findings --dump writes (all: for a blind labeller, who is not told which part is which)",
    )
    args = ap.parse_args()
    if args.command == "select":
        for c in select(args.repos, args.per_repo, args.min_lines, args.max_lines):
            print(json.dumps({"repo": c.repo, "base": c.base, "head": c.head}))
    elif args.command == "select-fixes":
        for row in select_fixes(args.repos, args.per_repo):
            print(json.dumps(row))
    else:
        run(args)


if __name__ == "__main__":
    main()
