"""The model router and the price table: modes, constraints, rules, privacy, fallbacks, reasons."""

from __future__ import annotations

import pytest

from swarm_core.config import ModelsConfig
from swarm_core.errors import ConfigError, ModelSelectionError
from swarm_core.models import Usage
from swarm_core.router import Router, load_table

TABLE = load_table()


def router(available: set[str] | None = None, default: str | None = None, **policy: object) -> Router:
    providers = available if available is not None else {"openai", "anthropic", "gemini", "deepseek"}
    return Router(TABLE, ModelsConfig.model_validate(policy), providers.__contains__, default)


def test_table_rows_are_complete_and_priced_per_million() -> None:
    assert len(TABLE.models) >= 12
    mini = TABLE.get("openai/gpt-4.1-mini")
    assert mini is not None and mini.context > 100_000
    # 1M input (half cached) and 100k output at $0.40 / $0.10 cached / $1.60 per M.
    assert mini.cost(1_000_000, 100_000, 500_000) == pytest.approx(0.2 + 0.05 + 0.16)
    assert TABLE.price("openai/gpt-4.1-mini", Usage(1, 1000, 1000)) == pytest.approx(0.002)
    assert TABLE.price("unknown/model", Usage(1, 1000, 1000)) == 0.0


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("cost", "openai/gpt-4.1-nano"),
        ("quality", "anthropic/claude-sonnet-4-5"),
        ("balanced", "openai/gpt-5-mini"),
        ("speed", "anthropic/claude-haiku-4-5"),
    ],
)
def test_modes_choose_different_models(mode: str, expected: str) -> None:
    sel = router(mode=mode).select("correctness")
    assert sel.model == expected
    assert sel.reason.startswith(f"{mode} mode: best score") and "code-review" in sel.reason
    assert sel.fallbacks and sel.model not in sel.fallbacks


def test_task_type_follows_the_lane() -> None:
    r = router(mode="quality", available={"openai"})
    assert r.select("security").reason.count("for security") == 1
    assert "for docs" in r.select("docs-intent").reason


def test_constraints_filter_candidates() -> None:
    r = router(mode="quality", max_cost_per_task=0.01)
    sel = r.select("correctness", est_in=8000, est_out=1000)
    assert sel.estimated_cost <= 0.01 and sel.model != "anthropic/claude-opus-4-1"
    r = router(mode="cost", min_quality=85)
    sel = r.select("correctness")
    assert sel.quality >= 85 and sel.model == "openai/gpt-5-mini"
    with pytest.raises(ModelSelectionError, match="no model meets max_cost_per_task"):
        router(mode="quality", max_cost_per_task=1e-9).select("correctness")


def test_context_window_is_respected() -> None:
    r = router(mode="cost", available={"openai", "ollama"})
    assert r.select("correctness", est_in=8_000).model == "ollama/qwen2.5-coder:32b"  # free wins on cost
    big = r.select("correctness", est_in=200_000)  # but a local 32k window cannot hold this
    info = TABLE.get(big.model)
    assert info is not None and info.context > 201_000  # gpt-4o-mini's 128k is too small


def test_rules_lane_models_and_roles_come_first() -> None:
    r = router(
        mode="cost",
        default="openai/gpt-4.1-mini",
        lanes={"tests": "openai/gpt-4.1"},
        critic="anthropic/claude-sonnet-4-5",
        rules=[
            {
                "when": {"lane": "security"},
                "model": "anthropic/claude-opus-4-1",
                "reason": "security gets the best",
            }
        ],
    )
    assert (r.select("security").model, r.select("security").reason) == (
        "anthropic/claude-opus-4-1",
        "security gets the best",
    )
    assert (r.select("tests").model, r.select("tests").reason) == ("openai/gpt-4.1", "models.lanes.tests")
    assert r.select("critic").model == "anthropic/claude-sonnet-4-5"
    assert r.select("correctness").model == "openai/gpt-4.1-nano"  # the mode beats the default


