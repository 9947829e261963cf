"""Agents on any backend (the seed's AgentManager): a role, a model, tools and limits, run on a task.

    results      AgentResult, AgentEvent, ExecRun (what a run returns and stores)
    roster       the built-in agents (lanes, council members) and `agents:` overrides; their models
    llm_backend  `llm` (default): the providers, router and guardrails of the lanes
    opencode     `opencode`: an `opencode serve` instance over its HTTP API and event stream
    runner       `run_agents`: parallel, sequential or hierarchical, with the evidence of the run

A run returns an ExecRun: every agent's result plus the evidence of its model work (the LLM
backend's calls; one record per OpenCode task), ready for the run store.
"""

from __future__ import annotations

from swarm_core.agents.opencode import OpenCode
from swarm_core.agents.results import AgentEvent, AgentResult, ExecRun
from swarm_core.agents.roster import agent_table, built_in_agents
from swarm_core.agents.runner import run_agents

__all__ = [
    "AgentEvent",
    "AgentResult",
    "ExecRun",
    "OpenCode",
    "agent_table",
    "built_in_agents",
    "run_agents",
]
