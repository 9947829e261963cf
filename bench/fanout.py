"""Fan-out: six model lanes against one lane, at 500 ms per call, and the orchestration overhead at 0 ms.

Runs the real pipeline (providers over httpx, guardrails, reviewer pass, verification)
against the fake OpenAI-compatible server on loopback, in a process of its own. Each lane returns one finding, so
each lane makes two sequential calls (lane, then reviewer): one lane's floor is 1.0 s.

Targets (issue 3): six lanes within 1.15x the wall time of one lane at 500 ms latency;
orchestration overhead per review (analyzers excluded) under 100 ms at 0 ms latency.

    python bench/fanout.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from swarm_core.changeset import from_patch  # noqa: E402
from swarm_core.config import SwarmConfig, merge  # noqa: E402
from swarm_core.models import LaneStatus  # noqa: E402
from swarm_core.orchestrator import Orchestrator  # noqa: E402
from swarm_core.providers import ProviderPool, endpoints_from_env  # noqa: E402

LANES = ["correctness", "security", "dependencies", "docs-intent", "tests", "performance-architecture"]
FINDING = {
    "path": "app/deploy.py",
    "line": 15,
    "severity": "medium",
    "category": "error handling",
    "title": "restart result unchecked",
    "evidence": 'return subprocess.call("systemctl restart " + service, shell=True)',
    "confidence": 0.8,
}


class Server:
    """The fake LLM server in a process of its own, so it does not share our GIL."""

    def __init__(self, latency: float) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fakes.llm",
                "--latency",
                str(latency),
                "--finding",
                json.dumps(FINDING),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        self.key = "sk-test-key"

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def review_once(llm: Server, lanes: list[str]) -> tuple[float, float, int]:
    """(wall seconds of the review, analyzers excluded; lanes_s; model calls)."""
    config = merge(SwarmConfig(), {"lanes": {n: n in lanes for n in LANES}})
    env = {"OPENAI_API_KEY": llm.key, "OPENAI_BASE_URL": llm.url}
    orch = Orchestrator(
        config,
        analyzers=[],
        model="openai/gpt-4.1-mini",
        providers=ProviderPool(endpoints_from_env(env)),
    )
    change = from_patch((ROOT / "examples" / "leaky-deploy.patch").read_bytes(), "leaky-deploy.patch")
    started = time.perf_counter()
    review = asyncio.run(orch.review(change))
    wall = time.perf_counter() - started
    assert all(lr.status in (LaneStatus.OK, LaneStatus.DISABLED) for lr in review.lanes), review.lanes
    return wall, review.timings["lanes_s"], review.usage.calls


def measure(latency: float, lanes: list[str], runs: int) -> tuple[float, float, int]:
    with Server(latency) as llm:
        review_once(llm, lanes)  # warm-up: imports, grammar loading, first connection
        samples = [review_once(llm, lanes) for _ in range(runs)]
    return (
        statistics.median(s[0] for s in samples),
        statistics.median(s[1] for s in samples),
        samples[0][2],
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    one_wall, one_lanes, one_calls = measure(0.5, ["correctness"], args.runs)
    six_wall, six_lanes, six_calls = measure(0.5, LANES, args.runs)
    print(f"latency 500 ms per call, median of {args.runs} reviews")
    print(f"{'':24}{'wall s':>10}{'lanes s':>10}{'calls':>8}")
    print(f"{'one lane (baseline)':24}{one_wall:>10.3f}{one_lanes:>10.3f}{one_calls:>8}")
    print(f"{'six lanes':24}{six_wall:>10.3f}{six_lanes:>10.3f}{six_calls:>8}")
    ratio = six_wall / one_wall
    print(f"six / one = {ratio:.3f}x (target <= 1.15x): {'PASS' if ratio <= 1.15 else 'FAIL'}")
    zero_wall, zero_lanes, zero_calls = measure(0.0, LANES, max(args.runs, 10))
    print()
    print(f"latency 0 ms, six lanes, {zero_calls} calls, median of {max(args.runs, 10)} reviews")
    print(
        f"orchestration overhead per review (analyzers excluded): {zero_wall * 1000:.1f} ms "
        f"(lanes stage {zero_lanes * 1000:.1f} ms) (target < 100 ms): {'PASS' if zero_wall < 0.1 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
