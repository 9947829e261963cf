"""Benchmark: how noisy swarm's no-model review is on real merged changes of real projects.

Usage:
    python bench/noise.py select --repos DIR [--per-repo 12] > bench/data/noise_changes.jsonl
    python bench/noise.py select-fixes --repos DIR [--per-repo 6] > bench/data/noise_fixes.jsonl
    python bench/noise.py run --repos DIR [--changes FILE] [--labels FILE] [--fixes FILE]
                              [--dump FILE --part tuning]

`--repos DIR` holds one git clone per project, named as the `repo` field of the changes
file (e.g. DIR/httpx). Each change is reviewed exactly as `swarm pr-review --repo R
--base A --head B --no-llm` reviews it (same source, same config loading, same engine,
no model). A merged change should rarely be worth blocking, so every finding on one is
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

from swarm_core.analyzers.base import is_test_path
from swarm_core.analyzers.regression import looks_like_fix
from swarm_core.changeset import from_git
from swarm_core.config import CONFIG_PATH, SwarmConfig, load_config
from swarm_core.models import Review, Verdict
from swarm_core.orchestrator import Orchestrator

_DATA = Path(__file__).parent / "data"
_BLOCKING = frozenset({Verdict.REQUEST_CHANGES, Verdict.BLOCK})
_CONTEXT = 3


@dataclass(frozen=True, slots=True)
class Change:
    """One merged change: the first parent (base) and the merge or squash commit (head)."""

    repo: str
    base: str
    head: str

    @property
    def held_back(self) -> bool:
        """True for the third of changes kept back from tuning (stable across runs)."""
        return hashlib.sha256(f"{self.repo}:{self.head}".encode()).digest()[0] % 3 == 0


@dataclass
class Outcome:
    """A change's review: its verdict, findings, changed lines and wall time."""

    change: Change
    review: Review
    seconds: float
    changed_lines: int
    cli_seconds: float | None = None


@dataclass
class Part:
    """Totals for one part of the benchmark."""

    name: str
    outcomes: list[Outcome] = field(default_factory=list)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True, text=True).stdout


def select(repos: Path, per_repo: int, min_lines: int, max_lines: int) -> Iterator[Change]:
    """The newest first-parent commits of each clone that touch Python and change 10-2,000 lines."""
    for clone in sorted(p for p in repos.iterdir() if (p / ".git").exists()):
        taken = 0
        for line in _git(clone, "log", "--first-parent", "--format=%H %P", "-n", "400").splitlines():
            head, *parents = line.split()
            if not parents:
                continue
            stat = _git(clone, "diff", "--numstat", "--no-renames", parents[0], head)
            rows = [r.split("\t") for r in stat.splitlines() if r.count("\t") >= 2]
            changed = sum(int(a) + int(d) for a, d, _ in rows if a.isdigit() and d.isdigit())
            if not any(p.endswith(".py") for *_, p in rows) or not min_lines <= changed <= max_lines:
                continue
            yield Change(clone.name, parents[0], head)
            taken += 1
            if taken == per_repo:
                break


def select_fixes(repos: Path, per_repo: int) -> Iterator[dict[str, str]]:
    """Recent single-parent commits whose message says they fix something and that rewrite library code."""
    for clone in sorted(p for p in repos.iterdir() if (p / ".git").exists()):
        taken = 0
        log = _git(clone, "log", "--first-parent", "--no-merges", "--format=%H%x00%s", "-n", "1500")
        for line in log.splitlines():
            sha, _, subject = line.partition("\0")
            if not looks_like_fix(subject, "", ())[0]:
                continue
            stat = _git(clone, "diff", "--numstat", "--no-renames", f"{sha}^", sha)
            rows = [r.split("\t") for r in stat.splitlines() if r.count("\t") >= 2]
            code = [(a, d) for a, d, p in rows if p.endswith(".py") and not is_test_path(p) and a.isdigit()]
            added = sum(int(a) for a, _ in code)
            if not code or not 1 <= added <= 300:
                continue
            yield {"repo": clone.name, "sha": sha, "subject": subject}
            taken += 1
            if taken == per_repo:
                break


