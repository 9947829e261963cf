"""Start-up cost of the `swarm` command: `swarm --version` and `swarm --help` against `python -c pass`.

Each command runs in a fresh process, as a user types it (the console script's own
two lines, `from swarm_cli.main import main; sys.exit(main())`), with this checkout
first on PYTHONPATH. Prints the median of N interleaved rounds after two warm-up rounds, and each
command's ratio to bare interpreter start-up; issue 12's target is at most 8x.

    python bench/cli_startup.py [--runs N] [--root CHECKOUT]

--root times another checkout (say `git worktree add /tmp/before <commit>`) for a
before-and-after comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 8.0
CONSOLE_SCRIPT = "import sys; from swarm_cli.main import main; sys.exit(main())"


def medians_s(commands: dict[str, list[str]], runs: int, root: Path) -> dict[str, float]:
    """Median wall time of each command over `runs` fresh processes.

    The commands take turns within each round, so a busy machine slows them alike and
    the ratios hold; two warm-up rounds fill the page cache and write .pyc files first.
    The processes start in `root` with it on PYTHONPATH (`python -c` puts the working
    directory first on sys.path), so they import that checkout and no other.
    """
    env = {**os.environ, "PYTHONPATH": str(root)}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for n in range(runs + 2):
        for name, argv in commands.items():
            t0 = time.perf_counter()
            subprocess.run(
                argv, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
            )
            if n >= 2:
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


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
    baseline = medians.pop("python -c pass")
    print(f"python -c pass       {baseline * 1000:7.1f} ms  (median of {args.runs} interleaved rounds)")
    worst = 0.0
    for name, elapsed in medians.items():
        ratio = elapsed / baseline
        worst = max(worst, ratio)
        print(f"{name:<20} {elapsed * 1000:7.1f} ms  {ratio:5.1f}x python -c pass")
    verdict = "within" if worst <= TARGET_RATIO else "OVER"
    print(f"worst ratio {worst:.1f}x: {verdict} the {TARGET_RATIO:.0f}x target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