def test_privacy_rule_and_local_only_routing() -> None:
    r = router(
        available={"openai", "ollama"},
        default="openai/gpt-4.1",
        privacy="high",
        rules=[{"when": {"privacy": "high"}, "model": "ollama/qwen2.5-coder:32b"}],
    )
    assert r.select("security").model == "ollama/qwen2.5-coder:32b"
    assert "privacy" in r.select("security").reason
    r = router(available={"openai", "ollama"}, mode="quality", privacy="high")
    assert r.select("correctness").model.startswith("ollama/")
    with pytest.raises(ModelSelectionError, match="found no local models"):
        router(available={"openai"}, mode="quality", privacy="high").select("correctness")


def test_default_model_and_fallback_chain() -> None:
    r = router(default="deepseek/deepseek-chat", fallback=["openai/gpt-4.1-mini", "deepseek/deepseek-chat"])
    sel = r.select("correctness")
    assert sel.model == "deepseek/deepseek-chat"
    assert sel.chain == ("deepseek/deepseek-chat", "openai/gpt-4.1-mini")
    assert sel.reason == "the default model (SWARM_MODEL / models.default)"
    assert "not in the price table" in router(default="openai/my-finetune").select("tests").reason
    with pytest.raises(ModelSelectionError, match="no model configured"):
        router().select("tests")
    with pytest.raises(ModelSelectionError, match="whose provider has a key set"):
        router(available=set(), mode="cost").select("tests")


def test_operator_table_overrides_and_removes_rows() -> None:
    table = load_table(
        "openai/gpt-4.1-nano: null\n"
        "openai/in-house:\n  input: 0.01\n  output: 0.02\n  context: 64000\n  quality: {code-review: 90}\n"
    )
    assert table.get("openai/gpt-4.1-nano") is None
    row = table.get("openai/in-house")
    assert row is not None and row.cached == 0.01 and row.tokens_per_s == 50
    r = Router(table, ModelsConfig(mode="cost"), {"openai"}.__contains__)
    assert r.select("correctness").model == "openai/in-house"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1", "invalid YAML"),
        ("- 1", "expected a mapping"),
        ("x/y: 3", "expected a mapping of price"),
        ("x/y: {output: 1}", "missing 'input'"),
        ("x/y: {input: cheap, output: 1}", "could not convert"),
    ],
)
def test_bad_operator_table_is_a_clear_config_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_table(text, "ops.yml")


def test_unknown_lane_in_models_config() -> None:
    with pytest.raises(ValueError, match="unknown lane 'style'"):
        ModelsConfig.model_validate({"lanes": {"style": "openai/gpt-4.1"}})


LANES = ["correctness", "security", "dependencies", "docs-intent", "tests", "performance-architecture"]


def test_cache_affinity_puts_close_lanes_on_one_model() -> None:
    off = router(mode="quality", cache_affinity=0).select_lanes(LANES)
    on = router(mode="quality").select_lanes(LANES)
    models_off = {lane: s.model for lane, s in off.items() if not isinstance(s, Exception)}
    assert len(set(models_off.values())) == 2  # each lane's own best: Sonnet and Opus
    chosen = {s.model for s in on.values() if not isinstance(s, Exception)}
    assert chosen == {"anthropic/claude-sonnet-4-5"}  # the model most lanes chose anyway
    moved = [lane for lane in LANES if models_off[lane] != "anthropic/claude-sonnet-4-5"]
    for lane in moved:
        sel = on[lane]
        assert not isinstance(sel, Exception)
        assert "shares the cached prompt prefix with 5 other lane(s)" in sel.reason
        assert sel.fallbacks[0] == "anthropic/claude-opus-4-1"


def test_cache_affinity_leaves_fixed_lanes_and_errors_alone() -> None:
    r = router(mode="balanced", lanes={"security": "openai/gpt-4.1"})
    out = r.select_lanes(LANES)
    sec = out["security"]
    assert not isinstance(sec, Exception) and sec.model == "openai/gpt-4.1"
    failing = router(available=set(), mode="cost").select_lanes(["tests"])
    assert isinstance(failing["tests"], ModelSelectionError)
