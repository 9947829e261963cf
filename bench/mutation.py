"""Benchmark: the mutation gate on real merged changes of more-itertools, with its own tests.

Usage:
    python bench/mutation.py --repo CLONE --python VENV_PYTHON [--max-mutants 60] [--only SHA,...]

CLONE is a git clone of https://github.com/more-itertools/more-itertools (MIT); VENV_PYTHON
a Python with `coverage` installed (the project's tests need nothing else), e.g. made with
`python -m venv /work/benchvenvs/mutation-more-itertools && .../bin/pip install coverage`.

Each change is a merged pull request (the merge commit against its first parent). Its tree
at the merge is extracted to a temporary directory (the checkout), and the gate runs there
exactly as the Action runs it: `swarm_core.mutation.run_gate` with the default config but
`test_command`, on as many workers as the machine has cores. The tests are the project's
unittest suite (tests/, doctests included), run fail-fast, without its four slowest tests
(a prime sieve, a DFT round trip, a threaded tee, a large polynomial: 9.9 s of its 11.4 s
of CPU); SLOW names them. The last part plants a weak test: one assertion of a test
the change added is removed, and the gate must report a mutant surviving that was killed.

Printed per change: lines changed (Python source), mutants generated, run, killed,
survived, timed out, changed lines no test runs, mutants left out by the cap, the coverage
run's time, the gate's wall time and the CPU time its processes used. The machine is shared
(the load average is printed): CPU s / 2 is what the gate would take on 2 idle cores.
Target (issue 20): <= 10 minutes for a change of <= 200 lines on 2 cores.
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from swarm_core import from_git
from swarm_core.config import MutationConfig
from swarm_core.mutation import GateResult, run_gate

# Merged pull requests touching more_itertools/*.py code (not only docstrings), 2025-2026.
CHANGES = (
    ("9ddc55c", "#1223 chunked: reject negative n"),
    ("c2859de", "#1200 sliced: reject negative n"),
    ("ed86a15", "tail: reject negative n"),
    ("b363d6b", "#1193 interleave_evenly fix"),
    ("49c991e", "iter_index: negative start/stop"),
    ("504b087", "#1166 subfactorial"),
    ("264b18d", "#1158 seekable.__getitem__"),
    ("1c21c3a", "#1127 running_mean"),
    ("da37f9d", "#1211 minmax stability"),
    ("3265258", "#1161 minmax micro-optimisations"),
    ("f9cdcb9", "#1216 numeric_range"),
    ("e4d2a4a", "#1126 replace"),
    ("00a00cb", "#1133 partition queues"),
    ("68a4c96", "#1099 synchronized"),
    ("582e9fa", "#1101 extract_monotonic"),
    ("6a6d136", "sized_iterator (195 lines, 2 files)"),
)
# The planted weak test: (change, test file, Class.method, the start of the assertion removed).
# Here: the check that decreasing indices raise ValueError in extract(monotonic=True).
PLANT = (
    "582e9fa",
    "tests/test_more.py",
    "ExtractTests.test_monotonic",
    "with self.assertRaises(ValueError):",
)

SLOW = (
    "tests.test_recipes.PrimeFunctionTests.test_primes",
    "tests.test_more.DiscreteFourierTransformTests.test_roundtrip",
    "tests.test_more.TestConcurrentTee.test_concurrent_consumers",
    "tests.test_recipes.PolynomialFromRootsTests.test_large",
)
RUNNER = f'''"""more-itertools' unittest suite (doctests included), fail-fast, without its slowest tests."""
import sys
import unittest

SLOW = {SLOW!r}


