"""Which agents exist (the lanes, the council members, `agents:` in the config) and the model each gets."""

from __future__ import annotations

from swarm_core.config import AgentConfig, SwarmConfig
from swarm_core.errors import ModelSelectionError
from swarm_core.lanes import LANE_FOCUS
from swarm_core.models import Lane
from swarm_core.router import Router, Selection

__all__ = ["agent_table", "built_in_agents", "selection"]


def built_in_agents(config: SwarmConfig) -> dict[str, AgentConfig]:
    """The lanes and council members as agents, then `agents:` from the config (same name overrides)."""
    agents: dict[str, AgentConfig] = {}
    for lane in Lane:
        agents[lane.value] = AgentConfig(
            name=lane.value, role=f"You review code changes through one lens: {LANE_FOCUS[lane]}."
        )
    for member in config.council.members:
        agents[member.name] = AgentConfig(name=member.name, role=member.role, model=member.model)
    for agent in config.agents:
        agents[agent.name] = agent
    return agents


def agent_table(config: SwarmConfig, router: Router) -> list[dict[str, str]]:
    """Each agent, its backend, and the model the router would pick and why (`swarm agents list`)."""
    rows = []
    for agent in built_in_agents(config).values():
        try:
            sel = selection(agent, router)
            model, why = sel.model, sel.reason
        except ModelSelectionError as exc:
            model, why = "-", str(exc)
        rows.append({"name": agent.name, "backend": agent.backend, "model": model, "reason": why})
    return rows


def selection(agent: AgentConfig, router: Router) -> Selection:
    """The model an agent runs on: its own, or the router's pick for a reviewer (with its min quality)."""
    if agent.model:
        return Selection(agent.model, f"agents.{agent.name}.model", 0.0, 0)
    if agent.min_quality is not None:
        policy = router.policy.model_copy(update={"min_quality": agent.min_quality})
        router = Router(router.table, policy, router.available, default=router.default)
    return router.select("reviewer", mode=agent.mode)
