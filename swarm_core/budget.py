"""Per-installation model budgets (DESIGN §2 guardrails, §6): what a team may spend in a window.

An operator sets a limit in USD over a rolling window of days. Before model work for an
installation, the App sums what the installation's runs spent in the window (their stored
evidence) and asks `Budget.allowance`:

- nothing left: the work runs without models (a review keeps its deterministic lanes;
  council and issue commands say the budget is spent);
- something left: the run's own cost cap (`llm.limits.max_cost_usd`) is lowered to what
  is left, so one run can never spend past the budget.

Runs in flight are not in the stored sum, so each reserves its cap first
(store/budget_holds.py) and the others' holds count as spent here: concurrent runs of one
installation cannot overshoot the budget together. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from swarm_core.config import SwarmConfig, merge

__all__ = ["Allowance", "Budget"]

_DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Budget:
    """A spending limit for one installation's model work."""

    limit_usd: float
    window_days: float = 30.0

    def since(self, now: float) -> float:
        """The start of the window that ends at `now` (epoch seconds)."""
        return now - self.window_days * _DAY_S

    def allowance(self, spent_usd: float) -> Allowance:
        """What is left, given what the installation spent in the window."""
        return Allowance(self, max(0.0, spent_usd))


@dataclass(frozen=True, slots=True)
class Allowance:
    """What an installation may still spend in its window."""

    budget: Budget
    spent_usd: float

    @property
    def remaining_usd(self) -> float:
        return max(0.0, self.budget.limit_usd - self.spent_usd)

    @property
    def exhausted(self) -> bool:
        """True when no model work may start (less than a hundredth of a cent left)."""
        return self.remaining_usd < 0.0001

    def _window(self) -> str:
        days = self.budget.window_days
        return f"{days:g} day" + ("" if days == 1 else "s")

    @property
    def spent_note(self) -> str:
        """Why model work did not run, for a review's notes or a command's reply."""
        return (
            f"The model budget of this installation is spent: ${self.spent_usd:.2f} of "
            f"${self.budget.limit_usd:.2f} in the last {self._window()}. Model work resumes when "
            "older runs leave the window or the operator raises SWARM_INSTALLATION_BUDGET_USD."
        )

    def cap(self, config: SwarmConfig) -> tuple[SwarmConfig, str | None]:
        """`config` with its per-run cost cap lowered to what is left, and a note when it was."""
        limit = config.llm.limits.max_cost_usd
        if self.remaining_usd >= limit:
            return config, None
        capped = merge(config, {"llm": {"limits": {"max_cost_usd": self.remaining_usd}}})
        note = (
            f"This run's model cost was capped at ${self.remaining_usd:.2f}, what is left of the "
            f"installation's ${self.budget.limit_usd:.2f} budget for the last {self._window()}."
        )
        return capped, note
