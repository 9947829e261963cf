"""Evaluation: swarm's secrets engines on CredSweeper's samples and on a hand-labelled second set.

Usage:
    python bench/secrets_eval.py [--shared ../shared] [--repos DIR] [--labels FILE ...] [--only samples|labelled]
    python bench/secrets_eval.py --timing REPO COMMIT   # what the stage adds to a review of a real commit

--labels FILE scores another labelled set in the same format (rows: repo, upstream, commit,
path, line, label, sha), its repositories checked out under --repos, as its own part; its
wrong lines are not printed (a held-out set stays held out).
--timing prints wall-clock and CPU (user+sys) with and without the secrets stage; on a shared
machine CPU bounds what the stage adds on an idle one (the work is single-threaded).

Three engines side by side, each as swarm's secrets analyzer inside a full review (default
config, added lines only): detect-secrets alone (swarm before issue 15), CredSweeper alone,
and the merged engine swarm ships (both plus swarm's JWK rule, one finding per place,
detect-secrets' keyword and entropy guesses kept only where CredSweeper's model agrees, its
private key blocks with a real body kept always).

1. CredSweeper's samples (shared/eval/secrets): every sample becomes a file added by a patch.
   Labels are CredSweeper's own regression output (silver, and circular for CredSweeper).
   Printed: line recall without PEM key blocks and with them, file recall, explicit negatives
   flagged on a line that is not expected (of 9), and unlabelled files flagged (of 28).
2. The second set, labelled by hand (not by any tool): bench/data/secrets_labels.jsonl names
   lines of real files in public repositories (jpadilla/pyjwt, paramiko/paramiko and
   encode/httpx at the commits it records) with a label and a hash of the line, never the line
   itself; --repos DIR holds their checkouts as DIR/pyjwt, DIR/paramiko, DIR/httpx (e.g.
   `git -C <clone> archive <commit> | tar -x -C DIR/pyjwt`). Every labelled file is added
   whole, so every line of it is judged: a finding on a line not labelled positive is a false
   positive. bench/data/secrets_written.jsonl adds realistic positives written for this set
   (templates; their random parts are drawn with a fixed seed at bench time, so no
   credential-shaped string is stored). Printed: non-PEM line recall, file recall, precision
   (reported lines that are positive / all reported lines), the same without the key files'
   lines, and clean files (no positive line) flagged.

   pyjwt and paramiko (they replace pallets/flask and psf/requests, which are kept for
   independent evaluation: the figures measured on those are withdrawn). Files were chosen by
   a fixed rule before any engine ran on them, and labelled by reading before any engine ran:
   - key files: the files under tests/ that `git grep -lE "BEGIN .*PRIVATE KEY"` lists, in
     the order of sha256(path) (hex), the first 6;
   - the files that `git grep -liE "password|secret|token|api_key|private|bearer|credential"`
     lists, key files above excluded, in the order of sha256(path), the first 20.
   Judged: every line naming a credential (the words above) and every line holding a long
   random-looking literal or a PEM block was read; a row is stored for each (positive or
   clean), other lines count as clean. Positive: private keys in any encoding (PEM blocks line
   by line as `pem`, including one-line PEM strings; the private members d, p, q, dp, dq, qi of
   a JWK and raw private scalars as `secret`, a line per line of the value) and tokens minted
   with a key the repository does not hold (auth0's example access token in pyjwt's docs).
   Clean: dummy passwords and keys made of words ("secret", "pygmalion", "television",
   "abc123", "your-256-bit-secret"), JWTs and signatures produced with such a dummy or test key
   (test vectors, like hashes), public keys, fingerprints, key ids, KEX shared values and
   hashes.

   encode/httpx's rows are kept from the first version of this set, where every line any
   engine flagged or that names a credential was read and labelled (positive: a random key,
   token or password; clean: placeholders, dummy test passwords such as "pass" or
   "password123", digest nonces, etags, UUIDs used as ids, base64 of dummy user:password
   pairs); those labels were therefore made after seeing engine output.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import resource
import statistics
import string
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from common import as_patch

from swarm_core.analyzers import default_analyzers
from swarm_core.analyzers.jwk_private import JWK
from swarm_core.analyzers.secret_engines import CREDSWEEPER, DETECT_SECRETS
from swarm_core.analyzers.secrets import SecretsAnalyzer
from swarm_core.changeset import from_git, from_patch
from swarm_core.config import SwarmConfig
from swarm_core.orchestrator import Orchestrator

_NEGATIVE = re.compile(r"(_n(\.|$)|_FALSE|false_positive|aws_multi_fp)")
_DATA = Path(__file__).resolve().parent / "data"
ENGINES = {
    "detect-secrets alone (before)": (DETECT_SECRETS,),
    "CredSweeper alone": (CREDSWEEPER,),
    "swarm merged": (DETECT_SECRETS, CREDSWEEPER, JWK),
}

Found = dict[str, set[int]]


@dataclass(frozen=True)
class Labelled:
    """A file whose every line is judged: positives by line, the PEM lines among them."""

    path: str
    content: str
    positive: frozenset[int]
    pem: frozenset[int]


def review_lines(files: dict[str, str], engines: tuple[str, ...]) -> tuple[Found, float]:
    """The lines swarm's secrets analyzer reports when `files` are added, and the seconds it took."""
    patch = "".join(as_patch(p, c) for p, c in files.items() if c.strip())
    change = from_patch(patch.encode(), "secrets eval", max_diff_bytes=1 << 30)
    t = time.perf_counter()
    review = asyncio.run(Orchestrator(SwarmConfig(), analyzers=[SecretsAnalyzer(engines)]).review(change))
    secs = time.perf_counter() - t
    found: Found = defaultdict(set)
    for f in review.findings:  # a finding covers its whole range (a PEM key block)
        found[f.path].update(range(f.line or 0, (f.last_line or f.line or 0) + 1))
    return found, secs


