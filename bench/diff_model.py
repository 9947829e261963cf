"""Benchmark: parse a large real diff and build its line maps; time and peak memory.

Usage:
    python bench/diff_model.py REPO BASE HEAD       # e.g. a pylint checkout, pylint-1.6.0 v4.0.0
    python bench/diff_model.py --diff FILE.diff

Each measurement runs in a fresh subprocess so that peak RSS is the parse's own. The
baseline in the same run is unidiff's PatchSet alone (no line maps), the library we build on.
Targets (issue 2): under 1 s and under 300 MB for >= 100k changed lines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time
path, mode = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if mode == "swarm":
    from swarm_core.diff import parse_diff
    from swarm_core.models import Side
    d = parse_diff(raw, max_bytes=1 << 34)
    parsed = time.perf_counter() - t
    # Query the line maps once per hunk line, as a publisher validating every comment would.
    checked = 0
    for f in d.files:
        for h in f.hunks:
            for dl in h.iter_lines():
                if dl.target_no is not None:
                    checked += f.commentable(Side.RIGHT, dl.target_no)
                else:
                    checked += f.commentable(Side.LEFT, dl.source_no)
    files, added, removed = len(d.files), d.additions, d.deletions
    query = time.perf_counter() - t - parsed
else:
    from unidiff import PatchSet
    text = raw.decode("utf-8", "replace")
    parts = text.split("\n")
    ps = PatchSet([p + "\n" for p in parts])
    files, added, removed, checked = len(ps), ps.added, ps.removed, 0
    parsed = time.perf_counter() - t
    query = 0.0
elapsed = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"s": parsed, "query_s": query, "total_s": elapsed, "rss_mb": peak / 1024, "rss_before_mb": before / 1024,
                  "files": files, "added": added, "removed": removed, "checked": checked}))
"""


def run(diff: Path, mode: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(diff), mode], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", nargs="?")
    ap.add_argument("base", nargs="?")
    ap.add_argument("head", nargs="?")
    ap.add_argument("--diff", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if args.diff is None:
        if not (args.repo and args.base and args.head):
            ap.error("give REPO BASE HEAD or --diff FILE")
        tmp = Path(tempfile.mkdtemp()) / "bench.diff"
        data = subprocess.run(
            [
                "git",
                "-C",
                args.repo,
                "-c",
                "diff.renameLimit=10000",
                "diff",
                "--no-color",
                "-M",
                args.base,
                args.head,
            ],
            capture_output=True,
            check=True,
        ).stdout
        tmp.write_bytes(data)
        diff, label = tmp, f"{Path(args.repo).name} {args.base}..{args.head}"
    else:
        diff, label = args.diff, str(args.diff)
    size = diff.stat().st_size
    print(f"diff: {label}  ({size / 1e6:.1f} MB)")
    print(
        f"{'parser':<28}{'parse+maps s':>13}{'min s':>8}{'query s':>9}{'peak RSS MB':>13}"
        f"{'files':>7}{'added':>9}{'removed':>9}"
    )
    for mode, name in (("unidiff", "unidiff PatchSet (baseline)"), ("swarm", "swarm parse + line maps")):
        runs = [run(diff, mode) for _ in range(args.repeat)]
        times = [r["s"] for r in runs]
        r0 = runs[0]
        query = statistics.median(r["query_s"] for r in runs)
        print(
            f"{name:<28}{statistics.median(times):>13.3f}{min(times):>8.3f}{query:>9.3f}"
            f"{max(r['rss_mb'] for r in runs):>13.0f}{int(r0['files']):>7}{int(r0['added']):>9}{int(r0['removed']):>9}"
        )
    print("targets: parse + line maps < 1 s, < 300 MB peak RSS (interpreter and imports included)")
    print("query s: one commentable() check for every line of every hunk (not part of the target)")


if __name__ == "__main__":
    main()