def reversed_fixes(repos: Path, path: Path) -> list[str]:
    """Review each fix reversed; the lines the guard must point at are the ones the fix wrote."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    flagged, any_line, times = 0, 0, []
    for row in rows:
        root = repos / row["repo"]
        start = time.perf_counter()
        source = from_git(root, row["sha"], f"{row['sha']}^")
        result = Orchestrator(SwarmConfig()).review_sync(source)
        times.append(time.perf_counter() - start)
        guard = [f for f in result.findings if f.rule == "regression/undoes-fix"]
        at_fix = [
            f
            for f in guard
            if (fd := source.diff.file(f.path)) is not None
            and f.line is not None
            and any(n in fd.removed for n in range(f.line, (f.end_line or f.line) + 1))
        ]
        flagged += bool(at_fix)
        any_line += bool(guard)
        print(
            f"  {row['repo']}@{row['sha'][:8]} {'FLAGGED' if at_fix else 'missed '} {row['subject'][:70]}",
            file=sys.stderr,
        )
    n = max(1, len(rows))
    return [
        f"== reversed bug fixes: {len(rows)} fix commits from {len({r['repo'] for r in rows})} repos, "
        "each reviewed from the fix back to its parent",
        f"regression guard flags the fix's lines in {flagged} of {len(rows)} = {100 * flagged / n:.0f} % "
        f"(target >= 60 %); any guard finding in {any_line}",
        f"review time: median {statistics.median(times) if times else 0:.2f} s",
    ]


def load_changes(path: Path) -> list[Change]:
    """The changes listed in a JSON-lines file (repo, base, head)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [Change(r["repo"], r["base"], r["head"]) for r in rows]


def review(repos: Path, change: Change) -> Outcome:
    """Review one change as the CLI does with --no-llm, timing source loading and review together."""
    root = repos / change.repo
    start = time.perf_counter()
    config_file = root / CONFIG_PATH
    config = load_config(config_file) if config_file.is_file() else SwarmConfig()
    source = from_git(root, change.base, change.head, max_diff_bytes=config.limits.max_diff_bytes)
    result = Orchestrator(config).review_sync(source)
    seconds = time.perf_counter() - start
    changed = source.diff.additions + source.diff.deletions
    return Outcome(change, result, seconds, changed)


def time_cli(repos: Path, change: Change) -> float:
    """Wall time of `swarm pr-review --no-llm` in a fresh interpreter: what a user waits for."""
    argv = [sys.executable, "-m", "swarm_cli", "pr-review", "--repo", str(repos / change.repo)]
    argv += ["--base", change.base, "--head", change.head, "--no-llm", "--no-store", "--format", "json"]
    with tempfile.TemporaryDirectory() as data:
        start = time.perf_counter()
        proc = subprocess.run(
            argv, capture_output=True, check=False, env={**os.environ, "SWARM_DATA_DIR": data}
        )
        seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise SystemExit(f"swarm pr-review failed on {change.repo}@{change.head[:8]}: {tail[0]}")
    return seconds


def _context(repos: Path, change: Change, path: str, line: int | None) -> str:
    if line is None:
        return ""
    try:
        text = _git(repos / change.repo, "show", f"{change.head}:{path}")
    except subprocess.CalledProcessError:
        return ""
    lines = text.splitlines()
    lo, hi = max(1, line - _CONTEXT), min(len(lines), line + _CONTEXT)
    return "\n".join(f"{n:>5}{'>' if n == line else ' '} {lines[n - 1]}" for n in range(lo, hi + 1))


