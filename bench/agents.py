"""Agent backends side by side: session spawn time and per-task overhead, OpenCode vs the direct LLM backend.

Both run against the same fake OpenAI-compatible model on loopback, at 0 ms model latency,
so what is measured is each backend's own cost. OpenCode is the real `opencode serve`
(npm opencode-ai, installed by .ci/run into .ci/node). The original design's targets:
spawn < 2 s, task overhead < 100 ms.

    python bench/agents.py [--tasks 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from swarm_core.agents import OpenCode, run_agents  # noqa: E402
from swarm_core.config import SwarmConfig, merge  # noqa: E402
from swarm_core.providers import ProviderPool, endpoints_from_env  # noqa: E402
from tests.fakes.llm import FakeLLM, Reply  # noqa: E402
from tests.test_agents import OPENCODE, Server  # noqa: E402


async def spawn_times(url: str, n: int) -> list[float]:
    out = []
    async with httpx.AsyncClient(base_url=url) as c:
        for _ in range(n):
            t0 = time.perf_counter()
            sid = (await c.post("/session", json={"title": "swarm:bench"})).json()["id"]
            out.append(time.perf_counter() - t0)
            await c.delete(f"/session/{sid}")
    return out


def task_times(config: SwarmConfig, name: str, llm_url: str, n: int) -> list[float]:
    """Tasks one after another through one long-lived client (as `swarm exec` batches and the API do)."""

    async def go() -> list[float]:
        out = []
        opencode = OpenCode(config.opencode_url)
        try:
            for _ in range(n):
                env = {"OPENAI_API_KEY": "sk-bench-0000", "OPENAI_BASE_URL": llm_url}
                t0 = time.perf_counter()
                run = await run_agents(
                    "What is 6*7?",
                    [name],
                    config,
                    ProviderPool(endpoints_from_env(env)),
                    model="openai/gpt-4.1-mini",
                    opencode=opencode,
                )
                out.append(time.perf_counter() - t0)
                (result,) = run.results
                assert result.status == "ok", result.error
        finally:
            await opencode.aclose()
        return out

    return asyncio.run(go())


async def raw_message_times(url: str, n: int) -> list[float]:
    """POST /session/{id}/message alone: OpenCode's own time for one task, no swarm code around it."""
    out = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        for _ in range(n):
            sid = (await c.post("/session", json={"title": "swarm:raw"})).json()["id"]
            t0 = time.perf_counter()
            await c.post(
                f"/session/{sid}/message",
                json={
                    "model": {"providerID": "fake", "modelID": "test-model"},
                    "parts": [{"type": "text", "text": "6*7?"}],
                },
            )
            out.append(time.perf_counter() - t0)
            await c.delete(f"/session/{sid}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=10)
    args = parser.parse_args()
    if not OPENCODE.exists():
        sys.exit("opencode is not installed: npm install --prefix .ci/node (see .ci/run)")
    with FakeLLM(key=None) as llm, tempfile.TemporaryDirectory() as tmp:
        llm.default("other", "", Reply(text='{"result": "42"}'))
        started = time.perf_counter()
        server = Server(llm, Path(tmp))
        boot = time.perf_counter() - started
        try:
            config = merge(
                SwarmConfig(),
                {
                    "opencode_url": server.url,
                    "agents": [
                        {"name": "oc", "role": "Answer.", "backend": "opencode", "model": "fake/test-model"},
                        {"name": "direct", "role": "Answer."},
                    ],
                },
            )
            spawn = asyncio.run(spawn_times(server.url, args.tasks))
            task_times(config, "oc", llm.url, 1)  # warm-up: OpenCode loads its provider package once
            oc = task_times(config, "oc", llm.url, args.tasks)
            direct = task_times(config, "direct", llm.url, args.tasks)
            raw = asyncio.run(raw_message_times(server.url, args.tasks))
        finally:
            server.kill()
    med = statistics.median
    print(f"opencode serve start-up: {boot:.2f} s")
    print(f"session spawn (POST /session), median of {args.tasks}: {med(spawn) * 1000:.1f} ms (target < 2 s)")
    print(f"{'backend':22}{'task median':>14}{'min':>10}{'max':>10}")
    print(
        f"{'direct LLM':22}{med(direct) * 1000:>11.1f} ms{min(direct) * 1000:>7.1f} ms{max(direct) * 1000:>7.1f} ms"
    )
    print(f"{'OpenCode':22}{med(oc) * 1000:>11.1f} ms{min(oc) * 1000:>7.1f} ms{max(oc) * 1000:>7.1f} ms")
    print(
        f"{'OpenCode message alone':22}{med(raw) * 1000:>11.1f} ms{min(raw) * 1000:>7.1f} ms{max(raw) * 1000:>7.1f} ms"
    )
    print(
        f"OpenCode overhead per task over the direct backend: {(med(oc) - med(direct)) * 1000:.1f} ms (target < 100 ms)"
    )
    print(
        f"  of which swarm's own client (task minus OpenCode's message time): {(med(oc) - med(raw)) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
