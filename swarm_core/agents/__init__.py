"""Agents on any backend (the seed's AgentManager): a role, a model, tools and limits, run on a task.

    _results      AgentResult, AgentEvent, ExecRun (what a run returns and stores)
    _roster       the built-in agents (lanes, council members) and `agents:` overrides; their models
    _llm_backend  `llm` (default): the providers, router and guardrails of the lanes
    _opencode     `opencode`: an `opencode serve` instance over its HTTP API and event stream
    _runner       `run_agents`: parallel, sequential or hierarchical, with the evidence of the run

The modules are private: everything outside this package uses the names below.
A run returns an ExecRun: every agent's result plus the evidence of its model work (the LLM
backend's calls; one record per OpenCode task), ready for the run store.
"""

from __future__ import annotations

from swarm_core.agents._opencode import OpenCode
from swarm_core.agents._results import AgentEvent, AgentResult, ExecRun
from swarm_core.agents._roster import agent_table, built_in_agents
from swarm_core.agents._runner import run_agents

__all__ = [
    "AgentEvent",
    "AgentResult",
    "ExecRun",
    "OpenCode",
    "agent_table",
    "built_in_agents",
    "run_agents",
]
