"""Start-up cost of the `swarm` command: `swarm --version` and `swarm --help` against `python -c pass`.

Each command runs in a fresh process, as a user types it (the console script's own
two lines, `from swarm_cli.main import main; sys.exit(main())`), with this checkout
first on PYTHONPATH. Prints the median wall and CPU time of N interleaved rounds after
two warm-up rounds, and each command's ratio to bare interpreter start-up; issue 12's
target is at most 8x.

    python bench/cli_startup.py [--runs N] [--root CHECKOUT]

--root times another checkout (say `git worktree add /tmp/before <commit>`) for a
before-and-after comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 8.0
CONSOLE_SCRIPT = "import sys; from swarm_cli.main import main; sys.exit(main())"


def medians_s(commands: dict[str, list[str]], runs: int, root: Path) -> dict[str, tuple[float, float]]:
    """Median wall time and median CPU time (user + system) of each command over `runs` fresh processes.

    The commands take turns within each round, so a busy machine slows them alike and
    the ratios hold; two warm-up rounds fill the page cache and write .pyc files first.
    The processes start in `root` with it on PYTHONPATH (`python -c` puts the working
    directory first on sys.path), so they import that checkout and no other. CPU time is
    reported too: on a shared machine it moves less than wall time.
    """
    env = {**os.environ, "PYTHONPATH": str(root)}
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for n in range(runs + 2):
        for name, argv in commands.items():
            before = _children_cpu_s()
            t0 = time.perf_counter()
            subprocess.run(
                argv, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
            )
            if n >= 2:
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(_children_cpu_s() - before)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in commands}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--root", type=Path, default=ROOT, help="The checkout to time (default: this one).")
    args = parser.parse_args()
    commands = {"python -c pass": [sys.executable, "-c", "pass"]}
    commands |= {
        f"swarm {flag}": [sys.executable, "-c", CONSOLE_SCRIPT, flag] for flag in ("--version", "--help")
    }
    medians = medians_s(commands, args.runs, args.root.resolve())
    base_wall, base_cpu = medians.pop("python -c pass")
    print(f"medians of {args.runs} interleaved rounds    wall            cpu")
    print(f"{'python -c pass':<20} {base_wall * 1000:9.1f} ms        {base_cpu * 1000:9.1f} ms")
    worst = 0.0
    for name, (wall, cpu) in medians.items():
        worst = max(worst, wall / base_wall)
        print(
            f"{name:<20} {wall * 1000:9.1f} ms {wall / base_wall:4.1f}x  "
            f"{cpu * 1000:9.1f} ms {cpu / base_cpu:4.1f}x"
        )
    verdict = "within" if worst <= TARGET_RATIO else "OVER"
    print(f"worst wall-time ratio {worst:.1f}x python -c pass: {verdict} the {TARGET_RATIO:.0f}x target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
