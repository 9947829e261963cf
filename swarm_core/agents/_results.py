"""What an agent run produces: each agent's result, its progress events, and the whole run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from swarm_core.models import Exchange, Usage, request_counts
from swarm_core.store.runs import RunStore

__all__ = ["AgentEvent", "AgentResult", "ExecRun", "ProgressFn"]


@dataclass
class AgentResult:
    """One agent's outcome on a task."""

    name: str
    backend: str
    status: Literal["ok", "failed", "cut"]
    output: str = ""
    duration_s: float = 0.0
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "name": self.name,
            "backend": self.backend,
            "status": self.status,
            "output": self.output,
            "duration_s": round(self.duration_s, 3),
            "usage": self.usage.to_dict(),
            "model": self.model,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """Progress of one agent: `kind` is start, step, tool, text, error or done."""

    agent: str
    kind: str
    detail: str = ""


ProgressFn = Callable[[AgentEvent], None]


@dataclass
class ExecRun:
    """A task run on agents (`swarm exec`, `POST /api/execute`), as stored and printed."""

    task: str
    mode: str
    results: list[AgentResult]
    exchanges: list[Exchange] = field(default_factory=list)
    duration_s: float = 0.0
    run_id: str = ""

    @property
    def status(self) -> Literal["ok", "partial", "failed"]:
        """ok when every agent finished, failed when none did, else partial."""
        ok = sum(r.status == "ok" for r in self.results)
        if ok == len(self.results):
            return "ok"
        return "failed" if ok == 0 else "partial"

    @property
    def usage(self) -> Usage:
        total = Usage()
        for r in self.results:
            total = total + r.usage
        return total

    def counts(self) -> dict[str, int]:
        """How many agents ended in each status."""
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def save(self, store: RunStore, agents: Sequence[str]) -> str:
        """Store the run (kind "exec") with its evidence; sets and returns `run_id`."""
        self.run_id = store.save_document(
            "exec",
            source=f"agents {','.join(agents)}: {self.task[:200]}",
            status=self.status,
            duration_s=self.duration_s,
            document=self.to_dict(),
            exchanges=self.exchanges,
            counts=self.counts(),
        )
        return self.run_id

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (what the store keeps and the API returns).

        `requests` counts every request sent (failed, timed out and retried ones too),
        `answered` those a model answered; `usage.calls` counts answered calls.
        """
        sent, answered = request_counts(self.exchanges)
        return {
            "run_id": self.run_id,
            "task": self.task,
            "mode": self.mode,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "requests": sent,
            "answered": answered,
            "usage": self.usage.to_dict(),
            "results": [r.to_dict() for r in self.results],
        }
