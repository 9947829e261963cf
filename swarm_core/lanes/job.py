"""What the lanes are handed (the model seams, a `LaneJob` per run) and what one lane hands back."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from swarm_core.changeset import Contents
from swarm_core.config import SwarmConfig
from swarm_core.memory import RunMemory
from swarm_core.model_calls import ModelCaller
from swarm_core.models import Finding, LaneResult
from swarm_core.providers import Message
from swarm_core.router import Router

__all__ = ["LaneJob", "LaneOutcome", "ModelSeams"]


@dataclass(frozen=True)
class ModelSeams:
    """What the lanes need to reach models, built once per run by the orchestrator.

    Args:
        router: picks each lane's model.
        caller: makes every model call of the run under its guardrails and keeps the evidence.
        memory: the run's swarm memory (None: the lanes share no notes).
        default_model: the run's default model; its context window bounds a chunk.
    """

    router: Router
    caller: ModelCaller
    memory: RunMemory | None = None
    default_model: str | None = None


@dataclass(frozen=True)
class LaneJob:
    """Everything a lane needs for one run, shared by the lanes (read-only)."""

    config: SwarmConfig
    router: Router
    caller: ModelCaller
    contents: Contents | None
    chunks: tuple[tuple[tuple[str, ...], tuple[Message, ...]], ...]  # (paths, shared messages)
    names: frozenset[str] | None
    memory: RunMemory | None = None
    council: bool = False
    run_id: str = ""
    # Every analyzer finding of the run: a lane reads some that another lane owns as context
    # (the tests lane reads the regression guard's, which the correctness lane reports).
    analyzer_findings: tuple[Finding, ...] = ()

    def estimated_tokens(self) -> tuple[int, int]:
        """(input, output) tokens one lane call is expected to take, for the router's estimates."""
        tokens = sum(len(m.content) for _, msgs in self.chunks for m in msgs) // 4 + 800
        return tokens, self.config.llm.max_output_tokens // 2


@dataclass
class LaneOutcome:
    """A lane's result plus the verification counts of the findings it dropped or kept."""

    result: LaneResult
    counts: Counter[str] = field(default_factory=Counter)
    downgraded: int = 0
    summary: str = ""
    dropped: list[str] = field(default_factory=list)