def samples(shared: Path) -> None:
    rows = [json.loads(x) for x in (shared / "eval/secrets/credsweeper_samples/samples.jsonl").open()]
    positives = [r for r in rows if r["n_expected"] > 0]
    negatives = [r for r in rows if _NEGATIVE.search(r["path"].rsplit("/", 1)[-1])]
    unlabelled = [r for r in rows if r["n_expected"] == 0]
    print(
        f"CredSweeper samples: {len(rows)} files; {len(positives)} positive, "
        f"{len(negatives)} explicit negatives, {len(unlabelled)} with no expected line (silver labels)"
    )
    print(
        f"{'engine':<32}{'non-PEM line':>13}{'all lines':>11}{'files':>8}{'neg. flagged':>14}"
        f"{'unlabelled':>12}{'s':>7}"
    )
    per_rule: dict[str, dict[str, list[int]]] = {}
    for name, engines in ENGINES.items():
        found, secs = review_lines({r["path"]: r["content"] for r in rows}, engines)
        hit = total = np_hit = np_total = files_hit = 0
        rules: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in positives:
            got = found.get(r["path"], set())
            files_hit += any(d["line_num"] in got for d in r["expected_detections"])
            for d in r["expected_detections"]:
                ok = d["line_num"] in got
                hit, total = hit + ok, total + 1
                if "PEM" not in d["rule"]:
                    np_hit, np_total = np_hit + ok, np_total + 1
                rules[d["rule"]][0] += ok
                rules[d["rule"]][1] += 1
        per_rule[name] = rules
        neg = sum(
            1
            for r in negatives
            if found.get(r["path"], set()) - {d["line_num"] for d in r["expected_detections"]}
        )
        unl = sum(1 for r in unlabelled if found.get(r["path"]))
        print(
            f"{name:<32}{np_hit / np_total:>12.1%} {hit / total:>10.1%} {files_hit:>4}/{len(positives):<3}"
            f"{neg:>10}/{len(negatives)} {unl:>8}/{len(unlabelled)} {secs:>6.2f}"
        )
    merged = per_rule["swarm merged"]
    missed = sorted((r for r in merged if merged[r][0] < merged[r][1]), key=lambda r: -merged[r][1])
    print("non-PEM rules the merged engine misses lines of (found/expected):")
    for rule in missed[:12]:
        print(f"  {rule:<38}{merged[rule][0]:>4}/{merged[rule][1]}")


