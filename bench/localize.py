"""Fault localization on SWE-bench Verified: swarm's no-model localizer against the BM25 and hybrid baselines.

For every instance of the repositories given (path of a git repository or bare mirror
per `owner/name`), the repository is indexed at the instance's `base_commit` (blobs
cached across instances of one repository), the issue is localized, and strict file
Acc@k (all gold files in the top k), MRR (first gold file) and the function hit rate
(a gold hunk's enclosing def/class among the top 10 functions) are printed side by side
with the baselines from `verified_bm25_hybrid_top50.jsonl` on the same instances.

    python bench/localize.py --repo astropy/astropy=/work/.mirror/astropy+astropy/repo ...
    python bench/localize.py --mirrors /work/.mirror      # every owner+name/repo found there
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from swarm_core.issue.index import BlobCache, RepoIndex  # noqa: E402
from swarm_core.issue.localize import localize  # noqa: E402
from swarm_core.issue.symptoms import parse_issue  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval" / "swebench"
KS = (1, 3, 5, 10)


def load(path: Path) -> dict[str, dict]:
    return {d["instance_id"]: d for d in map(json.loads, path.read_text().splitlines())}


def scores(rank: list[str], gold: list[str]) -> dict[str, float]:
    out = {f"acc@{k}": float(all(g in rank[:k] for g in gold)) for k in KS}
    first = min((rank.index(g) for g in gold if g in rank), default=None)
    out["mrr"] = 1 / (first + 1) if first is not None else 0.0
    return out


def context_name(context: str) -> str | None:
    m = re.search(r"(?:def|class)\s+([A-Za-z_]\w*)", context)
    return m.group(1) if m else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", action="append", default=[], help="owner/name=PATH")
    parser.add_argument("--mirrors", type=Path, help="a folder of owner+name/repo git mirrors")
    parser.add_argument("--limit", type=int, default=0, help="instances per repository (0: all)")
    parser.add_argument("--details", type=Path, help="write per-instance results as JSON lines")
    args = parser.parse_args()
    paths: dict[str, Path] = {}
    for spec in args.repo:
        name, _, path = spec.partition("=")
        paths[name] = Path(path)
    if args.mirrors:
        for d in sorted(args.mirrors.glob("*+*/repo")):
            paths.setdefault(d.parent.name.replace("+", "/"), d)
    tasks = load(EVAL / "swebench_verified_test.jsonl")
    gold = load(EVAL / "verified_gold_locations.jsonl")
    base = load(EVAL / "verified_bm25_hybrid_top50.jsonl")
    chosen = [i for i, t in tasks.items() if t["repo"] in paths]
    if args.limit:
        per: dict[str, int] = defaultdict(int)
        kept = []
        for i in chosen:
            if per[tasks[i]["repo"]] < args.limit:
                per[tasks[i]["repo"]] += 1
                kept.append(i)
        chosen = kept
    totals: dict[str, dict[str, float]] = {m: defaultdict(float) for m in ("bm25", "hybrid", "swarm")}
    fn_hits = fn_total = 0
    times: list[float] = []
    caches: dict[str, BlobCache] = defaultdict(BlobCache)
    details = args.details.open("w") if args.details else None
    by_repo: dict[str, list[float]] = defaultdict(list)
    for iid in chosen:
        task = tasks[iid]
        t0 = time.perf_counter()
        index = RepoIndex.from_git(paths[task["repo"]], task["base_commit"], caches[task["repo"]])
        text = task["problem_statement"]
        title, _, body = text.partition("\n")
        result = localize(parse_issue(title, body), text, index)
        elapsed = time.perf_counter() - t0
        times.append(elapsed)
        rank = [f.path for f in result.files]
        g = gold[iid]["gold_files"]
        for method, ranking in (
            ("bm25", base[iid]["bm25_top"]),
            ("hybrid", [x["file"] for x in base[iid]["hybrid_top"]]),
            ("swarm", rank),
        ):
            for k, v in scores(ranking, g).items():
                totals[method][k] += v
        by_repo[task["repo"]].append(scores(rank, g)["acc@5"])
        wanted = {
            (path, context_name(h["context"]))
            for path, hunks in gold[iid]["gold_hunks"].items()
            for h in hunks
            if context_name(h["context"])
        }
        if wanted:
            fn_total += 1
            got = {(f.path, f.name) for f in result.functions[:10]}
            fn_hits += bool(wanted & got)
        if details:
            details.write(
                json.dumps({"id": iid, "gold": g, "top": rank[:10], "seconds": round(elapsed, 3)}) + "\n"
            )
    n = len(chosen)
    print(f"{n} SWE-bench Verified instances from {len({tasks[i]['repo'] for i in chosen})} repositories")
    print(f"{'method':30}" + "".join(f"{'Acc@' + str(k):>9}" for k in KS) + f"{'MRR':>8}")
    labels = {
        "bm25": "BM25 (baseline)",
        "hybrid": "graph + BM25 hybrid (baseline)",
        "swarm": "swarm, no model",
    }
    for method in ("bm25", "hybrid", "swarm"):
        row = "".join(f"{100 * totals[method][f'acc@{k}'] / n:>8.1f}%" for k in KS)
        print(f"{labels[method]:30}{row}{totals[method]['mrr'] / n:>8.3f}")
    print(
        f"swarm function hit rate (a gold def/class in the top 10): {100 * fn_hits / max(1, fn_total):.1f}% of {fn_total}"
    )
    print(
        "swarm Acc@5 by repository: "
        + ", ".join(f"{r} {100 * sum(v) / len(v):.0f}% ({len(v)})" for r, v in sorted(by_repo.items()))
    )
    times.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"time per instance (index build included): median {times[len(times) // 2]:.2f} s, "
        f"max {times[-1]:.2f} s; peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
