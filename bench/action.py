"""The GitHub Action's cost per CI run: installing swarm in a fresh environment, then `swarm action` to a published review.

1. Install: a fresh virtual environment and `pip install .` (what action.yml's install
   step does; wheels come from the pip cache or the package index, as on a runner with
   pip caching).
2. Review: `swarm action` on a pull_request event for the example patch
   (examples/leaky-deploy.patch as a pull request on the fake GitHub server), no model;
   from process start to the published check run, review and summary. Median of 5.

    python bench/action.py [--skip-install]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def install_time(tmp: Path) -> tuple[float, float, int]:
    venv = tmp / "venv"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    t1 = time.perf_counter()
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(ROOT),
        ],
        check=True,
    )
    t2 = time.perf_counter()
    size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file())
    return t1 - t0, t2 - t1, size


def review_time(runs: int, python: str = sys.executable) -> list[float]:
    from swarm_core.changeset import apply_hunks
    from swarm_core.diff import parse_diff
    from tests.fakes.github import FakeGitHub, Pull

    patch = (ROOT / "examples" / "leaky-deploy.patch").read_text()
    diff = parse_diff(patch)
    head_files = {fd.path: (apply_hunks(None, fd) or b"").decode() for fd in diff.files}
    payload = json.loads(
        (
            ROOT
            / "tests/fixtures/octokit-webhooks/payload-examples/api.github.com/pull_request/opened.payload.json"
        ).read_text()
    )
    times = []
    for _ in range(runs):
        with FakeGitHub() as gh, tempfile.TemporaryDirectory() as tmp:
            repo = payload["repository"]["full_name"]
            gh.add_repo(repo)
            gh.static_tokens.add("ghs_bench")
            gh.add_pull(
                repo,
                Pull(2, "Deploy", "", patch, {}, head_files, head_sha=payload["pull_request"]["head"]["sha"]),
            )
            event = Path(tmp) / "event.json"
            event.write_text(json.dumps(payload))
            env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
            env.update(
                {
                    "GITHUB_EVENT_NAME": "pull_request",
                    "GITHUB_EVENT_PATH": str(event),
                    "GITHUB_REPOSITORY": repo,
                    "GITHUB_TOKEN": "ghs_bench",
                    "GITHUB_API_URL": gh.url,
                    "RUNNER_TEMP": tmp,
                    "SWARM_INPUT_FAIL_ON": "never",
                }
            )
            t0 = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "swarm_cli", "action"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            elapsed = time.perf_counter() - t0
            assert result.returncode == 0, result.stderr
            assert gh.reviews and gh.check_runs and gh.check_runs[0]["status"] == "completed"
            times.append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip-install", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not args.skip_install:
        with tempfile.TemporaryDirectory() as tmp:
            venv_s, pip_s, size = install_time(Path(tmp))
        print(
            f"install: venv {venv_s:.1f} s + pip install . {pip_s:.1f} s = {venv_s + pip_s:.1f} s; environment {size / 1e6:.0f} MB"
        )
    times = review_time(args.runs)
    print(
        f"swarm action, example patch, no model: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}, {len(times)} runs) from process start to published check run, review and summary"
    )


if __name__ == "__main__":
    main()