def _line_hash(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()[:16]


def labelled_set(repos: Path, labels: Path = _DATA / "secrets_labels.jsonl") -> list[Labelled]:
    """The files a label file names: lines of public repositories checked out under `repos`.

    Rows: repo (the checkout's directory under `repos`), upstream, commit, path, line, label
    (`secret`, `pem` or `clean`), sha (of the stripped line, so a wrong checkout is refused).
    """
    by_file: dict[tuple[str, str], list[dict[str, object]]] = defaultdict(list)
    for raw in labels.open():
        row = json.loads(raw)
        by_file[(row["repo"], row["path"])].append(row)
    out = []
    for (repo, path), rows in sorted(by_file.items()):
        content = (repos / repo / path).read_text(encoding="utf-8")
        lines = content.split("\n")
        for row in rows:
            n = int(str(row["line"]))
            if _line_hash(lines[n - 1]) != row["sha"]:
                raise SystemExit(
                    f"{repo}/{path}:{n} differs from the labelled line; check out {row['commit']}"
                )
        pos = frozenset(int(str(r["line"])) for r in rows if r["label"] in ("secret", "pem"))
        pem = frozenset(int(str(r["line"])) for r in rows if r["label"] == "pem")
        out.append(Labelled(f"{repo}/{path}", content, pos, pem))
    return out


def _fill(template: str, rng: random.Random) -> str:
    """Replace {kind:N} slots with N random characters of that kind (hex, alnum, b64, lower, digits)."""
    alphabets = {
        "hex": "0123456789abcdef",
        "alnum": string.ascii_letters + string.digits,
        "b64": string.ascii_letters + string.digits + "+/",
        "lower": string.ascii_lowercase + string.digits,
        "upper": string.ascii_uppercase + string.digits,
        "digits": string.digits,
    }
    return re.sub(
        r"\{(hex|alnum|b64|lower|upper|digits):(\d+)\}",
        lambda m: "".join(rng.choice(alphabets[m.group(1)]) for _ in range(int(m.group(2)))),
        template,
    )


def written_set() -> list[Labelled]:
    """Realistic files written for this set; a line marked with `  # SECRET` at its end is positive."""
    rng = random.Random(15)
    out = []
    for raw in (_DATA / "secrets_written.jsonl").open():
        row = json.loads(raw)
        lines = []
        positive = set()
        for n, line in enumerate(row["lines"], 1):
            if line.endswith("\t<SECRET>"):
                positive.add(n)
                line = line.removesuffix("\t<SECRET>")
            lines.append(_fill(line, rng))
        out.append(
            Labelled(f"written/{row['path']}", "\n".join(lines) + "\n", frozenset(positive), frozenset())
        )
    return out


def labelled(files: list[Labelled], title: str, details: bool) -> None:
    """Scores one labelled set; `details` adds the merged engine's wrong lines file by file."""
    positives = [f for f in files if f.positive]
    n_pos = sum(len(f.positive - f.pem) for f in files)
    n_written = sum(len(f.positive) for f in files if f.path.startswith("written/"))
    print(
        f"\n{title}: {len(files)} files ({len(positives)} with a credential), "
        f"{n_pos} non-PEM positive lines ({n_written} in written files), "
        f"{sum(len(f.content.splitlines()) for f in files)} lines judged"
    )
    print(
        f"{'engine':<32}{'non-PEM line':>13}{'files':>9}{'precision':>11}{'non-PEM prec.':>15}"
        f"{'clean flagged':>15}{'s':>7}"
    )
    for name, engines in ENGINES.items():
        found, secs = review_lines({f.path: f.content for f in files}, engines)
        hit = sum(len((f.positive - f.pem) & found.get(f.path, set())) for f in files)
        file_hit = sum(1 for f in positives if f.positive & found.get(f.path, set()))
        reported = sum(len(found.get(f.path, set())) for f in files)
        true = sum(len(f.positive & found.get(f.path, set())) for f in files)
        # Without the key files' lines, whose many found lines would flatter the ratio.
        np_reported = sum(len(found.get(f.path, set()) - f.pem) for f in files)
        clean = [f for f in files if not f.positive]
        clean_flagged = sum(1 for f in clean if found.get(f.path))
        print(
            f"{name:<32}{hit / n_pos:>12.1%} {file_hit:>4}/{len(positives):<4}"
            f"{(true / reported if reported else 0.0):>10.1%} {(hit / np_reported if np_reported else 0.0):>14.1%}"
            f" {clean_flagged:>9}/{len(clean):<5}{secs:>6.2f}"
        )
        for part, chosen in (
            ("public files", [f for f in files if not f.path.startswith("written/")]),
            ("written files", [f for f in files if f.path.startswith("written/")]),
        ):
            got = sum(len((f.positive - f.pem) & found.get(f.path, set())) for f in chosen)
            want = sum(len(f.positive - f.pem) for f in chosen)
            if want:
                print(f"  {'non-PEM line recall, ' + part:<38}{got:>3}/{want}")
        if name == "swarm merged" and details:
            for f in files:
                fp = sorted(found.get(f.path, set()) - f.positive)
                fn = sorted((f.positive - f.pem) - found.get(f.path, set()))
                if fp or fn:
                    print(f"  {f.path}: false positive lines {fp}, missed lines {fn}")


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _time_once(repo: Path, commit: str, secrets: bool) -> None:
    """In a fresh process: one review of `commit` with the default analyzers, with or without secrets.

    CPU is user+sys of this process and of the tools it ran (bandit, ruff, ...): on a shared
    machine wall-clock mostly measures the other jobs, CPU what the review itself costs.
    """
    change = from_git(repo, f"{commit}~1", commit)
    analyzers = [a for a in default_analyzers(SwarmConfig()) if secrets or a.name != "secrets"]
    out: dict[str, float] = {}
    for run in ("", "warm_"):  # the second review in the process: how the App's workers see it
        t, cpu = time.perf_counter(), _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
        review = asyncio.run(Orchestrator(SwarmConfig(), analyzers=analyzers).review(change))
        out[run + "total"] = time.perf_counter() - t
        out[run + "cpu"] = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu
        out[run + "secrets"] = next((a.duration_s for a in review.analyzers if a.name == "secrets"), 0.0)
    print(json.dumps({**out, "added": review.additions}))


def timing(repo: Path, commit: str, runs: int = 5) -> None:
    """What the secrets stage adds to a review of a real commit: medians of `runs` fresh processes each way.

    Wall-clock and CPU (user+sys): of each review, measured inside the process, and of the
    whole process (interpreter start, imports, both reviews), measured from here.
    """

    def once(secrets: bool) -> dict[str, float]:
        args = [sys.executable, __file__, "--time-once", str(repo), commit, "1" if secrets else "0"]
        before = _cpu(resource.RUSAGE_CHILDREN)
        out = subprocess.run(args, capture_output=True, check=True, text=True).stdout
        return {**json.loads(out), "process_cpu": _cpu(resource.RUSAGE_CHILDREN) - before}

    # Interleaved, so a burst of load on the shared machine hits both sides alike.
    pairs = [(once(True), once(False)) for _ in range(runs)]

    def median(key: str, side: int) -> float:
        return statistics.median(pair[side][key] for pair in pairs)

    print(
        f"review of {repo.name} {commit[:10]} (+{int(pairs[0][0]['added'])} lines), default analyzers, "
        f"median of {runs} fresh processes each way; load average {os.getloadavg()[0]:.1f}"
    )
    for label, prefix in (("first review in a process", ""), ("second review, same process", "warm_")):
        with_s, without_s = median(prefix + "total", 0), median(prefix + "total", 1)
        print(
            f"  {label:<29} {with_s:5.2f} s with the secrets stage, {without_s:5.2f} s without "
            f"(adds {with_s - without_s:+.2f} s); the stage itself {median(prefix + 'secrets', 0):.2f} s"
        )
        with_c, without_c = median(prefix + "cpu", 0), median(prefix + "cpu", 1)
        print(
            f"  {'  CPU (user+sys)':<29} {with_c:5.2f} s with the secrets stage, {without_c:5.2f} s without "
            f"(adds {with_c - without_c:+.2f} s)"
        )
    with_p, without_p = median("process_cpu", 0), median("process_cpu", 1)
    print(
        f"  {'whole process, CPU':<29} {with_p:5.2f} s with the secrets stage, {without_p:5.2f} s without "
        f"(adds {with_p - without_p:+.2f} s; start, imports and both reviews)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    ap.add_argument(
        "--repos",
        type=Path,
        help="checkouts of the labelled repositories (DIR/pyjwt, DIR/paramiko, DIR/httpx)",
    )
    ap.add_argument(
        "--labels",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="another labelled set in the same format, its repositories under --repos; "
        "scored as its own part, without its wrong lines (repeatable)",
    )
    ap.add_argument("--only", choices=("samples", "labelled"))
    ap.add_argument("--timing", nargs=2, metavar=("REPO", "COMMIT"))
    ap.add_argument("--time-once", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.time_once:
        return _time_once(Path(args.time_once[0]), args.time_once[1], args.time_once[2] == "1")
    if args.timing:
        return timing(Path(args.timing[0]), args.timing[1])
    if args.only != "labelled":
        samples(args.shared)
    if args.only != "samples":
        if args.repos is None:
            raise SystemExit("the second set needs --repos DIR")
        labelled(labelled_set(args.repos) + written_set(), "second set, labelled by hand", details=True)
        for extra in args.labels:
            # Aggregates only: a held-out set's wrong lines, once printed, would invite tuning on it.
            labelled(labelled_set(args.repos, extra), f"labelled set {extra.name}", details=False)


if __name__ == "__main__":
    main()
