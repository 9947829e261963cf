"""The `llm` backend: an agent answers through the providers, router and guardrails of the lanes."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict

from swarm_core.agents._results import AgentEvent, AgentResult, ProgressFn
from swarm_core.agents._roster import selection
from swarm_core.config import AgentConfig
from swarm_core.errors import LimitReached, ModelSelectionError, ProviderError
from swarm_core.model_calls import ModelCaller
from swarm_core.models import Usage
from swarm_core.providers import Message
from swarm_core.router import Router

__all__ = ["run_llm"]


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")
    result: str


async def run_llm(
    agent: AgentConfig, task: str, router: Router, caller: ModelCaller, on_event: ProgressFn | None
) -> AgentResult:
    """Run one agent on the task; a provider, selection or limit failure is a failed or cut result."""
    started = time.perf_counter()
    try:
        sel = selection(agent, router)
        if on_event is not None:
            on_event(AgentEvent(agent.name, "start", sel.model))
        reply, model, _ = await caller.ask(
            kind="agent",
            lane=agent.name,
            selection=sel,
            messages=[
                Message("system", agent.role + '\nReply with JSON: {"result": "..."}.'),
                Message("user", task),
            ],
            schema=_Reply,
            temperature=agent.temperature,
            max_tokens=agent.max_tokens,
        )
    except LimitReached as exc:
        return AgentResult(agent.name, "llm", "cut", duration_s=time.perf_counter() - started, error=str(exc))
    except (ProviderError, ModelSelectionError) as exc:
        return AgentResult(
            agent.name, "llm", "failed", duration_s=time.perf_counter() - started, error=str(exc)
        )
    used = Usage()
    for exchange in caller.exchanges:  # this agent's own calls (agents share the caller)
        if exchange.lane == agent.name:
            used = used + exchange.usage
    return AgentResult(agent.name, "llm", "ok", reply.result, time.perf_counter() - started, used, model)
