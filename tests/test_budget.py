"""Per-installation model budgets: what is left, the lowered cap, the notes (pure)."""

from __future__ import annotations

import pytest

from swarm_core.budget import Budget
from swarm_core.config import SwarmConfig, merge
from swarm_core.errors import ConfigError


def test_the_window_and_what_is_left() -> None:
    budget = Budget(10.0, window_days=7)
    assert budget.since(1_000_000.0) == 1_000_000.0 - 7 * 86_400
    assert budget.allowance(3.5).remaining_usd == 6.5
    assert budget.allowance(12.0).remaining_usd == 0.0 and budget.allowance(12.0).exhausted
    assert budget.allowance(9.99995).exhausted  # less than a hundredth of a cent left
    assert not budget.allowance(0.0).exhausted


def test_a_run_is_capped_at_what_is_left_and_only_then() -> None:
    config = merge(SwarmConfig(), {"llm": {"limits": {"max_cost_usd": 2.0}}})
    capped, note = Budget(10.0).allowance(9.25).cap(config)
    assert capped.llm.limits.max_cost_usd == pytest.approx(0.75)
    assert note is not None and "capped at $0.75" in note and "last 30 days" in note
    assert config.llm.limits.max_cost_usd == 2.0  # the input is unchanged
    same, none = Budget(10.0).allowance(1.0).cap(config)
    assert same is config and none is None  # $9 left is more than the run's own $2 cap


def test_the_spent_note_names_the_budget_and_the_setting() -> None:
    note = Budget(5.0, window_days=1).allowance(5.4).spent_note
    assert "$5.40 of $5.00 in the last 1 day." in note and "SWARM_INSTALLATION_BUDGET_USD" in note


def test_the_app_settings_read_the_budget() -> None:
    from app.settings import load_settings

    assert load_settings({}).budget() is None
    budget = load_settings({"SWARM_INSTALLATION_BUDGET_USD": "25", "SWARM_BUDGET_WINDOW_DAYS": "7"}).budget()
    assert budget == Budget(25.0, 7.0)
    with pytest.raises(ConfigError, match="SWARM_INSTALLATION_BUDGET_USD"):
        load_settings({"SWARM_INSTALLATION_BUDGET_USD": "-1"})
