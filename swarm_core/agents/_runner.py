"""Running a task on several agents: parallel, sequential or hierarchical, with the run's evidence."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from swarm_core.agents._llm_backend import run_llm
from swarm_core.agents._opencode import OpenCode, run_opencode, task_evidence
from swarm_core.agents._results import AgentEvent, AgentResult, ExecRun, ProgressFn
from swarm_core.agents._roster import built_in_agents
from swarm_core.config import SwarmConfig
from swarm_core.errors import SwarmError
from swarm_core.model_calls import DEFAULT_MAX_TOKENS, ModelCaller
from swarm_core.models import Exchange
from swarm_core.providers import ProviderPool
from swarm_core.router import ModelTable, Router, load_table

__all__ = ["run_agents"]


async def run_agents(
    task: str,
    names: Sequence[str],
    config: SwarmConfig,
    pool: ProviderPool,
    *,
    model: str | None = None,
    mode: str = "parallel",
    coordinator: str | None = None,
    table: ModelTable | None = None,
    opencode: OpenCode | None = None,
    on_event: ProgressFn | None = None,
) -> ExecRun:
    """Run a task on agents: parallel (default), sequential (each sees the previous results) or
    hierarchical (the coordinator splits the task first, then the others run in parallel).

    Returns the results in the order of `names` (the coordinator first), with the evidence.

    Raises:
        SwarmError: an unknown agent name.
    """
    agents = built_in_agents(config)
    unknown = [n for n in names if n not in agents]
    if unknown:
        raise SwarmError(f"unknown agent {unknown[0]!r}; `swarm agents list` shows them")
    started = time.perf_counter()
    table = table if table is not None else load_table()
    router = Router(table, config.models, pool.available, default=model)

    # Agents keep the caller's own default reply cap (4096), not llm.max_output_tokens.
    caller = ModelCaller.for_config(pool, table, config, max_tokens=DEFAULT_MAX_TOKENS)
    own_opencode = opencode is None and any(agents[n].backend == "opencode" for n in names)
    if own_opencode:
        opencode = OpenCode(config.opencode_url)

    async def one(name: str, text: str) -> AgentResult:
        agent = agents[name]
        if agent.backend == "opencode":
            assert opencode is not None
            result = await run_opencode(agent, text, router, opencode, on_event)
            evidence.append(task_evidence(result, text, caller.redact))
        else:
            result = await run_llm(agent, text, router, caller, on_event)
        if on_event is not None:
            on_event(AgentEvent(name, "done", result.status))
        return result

    evidence: list[Exchange] = []
    try:
        if mode == "sequential":
            results: list[AgentResult] = []
            context = task
            for name in names:
                result = await one(name, context)
                results.append(result)
                if result.status == "ok":
                    context = f"{task}\n\nResult of {name}:\n{result.output}"
        elif mode == "hierarchical" and coordinator:
            lead = await one(
                coordinator,
                f"Split this task for the agents {', '.join(names)} and give each its part:\n{task}",
            )
            rest = [n for n in names if n != coordinator]
            others = await asyncio.gather(
                *(one(n, f"{task}\n\nYour lead says:\n{lead.output}") for n in rest)
            )
            results = [lead, *others]
        else:
            results = list(await asyncio.gather(*(one(n, task) for n in names)))
    finally:
        await pool.aclose()
        if own_opencode and opencode is not None:
            await opencode.aclose()
    exchanges = [*caller.exchanges, *evidence]
    return ExecRun(task, mode, results, exchanges, time.perf_counter() - started)
