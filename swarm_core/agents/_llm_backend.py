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
    sel = None
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
    except (LimitReached, ProviderError, ModelSelectionError) as exc:
        # A failed agent still made its calls: its usage and model come from the evidence,
        # so the result never says 0 calls and no model while the evidence holds them.
        used, tried = _own_calls(caller, agent.name)
        return AgentResult(
            agent.name,
            "llm",
            "cut" if isinstance(exc, LimitReached) else "failed",
            duration_s=time.perf_counter() - started,
            usage=used,
            model=tried or (sel.model if sel is not None else ""),
            error=str(exc),
        )
    used, _ = _own_calls(caller, agent.name)
    return AgentResult(agent.name, "llm", "ok", reply.result, time.perf_counter() - started, used, model)


def _own_calls(caller: ModelCaller, agent: str) -> tuple[Usage, str]:
    """This agent's usage and the last model it asked, from the evidence (agents share the caller)."""
    used, model = Usage(), ""
    for exchange in caller.exchanges:
        if exchange.lane == agent:
            used = used + exchange.usage
            model = exchange.model or model
    return used, model