def finding_rows(repos: Path, outcomes: Iterable[Outcome]) -> Iterator[dict[str, Any]]:
    """Every finding as a row for blind labelling, with code around its line from the head."""
    for o in outcomes:
        for f in o.review.findings:
            yield {
                "repo": o.change.repo,
                "sha": o.change.head,
                "rule": f.rule,
                "path": f.path,
                "line": f.line,
                "message": f.title if not f.message else f"{f.title} | {f.message}",
                "severity": str(f.severity),
                "code": _context(repos, o.change, f.path, f.line),
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


def report(part: Part, labels: dict[tuple[str, str, str, str, int | None], str]) -> list[str]:
    """The printed lines for one part."""
    outs = part.outcomes
    if not outs:
        return [f"== {part.name}: no changes"]
    findings = [f for o in outs for f in o.review.findings]
    lines_changed = sum(o.changed_lines for o in outs)
    blocking = [o for o in outs if o.review.verdict in _BLOCKING]
    with_any = sum(1 for o in outs if o.review.findings)
    guarded = sum(1 for o in outs if any(f.rule == "regression/undoes-fix" for f in o.review.findings))
    times = [o.seconds for o in outs]
    per_k = 1000 * len(findings) / max(1, lines_changed)
    cli = [o.cli_seconds for o in outs if o.cli_seconds is not None]
    cli_row = (
        [
            f"CLI time from process start: median {statistics.median(cli):.2f} s, p90 {_pct(cli, 0.9):.2f} s, "
            f"max {max(cli):.2f} s"
        ]
        if cli
        else []
    )
    rows = [
        f"== {part.name}: {len(outs)} changes from {len({o.change.repo for o in outs})} repos, "
        f"{lines_changed} changed lines",
        f"findings: {len(findings)} = {per_k:.1f} per 1,000 changed lines (target <= 6)",
        f"changes REQUEST_CHANGES/BLOCK: {len(blocking)} of {len(outs)} = "
        f"{100 * len(blocking) / len(outs):.1f} % (target <= 1 %)"
        + (f"  [{', '.join(f'{o.change.repo}@{o.change.head[:8]}' for o in blocking)}]" if blocking else ""),
        f"changes with at least one finding: {with_any} of {len(outs)}",
        f"changes the regression guard flags: {guarded} of {len(outs)} = {100 * guarded / len(outs):.1f} % "
        "(target <= 2 %)",
        f"verdicts: {dict(sorted(Counter(str(o.review.verdict) for o in outs).items()))}",
        f"review time: median {statistics.median(times):.2f} s, p90 {_pct(times, 0.9):.2f} s, "
        f"max {max(times):.2f} s (targets median <= 2 s, p90 <= 4 s; in-process, no interpreter start)",
        *cli_row,
        "per rule:",
    ]
    by_rule = Counter(f.rule for f in findings)
    sev = {r: Counter(str(f.severity) for f in findings if f.rule == r) for r in by_rule}
    for rule, count in by_rule.most_common():
        rows.append(f"  {count:>4}  {rule:<40} {dict(sev[rule])}")
    scored: Counter[str] = Counter()
    gone: Counter[str] = Counter()
    reported = {
        _label_key(o.change.repo, o.change.head, f.rule, f.path, f.line)
        for o in outs
        for f in o.review.findings
    }
    shas = {(o.change.repo, o.change.head) for o in outs}
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
    """Review every change, print both parts, and optionally dump one part's findings."""
    changes = load_changes(args.changes)
    labels = load_labels(args.labels)
    tuning, held = Part("tuning part"), Part("held-back part")
    for i, change in enumerate(changes, 1):
        outcome = review(args.repos, change)
        if args.cli:
            outcome.cli_seconds = time_cli(args.repos, change)
        (held if change.held_back else tuning).outcomes.append(outcome)
        print(
            f"[{i}/{len(changes)}] {change.repo}@{change.head[:8]} {outcome.changed_lines} lines "
            f"{outcome.seconds:.2f}s {outcome.review.verdict}"
            + ("" if change.held_back else f" {len(outcome.review.findings)} findings"),
            file=sys.stderr,
            flush=True,
        )
    for part in (tuning, held):
        print("\n".join(report(part, labels)))
        print()
    if args.fixes is not None:
        print("\n".join(reversed_fixes(args.repos, args.fixes)))
        print()
    if args.dump is not None:
        chosen = {"tuning": tuning.outcomes, "held": held.outcomes}[args.part]
        with args.dump.open("w") as fh:
            for row in finding_rows(args.repos, chosen):
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
    go.add_argument("--part", choices=("tuning", "held"), default="tuning")
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
