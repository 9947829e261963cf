"""Evaluation: Python SAST on OWASP BenchmarkPython v0.1 (shared/eval/sast), OWASP scorecard scoring.

Usage:
    python bench/sast_eval.py [--shared ../shared]

All 1,243 test cases become files added by one patch, reviewed by swarm's SAST gate
(bandit through the engine, changed lines only, default config). The baseline in the
same run is the published Bandit 1.8.6 SARIF, scored the same way. A test case counts as
flagged when a finding in its file carries exactly its expected CWE (strict match). Per
category: TPR, FPR, Youden (TPR - FPR); then the average over categories.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import json
import re
import time
from collections import defaultdict
from pathlib import Path

from common import as_patch

from swarm_core.analyzers.sast import BanditAnalyzer
from swarm_core.changeset import from_patch
from swarm_core.config import SwarmConfig
from swarm_core.orchestrator import Orchestrator


def held_back(name: str) -> bool:
    """The fixed split, chosen before any result was seen: sha256 of the test name, last hex digit even.

    Held-back cases are never read or scored while tuning the taint tables; only the tuning
    half (odd last digit) is. Both halves are reported side by side.
    """
    return int(hashlib.sha256(name.encode()).hexdigest()[-1], 16) % 2 == 0


def baseline_flags(sarif: dict) -> dict[str, set[int]]:
    run = sarif["runs"][0]
    cwe_of = {}
    for rule in run["tool"]["driver"]["rules"]:
        tags = rule.get("properties", {}).get("tags", [])
        cwes = [int(m.group(1)) for t in tags if (m := re.search(r"cwe-(\d+)", t))]
        cwe_of[rule["id"]] = cwes[0] if cwes else None
    out: dict[str, set[int]] = defaultdict(set)
    for r in run["results"]:
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        if cwe_of.get(r["ruleId"]) is not None:
            out[Path(uri).stem].add(cwe_of[r["ruleId"]])
    return out


def scorecard(
    expected: list[dict[str, str]], flags: dict[str, set[int]]
) -> dict[str, tuple[float, float, int, int]]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # tp, fn, fp, tn
    for row in expected:
        hit = int(row["cwe"]) in flags.get(row["name"], set())
        real = row["real"] == "true"
        idx = (0 if hit else 1) if real else (2 if hit else 3)
        per[row["category"]][idx] += 1
    out = {}
    for cat, (tp, fn, fp, tn) in sorted(per.items()):
        out[cat] = (tp / (tp + fn) if tp + fn else 0.0, fp / (fp + tn) if fp + tn else 0.0, tp + fn, fp + tn)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    args = ap.parse_args()
    root = args.shared / "eval/sast/owasp_benchmark_python"
    cases = [json.loads(x) for x in (root / "testcases.jsonl").open()]
    expected = []
    with (root / "expectedresults-0.1.csv").open() as fh:
        for rec in csv.reader(line for line in fh if not line.startswith("#")):
            expected.append({"name": rec[0], "category": rec[1], "real": rec[2], "cwe": rec[3]})

    patch = "".join(as_patch(c["path"], c["source"]) for c in cases)
    t = time.perf_counter()
    change = from_patch(patch.encode(), "owasp", max_diff_bytes=1 << 30)
    config = SwarmConfig()
    review = asyncio.run(Orchestrator(config, analyzers=[BanditAnalyzer()]).review(change))
    secs = time.perf_counter() - t
    ours: dict[str, set[int]] = defaultdict(set)
    for f in review.findings:
        if f.cwe is not None:
            ours[Path(f.path).stem].add(f.cwe)

    tables = {
        "Bandit 1.8.6 (published SARIF)": scorecard(
            expected, baseline_flags(json.loads((root / "baseline_bandit-1.8.6.sarif").read_text()))
        ),
        "swarm SAST gate (default config)": scorecard(expected, ours),
    }
    print(
        f"OWASP BenchmarkPython v0.1: {len(cases)} test cases; swarm run {secs:.1f} s, {len(review.findings)} findings"
    )
    names = list(tables)
    print(
        f"{'category':<17}{'real':>5}{'fake':>5}   "
        + "   ".join(f"{'TPR':>6}{'FPR':>6}{'Youden':>8}" for _ in names)
    )
    for cat in tables[names[0]]:
        row = tables[names[0]][cat]
        cells = "   ".join(
            f"{t[cat][0]:>6.1%}{t[cat][1]:>6.1%}{t[cat][0] - t[cat][1]:>8.1%}" for t in tables.values()
        )
        print(f"{cat:<17}{row[2]:>5}{row[3]:>5}   {cells}")
    for name, table in tables.items():
        tpr = sum(v[0] for v in table.values()) / len(table)
        fpr = sum(v[1] for v in table.values()) / len(table)
        print(f"average  {name:<36} TPR {tpr:6.1%}  FPR {fpr:5.1%}  Youden {tpr - fpr:6.1%}")


if __name__ == "__main__":
    main()
