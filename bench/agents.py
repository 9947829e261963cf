"""Agent backends side by side: session spawn time and per-task overhead, OpenCode vs the direct LLM backend.

Both run against the same fake OpenAI-compatible model on loopback, at 0 ms model latency,
so what is measured is each backend's own cost. OpenCode is the real `opencode serve`
(npm opencode-ai, installed by .ci/run into .ci/node). The original design's targets:
spawn < 2 s, task overhead < 100 ms.

    python bench/agents.py [--tasks 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


async def interleaved(config: SwarmConfig, llm_url: str, n: int) -> dict[str, list[float]]:
    """n rounds of: a task on the direct backend, a task on OpenCode, OpenCode's message alone.

    Interleaved so that drift on this two-core machine (OpenCode's own background work,
    session deletions) falls on every column alike. Tasks go through one long-lived
    OpenCode client, as `swarm exec` with several agents and the API do.
    """
    out: dict[str, list[float]] = {"direct": [], "oc": [], "raw": []}
    opencode = OpenCode(config.opencode_url)
    env = {"OPENAI_API_KEY": "sk-bench-0000", "OPENAI_BASE_URL": llm_url}
    try:
        async with httpx.AsyncClient(base_url=config.opencode_url, timeout=60) as raw:
            for round_no in range(n + 1):  # round 0 warms up (OpenCode loads its provider package)
                for name in ("direct", "oc"):
                    t0 = time.perf_counter()
                    run = await run_agents(
                        "What is 6*7?",
                        [name],
                        config,
                        ProviderPool(endpoints_from_env(env)),
                        model="openai/gpt-4.1-mini",
                        opencode=opencode,
                    )
                    if round_no:
                        out[name].append(time.perf_counter() - t0)
                    (result,) = run.results
                    assert result.status == "ok", result.error
                await asyncio.gather(*opencode._cleanup)  # the deletion is not part of the next round
                if round_no:
                    out["raw"].append(await raw_message_time(raw))
    finally:
        await opencode.aclose()
    return out


async def raw_message_time(c: httpx.AsyncClient) -> float:
    """POST /session/{id}/message alone: OpenCode's own time for one task, no swarm code around it."""
    sid = (await c.post("/session", json={"title": "swarm:raw"})).json()["id"]
    t0 = time.perf_counter()
    await c.post(
        f"/session/{sid}/message",
        json={
            "model": {"providerID": "fake", "modelID": "test-model"},
            "parts": [{"type": "text", "text": "6*7?"}],
        },
    )
    took = time.perf_counter() - t0
    await c.delete(f"/session/{sid}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=20)
    args = parser.parse_args()
    if not OPENCODE.exists():
        sys.exit("opencode is not installed: npm install --prefix .ci/node (see .ci/run)")
    med = statistics.median
    configs: tuple[tuple[str, dict[str, Any]], ...] = (("default config", {}),)
    rows = []
    with FakeLLM(key=None) as llm:
        llm.default("other", "", Reply(text='{"result": "42"}'))
        for label, extra in configs:
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                server = Server(llm, Path(tmp), extra)
                boot = time.perf_counter() - started
                try:
                    config = merge(
                        SwarmConfig(),
                        {
                            "opencode_url": server.url,
                            "agents": [
                                {
                                    "name": "oc",
                                    "role": "Answer.",
                                    "backend": "opencode",
                                    "model": "fake/test-model",
                                },
                                {"name": "direct", "role": "Answer."},
                            ],
                        },
                    )
                    spawn = asyncio.run(spawn_times(server.url, args.tasks))
                    times = asyncio.run(interleaved(config, llm.url, args.tasks))
                    direct, oc, raw = times["direct"], times["oc"], times["raw"]
                finally:
                    server.kill()
            rows.append((label, boot, spawn, direct, oc, raw))
    print(
        f"{args.tasks} interleaved rounds (direct task, OpenCode task, OpenCode message alone); fake model at 0 ms; medians"
    )
    print(
        f"{'OpenCode config':28}{'start-up':>10}{'spawn':>9}{'direct':>10}{'OpenCode':>10}"
        f"{'message':>10}{'overhead':>10}{'client':>9}"
    )
    for label, boot, spawn, direct, oc, raw in rows:
        print(
            f"{label:28}{boot:>9.2f}s{med(spawn) * 1000:>7.1f}ms{med(direct) * 1000:>8.1f}ms"
            f"{med(oc) * 1000:>8.1f}ms{med(raw) * 1000:>8.1f}ms{(med(oc) - med(direct)) * 1000:>8.1f}ms"
            f"{(med(oc) - med(raw)) * 1000:>7.1f}ms"
        )
    print(
        "spawn: POST /session (target < 2 s). direct / OpenCode: a whole task through run_agents on each"
        " backend. message: POST /session/{id}/message alone (OpenCode's own time). overhead: OpenCode"
        " minus direct (target < 100 ms). client: OpenCode minus message (swarm's own client)."
    )


if __name__ == "__main__":
    main()
