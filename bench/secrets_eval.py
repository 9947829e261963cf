"""Evaluation: secrets on CredSweeper's samples (shared/eval/secrets), scored as the eval README says.

Usage:
    python bench/secrets_eval.py [--shared ../shared]

Each sample becomes a file added by a patch, reviewed by swarm's secrets analyzer (added
lines only). Baseline in the same run: the detect-secrets command line run directly on
the same files. Score: per-line recall on positive samples (CredSweeper's expected lines,
silver labels) and false positives = findings on explicit negatives (*_n, *_FALSE,
false_positive, aws_multi_fp).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from common import as_patch

from swarm_core.analyzers.secrets import SecretsAnalyzer
from swarm_core.changeset import from_patch
from swarm_core.config import SwarmConfig
from swarm_core.orchestrator import Orchestrator

_NEGATIVE = re.compile(r"(_n(\.|$)|_FALSE|false_positive|aws_multi_fp)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    args = ap.parse_args()
    rows = [json.loads(x) for x in (args.shared / "eval/secrets/credsweeper_samples/samples.jsonl").open()]
    positives = [r for r in rows if r["n_expected"] > 0]
    negatives = [r for r in rows if _NEGATIVE.search(r["path"].rsplit("/", 1)[-1])]

    patch = "".join(as_patch(r["path"], r["content"]) for r in rows if r["content"].strip())
    t = time.perf_counter()
    change = from_patch(patch.encode(), "credsweeper samples", max_diff_bytes=1 << 30)
    review = asyncio.run(
        Orchestrator(SwarmConfig(min_confidence=0.0), analyzers=[SecretsAnalyzer()]).review(change)
    )
    ours_s = time.perf_counter() - t
    ours: dict[str, set[int]] = defaultdict(set)
    for f in review.findings:  # a finding covers its whole range (a PEM key block)
        ours[f.path].update(range(f.line or 0, (f.last_line or f.line or 0) + 1))

    with tempfile.TemporaryDirectory() as tmp:
        for r in rows:
            target = Path(tmp) / r["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(r["content"], encoding="utf-8")
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "detect_secrets", "scan", "--all-files", "."],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=True,
        )
        base_s = time.perf_counter() - t
    base: dict[str, set[int]] = defaultdict(set)
    for path, items in json.loads(proc.stdout)["results"].items():
        base[path] = {i["line_number"] for i in items}

    def score(found: dict[str, set[int]]) -> tuple[int, int, dict[str, list[int]], int, int]:
        hit = total = 0
        by_rule: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in positives:
            for d in r["expected_detections"]:
                total += 1
                ok = d["line_num"] in found.get(r["path"], set())
                hit += ok
                by_rule[d["rule"]][0] += ok
                by_rule[d["rule"]][1] += 1
        fp_files = sum(1 for r in negatives if found.get(r["path"]))
        fp_lines = sum(len(found.get(r["path"], ())) for r in negatives)
        return hit, total, by_rule, fp_files, fp_lines

    print(f"samples: {len(rows)}; positive files {len(positives)}, explicit negatives {len(negatives)}")
    print(f"{'tool':<40}{'line recall':>12}{'FP files':>10}{'FP lines':>10}{'time s':>8}")
    results = {}
    for name, found, secs in (
        ("detect-secrets CLI, whole files (base)", base, base_s),
        ("swarm secrets analyzer, added lines", ours, ours_s),
    ):
        hit, total, by_rule, fp_files, fp_lines = score(found)
        results[name] = by_rule
        print(f"{name:<40}{hit / total:>11.1%} {fp_files:>9}/{len(negatives)}{fp_lines:>10}{secs:>8.2f}")
    print("\nrecall per CredSweeper rule (expected lines), base vs swarm:")
    (b_rules, s_rules) = results.values()
    for rule in sorted(s_rules, key=lambda k: -s_rules[k][1])[:25]:
        b, s = b_rules[rule], s_rules[rule]
        print(f"  {rule:<38}{b[0]:>4}/{b[1]:<4}{s[0]:>6}/{s[1]:<4}")


if __name__ == "__main__":
    main()
