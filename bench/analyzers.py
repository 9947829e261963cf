"""Benchmark: swarm's analyzer stage vs running bandit, ruff and detect-secrets directly, in one run.

Usage:
    python bench/analyzers.py REPO BASE HEAD [--repeat 3]

The change is restricted to Python files (BASE..HEAD -- '*.py'). swarm runs its whole
analyzer stage on it (syntax, placeholders, secrets, bandit, ruff at base and head,
dependencies, tests, docs, complexity). The baseline runs the three tools' own command
lines one after another on the head versions of the same changed files, which is what a
CI script without swarm would do. Target (issue 2): swarm <= 1.2x their combined time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from swarm_core.analyzers.lint import ruff_binary
from swarm_core.changeset import ChangeSet, GitContents, GitRepo
from swarm_core.config import SwarmConfig
from swarm_core.diff import FileStatus, parse_diff
from swarm_core.models import Side
from swarm_core.orchestrator import Orchestrator


def change_for(repo: Path, base: str, head: str) -> ChangeSet:
    git = GitRepo(repo)
    base_sha, head_sha = git.resolve(base), git.resolve(head)
    raw = subprocess.run(
        ["git", "-C", str(repo), "diff", "--no-color", "-M", base_sha, head_sha, "--", "*.py"],
        capture_output=True,
        check=True,
    ).stdout
    diff = parse_diff(raw, max_bytes=1 << 30)
    return ChangeSet(
        diff, GitContents(git, base_sha, head_sha, diff), f"{repo.name} {base}..{head}", base_sha, head_sha
    )


def write_head(change: ChangeSet, root: Path) -> list[str]:
    paths = []
    for fd in change.diff.files:
        if fd.status == FileStatus.DELETED or fd.binary:
            continue
        data = change.contents.read(fd.path, Side.RIGHT)
        if data is None:
            continue
        target = root / fd.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        paths.append(fd.path)
    return paths


def direct(root: Path, files: list[str]) -> dict[str, float]:
    tools = {
        "bandit": [sys.executable, "-m", "bandit", "-f", "json", "-q", "--exit-zero", *files],
        "ruff": [ruff_binary(), "check", "--output-format", "json", "--exit-zero", "--no-cache", *files],
        "detect-secrets": [sys.executable, "-m", "detect_secrets", "scan", *files],
    }
    out = {}
    for name, argv in tools.items():
        t = time.perf_counter()
        subprocess.run(argv, cwd=root, capture_output=True, check=False)
        out[name] = time.perf_counter() - t
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", type=Path)
    ap.add_argument("base")
    ap.add_argument("head")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    change = change_for(args.repo, args.base, args.head)
    print(
        f"change: {change.label} (Python only): {len(change.diff.files)} files, "
        f"+{change.diff.additions} -{change.diff.deletions} lines"
    )
    orchestrator = Orchestrator(SwarmConfig())
    ours, theirs = [], []
    per_tool: dict[str, list[float]] = {}
    findings = 0
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            files = write_head(change, Path(tmp))
            d = direct(Path(tmp), files)
        for k, v in d.items():
            per_tool.setdefault(k, []).append(v)
        theirs.append(sum(d.values()))
        fresh = change_for(args.repo, args.base, args.head)  # no warm caches between runs
        t = time.perf_counter()
        review = asyncio.run(orchestrator.review(fresh))
        ours.append(time.perf_counter() - t)
        findings = len(review.findings)
        slow = sorted(review.analyzers, key=lambda a: -a.duration_s)[:4]
    print(f"{'what':<44}{'median s':>10}{'min s':>9}")
    for name, times in per_tool.items():
        print(f"{'  ' + name + ' (direct)':<44}{statistics.median(times):>10.2f}{min(times):>9.2f}")
    print(
        f"{'bandit + ruff + detect-secrets, sequential':<44}{statistics.median(theirs):>10.2f}{min(theirs):>9.2f}"
    )
    print(f"{'swarm analyzer stage (10 analyzers)':<44}{statistics.median(ours):>10.2f}{min(ours):>9.2f}")
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"ratio swarm / direct: {ratio:.2f}x  (target <= 1.2x, aim < 1.0x); {findings} findings reported")
    print("slowest analyzers in the last run: " + ", ".join(f"{a.name} {a.duration_s:.2f}s" for a in slow))


if __name__ == "__main__":
    main()