def tests(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from tests(test)
        elif test.id() not in SLOW:
            yield test


suite = unittest.TestSuite(tests(unittest.defaultTestLoader.discover("tests", top_level_dir=".")))
result = unittest.TextTestRunner(failfast=True, verbosity=0, stream=open("/dev/null", "w")).run(suite)
sys.exit(0 if result.wasSuccessful() else 1)
'''
RUNNER_NAME = "_swarm_bench_tests.py"


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True).stdout


def _checkout(repo: Path, sha: str, into: Path) -> None:
    """The tree at `sha`, as actions/checkout leaves it (without .git), plus the bench's test runner."""
    with tarfile.open(fileobj=io.BytesIO(_git(repo, "archive", sha)), mode="r") as tar:
        tar.extractall(into, filter="data")
    (into / RUNNER_NAME).write_text(RUNNER, encoding="utf-8")


def _plant(root: Path, path: str, where: str, assertion: str) -> int:
    """Replace the first statement of `where` (Class.method) that starts with `assertion` with
    `pass`; its first line."""
    text = (root / path).read_text(encoding="utf-8")
    cls, method = where.split(".")
    tree = ast.parse(text)
    owner = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    fn = next(n for n in owner.body if isinstance(n, ast.FunctionDef) and n.name == method)
    stmt = next(s for s in fn.body if (ast.get_source_segment(text, s) or "").startswith(assertion))
    lines = text.split("\n")
    end = stmt.end_lineno or stmt.lineno
    indent = " " * stmt.col_offset
    lines[stmt.lineno - 1 : end] = [f"{indent}pass  # planted weak test: {assertion} ... removed"]
    (root / path).write_text("\n".join(lines), encoding="utf-8")
    return stmt.lineno


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _gate(
    repo: Path, sha: str, python: str, max_mutants: int, plant: tuple[str, str, str] | None = None
) -> tuple[GateResult, int, float]:
    change = from_git(repo, f"{sha}^1", sha)
    lines = sum(
        f.additions + f.deletions
        for f in change.diff.files
        if f.path.endswith(".py") and f.path.startswith("more_itertools/")
    )
    config = MutationConfig(enabled=True, test_command=f"{python} {RUNNER_NAME}", max_mutants=max_mutants)
    environ = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    with tempfile.TemporaryDirectory(prefix="swarm-bench-mutation-") as temp:
        root = Path(temp)
        _checkout(repo, sha, root)
        if plant is not None:
            _plant(root, *plant)
        cpu = _cpu()
        result = run_gate(change, config, root, event="pull_request", environ=environ)
        return result, lines, _cpu() - cpu


HEADER = f"{'change':<42} {'lines':>5} {'gen':>4} {'run':>4} {'kill':>4} {'surv':>4} {'t/o':>4} {'uncov':>5} {'cap':>4} {'cov s':>6} {'wall s':>7} {'CPU s':>6}"


def _row(name: str, lines: int, r: GateResult, cpu: float) -> str:
    plan = r.plan
    if plan is None:
        return f"{name:<42} {lines:>5}  {r.status}: {r.reason.splitlines()[0][:80]}"
    uncovered = sum(len(v) for v in plan.uncovered.values())
    return (
        f"{name:<42} {lines:>5} {plan.generated:>4} {len(r.outcomes):>4} {r.count('killed'):>4} "
        f"{r.count('survived'):>4} {r.count('timeout'):>4} {uncovered:>5} {plan.capped:>4} "
        f"{r.coverage_seconds:>6.1f} {r.seconds:>7.1f} {cpu:>6.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--max-mutants", type=int, default=MutationConfig().max_mutants)
    parser.add_argument("--only", default="", help="comma-separated change SHAs")
    args = parser.parse_args()
    only = {s for s in args.only.split(",") if s}
    print(
        f"more-itertools, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
        f"max_mutants {args.max_mutants}, python {sys.version.split()[0]}"
    )
    print(HEADER)
    totals = {
        "lines": 0,
        "gen": 0,
        "run": 0,
        "killed": 0,
        "survived": 0,
        "timeout": 0,
        "uncovered": 0,
        "capped": 0,
    }
    walls: list[float] = []
    cpus: list[float] = []
    before: GateResult | None = None
    for sha, title in CHANGES:
        if only and sha not in only:
            continue
        result, lines, cpu = _gate(args.repo, sha, args.python, args.max_mutants)
        print(_row(f"{sha} {title}"[:42], lines, result, cpu), flush=True)
        if sha == PLANT[0]:
            before = result
        if result.plan is None:
            continue
        walls.append(result.seconds)
        cpus.append(cpu)
        for key, value in (
            ("lines", lines),
            ("gen", result.plan.generated),
            ("run", len(result.outcomes)),
            ("killed", result.count("killed")),
            ("survived", result.count("survived")),
            ("timeout", result.count("timeout")),
            ("uncovered", sum(len(v) for v in result.plan.uncovered.values())),
            ("capped", result.plan.capped),
        ):
            totals[key] += value
    killed = totals["killed"] + totals["timeout"]
    print(
        f"{'total (' + str(len(walls)) + ' changes)':<42} {totals['lines']:>5} {totals['gen']:>4} {totals['run']:>4} "
        f"{totals['killed']:>4} {totals['survived']:>4} {totals['timeout']:>4} {totals['uncovered']:>5} "
        f"{totals['capped']:>4} {'':>6} {sum(walls):>7.1f} {sum(cpus):>6.1f}"
    )
    if walls:
        print(
            f"mutation score {killed / max(totals['run'], 1):.0%}; gate wall time median {sorted(walls)[len(walls) // 2]:.1f} s, "
            f"max {max(walls):.1f} s; CPU max {max(cpus):.1f} s = {max(cpus) / 2:.1f} s on 2 idle cores "
            f"(target <= 600 s for <= 200 changed lines); load average {os.getloadavg()[0]:.1f}"
        )
    if before is not None and before.plan is not None:
        started = time.monotonic()
        planted, _, cpu = _gate(args.repo, PLANT[0], args.python, args.max_mutants, plant=PLANT[1:])
        old = {(o.mutant.line, o.mutant.start, o.mutant.replacement) for o in before.survivors}
        new = [
            o for o in planted.survivors if (o.mutant.line, o.mutant.start, o.mutant.replacement) not in old
        ]
        print(
            f"\nplanted weak test: {PLANT[1]}::{PLANT[2]} without `{PLANT[3]}` ({time.monotonic() - started:.1f} s)"
        )
        print(_row(f"{PLANT[0]} planted", 0, planted, cpu))
        for o in new:
            print(f"  new survivor: {o.mutant.path}:{o.mutant.line} {o.mutant.plain}")
        print("caught" if new else "NOT caught: no new surviving mutant")


if __name__ == "__main__":
    main()
