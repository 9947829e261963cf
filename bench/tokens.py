"""Tokens and cost per review on a real ~1,300-line diff (pylint v4.0.5..v4.0.6), for several router modes.

Reports, per review: model calls, prompt tokens, the share of prompt tokens that is the
shared prefix (system prompt + diff context, byte-identical across the lanes of a chunk),
what a provider with automatic prefix caching reports as cached (the fake server mimics
OpenAI: a repeated message prefix of 1,024+ tokens), and the cost at the model table's
prices with and without that caching. Each router mode runs twice: with cache affinity
off (the baseline: each lane gets its own best model) and on (the default). Every provider in the table is pointed at the fake
server, so the router chooses among all of them. Needs the pylint mirror:

    python bench/tokens.py [--repo /work/.mirror/pylint-dev+pylint/repo]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from swarm_core.changeset import from_git  # noqa: E402
from swarm_core.chunking import estimate_tokens  # noqa: E402
from swarm_core.config import SwarmConfig, merge  # noqa: E402
from swarm_core.orchestrator import Orchestrator  # noqa: E402
from swarm_core.providers import KNOWN_PROVIDERS, ProviderPool, endpoints_from_env  # noqa: E402
from swarm_core.router import load_table  # noqa: E402
from tests.fakes.llm import FakeLLM, lane_reply  # noqa: E402

BASE, HEAD = "v4.0.5", "v4.0.6"


def _blocks(body: dict) -> list[tuple[str, bool]]:
    """Every text block of a request and whether it belongs to the shared prefix (system + context)."""
    flat: list[str] = []
    for block in body.get("system") or []:
        flat.append(block["text"])
    for m in body["messages"]:
        content = m["content"]
        flat.extend([content] if isinstance(content, str) else [b["text"] for b in content])
    return [(text, n < 2) for n, text in enumerate(flat)]


def run(repo: Path, mode: str | None, model: str | None, affinity: float = 5.0) -> None:
    with FakeLLM(prefix_cache=True) as llm:
        llm.default("lane", "", lane_reply())
        env: dict[str, str] = {}
        for name, known in KNOWN_PROVIDERS.items():
            if known.key_env:
                env[known.key_env] = llm.key or ""
            env[known.base_env] = llm.anthropic_url if known.kind == "anthropic" else llm.url
            if name in ("ollama", "vllm", "llamacpp"):
                env.pop(known.base_env)  # local servers: not set up, so never chosen
        overrides = {"models": {"mode": mode, "cache_affinity": affinity}} if mode else {}
        orch = Orchestrator(
            merge(SwarmConfig(), overrides),
            model=model,
            providers=ProviderPool(endpoints_from_env(env)),
        )
        change = from_git(repo, BASE, HEAD)
        review = asyncio.run(orch.review(change))
        calls = llm.requests
        prompt = shared = 0
        for r in calls:
            blocks = _blocks(r.body)
            prompt += sum(estimate_tokens(t) for t, _ in blocks)
            shared += sum(estimate_tokens(t) for t, is_shared in blocks if is_shared)
        u = review.usage
        table = load_table()
        no_cache = sum(
            (
                table.get(e.model).cost(e.usage.input_tokens, e.usage.output_tokens, 0)
                if table.get(e.model)
                else 0.0
            )
            for e in review.exchanges
        )
        models = Counter(lr.model for lr in review.lanes)
        label = (
            (f"{mode} mode" + ("" if affinity else ", cache affinity off (baseline)"))
            if mode
            else f"fixed {model}"
        )
        print(f"\n== {label}: lanes on {', '.join(f'{m} x{n}' for m, n in models.items())}")
        print(
            f"diff: {len(change.diff.files)} files, +{change.diff.additions} -{change.diff.deletions}; "
            f"chunks: {len([e for e in review.exchanges if e.kind == 'context'])}"
        )
        print(
            f"calls {u.calls}; prompt tokens {prompt:,} (provider-reported input {u.input_tokens:,}); "
            f"output {u.output_tokens:,}"
        )
        print(f"shared prefix: {shared:,} tokens = {shared / prompt:.1%} of prompt tokens")
        print(
            f"reported cached: {u.cached_tokens:,} = {u.cached_tokens / max(1, u.input_tokens):.1%} of input"
        )
        print(f"cost per review: ${no_cache:.4f} without caching, ${u.cost_usd:.4f} with prefix caching")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", type=Path, default=Path("/work/.mirror/pylint-dev+pylint/repo"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "pylint"
        # A work tree-less clone of the bare mirror (from_git wants a repository, not a bare dir).
        subprocess.run(
            ["git", "clone", "-q", "--shared", "--no-checkout", str(args.repo), str(work)], check=True
        )
        run(work, None, "openai/gpt-4.1-mini")
        for mode in ("cost", "balanced", "quality"):
            run(work, mode, None, affinity=0.0)
            run(work, mode, None)


if __name__ == "__main__":
    main()
