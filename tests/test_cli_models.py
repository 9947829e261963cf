"""`swarm pr-review` with model lanes, as a user runs it: environment, flags, evidence and costs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fakes.llm import FakeLLM, lane_reply

PATCH = str(ROOT / "examples" / "leaky-deploy.patch")
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8aB3vN1p"
RESTART = {
    "path": "app/deploy.py",
    "line": 15,
    "severity": "high",
    "category": "error handling",
    "title": "restart ignores a failed restart",
    "claim": "the exit status of systemctl is returned but never checked by callers",
    "evidence": 'return subprocess.call("systemctl restart " + service, shell=True)',
    "symbols": ["restart"],
    "confidence": 0.8,
}


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


def swarm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swarm_cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def openai_env(llm: FakeLLM, **extra: str) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": llm.key or "",
        "OPENAI_BASE_URL": llm.url,
        "SWARM_MODEL": "openai/gpt-4.1-mini",
        **extra,
    }


def test_pr_review_with_openai_compatible_server(llm: FakeLLM) -> None:
    llm.script("lane", "correctness", lane_reply(RESTART))
    result = swarm("pr-review", "--patch", PATCH, "--format", "json", env=openai_env(llm))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [lane["status"] for lane in data["lanes"]] == ["ok"] * 6
    assert {lane["model"] for lane in data["lanes"]} == {"openai/gpt-4.1-mini"}
    model = [f for f in data["findings"] if f["source"].startswith("model:")]
    assert [(f["path"], f["line"], f["severity"], f["verification"]) for f in model] == [
        ("app/deploy.py", 15, "high", "CONFIRMED")
    ]
    assert data["usage"]["calls"] == 8 and data["usage"]["cost_usd"] > 0
    assert data["verdict"] == "BLOCK"  # the analyzers' confirmed CRITICAL secrets
    # The AWS secret the secrets analyzer found never went to the model.
    assert all(AWS_SECRET not in r.prompt for r in llm.requests)


def test_evidence_and_costs_are_stored_and_shown(llm: FakeLLM, tmp_path: Path) -> None:
    llm.script(
        "lane", "correctness", lane_reply(RESTART, notes=[{"key": "shell", "value": "restart uses a shell"}])
    )
    env = openai_env(llm)
    assert swarm("pr-review", "--patch", PATCH, "--format", "json", env=env).returncode == 0
    runs = json.loads(swarm("runs", "list", "--format", "json").stdout)
    run_id = runs[0]["id"]
    shown = swarm("runs", "show", run_id[:6], "--evidence", "--format", "json", "--full")
    assert shown.returncode == 0, shown.stderr
    ev = json.loads(shown.stdout)
    kinds = [(e["kind"], e["lane"]) for e in ev["exchanges"] if e["kind"] != "context"]
    assert (
        ("lane", "correctness") in kinds
        and ("reviewer", "correctness") in kinds
        and ("critic", "correctness") in kinds
    )
    assert len([k for k in kinds if k[0] == "lane"]) == 6
    lane_call = next(e for e in ev["exchanges"] if e["kind"] == "lane")
    assert len(lane_call["prompt_hash"]) == 16 and lane_call["usage"]["input_tokens"] > 0
    assert lane_call["latency_s"] >= 0 and lane_call["outcome"] == "ok"
    assert ev["memory"] == [{"key": "correctness/shell", "value": "restart uses a shell"}]
    text = json.dumps(ev)
    assert AWS_SECRET not in text and (llm.key or "") not in text
    assert "[redacted" in text  # the secret's line was in the shared context, redacted
    table = swarm("runs", "show", run_id, "--evidence")
    assert table.returncode == 0 and "evidence of run" in table.stdout and "correctness/shell" in table.stdout
    cost = json.loads(swarm("runs", "cost", "--by", "lane", "--format", "json").stdout)
    by_lane = {row["lane"]: row for row in cost}
    assert by_lane["correctness"]["calls"] == 3 and by_lane["security"]["calls"] == 1
    assert sum(r["cost_usd"] for r in cost) == pytest.approx(ev["usage"]["cost_usd"], rel=1e-3)
    by_model = json.loads(swarm("runs", "cost", "--by", "model", "--format", "json").stdout)
    assert [r["model"] for r in by_model] == ["openai/gpt-4.1-mini"]
    assert "openai/gpt-4.1-mini" in swarm("runs", "cost", "--by", "model").stdout


def test_flags_route_and_cap(llm: FakeLLM) -> None:
    env = {"OPENAI_API_KEY": llm.key or "", "OPENAI_BASE_URL": llm.url}
    result = swarm(
        "pr-review", "--patch", PATCH, "--format", "json", "--optimize", "cost", "--no-store", env=env
    )
    data = json.loads(result.stdout)
    (chosen,) = {lane["model"] for lane in data["lanes"]}
    assert chosen in ("openai/gpt-4.1-nano", "openai/gpt-4o-mini")  # the two cheapest OpenAI models
    assert all("cost mode" in lane["model_reason"] for lane in data["lanes"])
    capped = swarm(
        "pr-review",
        "--patch",
        PATCH,
        "--format",
        "json",
        "--model",
        "openai/gpt-4.1",
        "--max-cost",
        "0.000001",
        "--no-store",
        env=env,
    )
    data = json.loads(capped.stdout)
    assert {lane["status"] for lane in data["lanes"]} == {"cut"}, data["lanes"]
    assert any("max_cost_usd" in n for n in data["notes"])
    assert data["verdict"] == "BLOCK"  # the analyzers' findings are still reported


def test_sequential_and_council_flags(llm: FakeLLM) -> None:
    result = swarm(
        "pr-review", "--patch", PATCH, "--mode", "sequential", "--council", "--no-store", env=openai_env(llm)
    )
    assert result.returncode == 0, result.stderr
    assert [c.lane for c in llm.calls("lane")][:2] == ["correctness", "security"]
    assert all("assume this change is wrong" in c.last_user for c in llm.calls("lane"))


def test_anthropic_only_setup(llm: FakeLLM) -> None:
    env = {
        "ANTHROPIC_API_KEY": llm.key or "",
        "ANTHROPIC_BASE_URL": llm.anthropic_url,
        "SWARM_MODEL": "anthropic/claude-haiku-4-5",
    }
    result = swarm("pr-review", "--patch", PATCH, "--format", "json", "--no-store", env=env)
    data = json.loads(result.stdout)
    assert {lane["status"] for lane in data["lanes"]} == {"ok"}
    assert {r.api for r in llm.requests} == {"anthropic"}


def test_keys_from_a_secrets_file(llm: FakeLLM, tmp_path: Path) -> None:
    secrets = tmp_path / "swarm.env"
    secrets.write_text(f"# provider keys\nexport OPENAI_API_KEY='{llm.key}'\n", encoding="utf-8")
    env = {
        "SWARM_SECRETS_FILE": str(secrets),
        "OPENAI_BASE_URL": llm.url,
        "SWARM_MODEL": "openai/gpt-4.1-mini",
    }
    result = swarm("pr-review", "--patch", PATCH, "--format", "json", "--no-store", env=env)
    assert {lane["status"] for lane in json.loads(result.stdout)["lanes"]} == {"ok"}
    secrets.write_text("OPENAI_API_KEY\n", encoding="utf-8")
    bad = swarm("pr-review", "--patch", PATCH, "--no-store", env=env)
    assert bad.returncode == 2 and "expected KEY=VALUE" in bad.stderr and "Traceback" not in bad.stderr


def test_missing_key_fails_the_lanes_with_a_clear_note() -> None:
    result = swarm(
        "pr-review",
        "--patch",
        PATCH,
        "--format",
        "json",
        "--no-store",
        env={"SWARM_MODEL": "openai/gpt-4.1-mini"},
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {lane["status"] for lane in data["lanes"]} == {"failed"}
    assert "needs OPENAI_API_KEY" in data["lanes"][0]["note"]


def test_bad_model_name_is_a_usage_error() -> None:
    result = swarm("pr-review", "--patch", PATCH, "--no-store", env={"SWARM_MODEL": "gpt-4"})
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "swarm: error: model 'gpt-4' must be written provider/model, for example openai/gpt-4.1-mini"
    )


def test_no_llm_flag_keeps_the_deterministic_default(llm: FakeLLM) -> None:
    result = swarm(
        "pr-review", "--patch", PATCH, "--format", "json", "--no-llm", "--no-store", env=openai_env(llm)
    )
    assert {lane["status"] for lane in json.loads(result.stdout)["lanes"]} == {"deterministic"}
    assert llm.requests == []


def test_operator_models_file(llm: FakeLLM, tmp_path: Path) -> None:
    table = tmp_path / "models.yml"
    table.write_text(
        "openai/house:\n  input: 0.001\n  output: 0.001\n  quality: {code-review: 99}\n", encoding="utf-8"
    )
    env = {"OPENAI_API_KEY": llm.key or "", "OPENAI_BASE_URL": llm.url, "SWARM_MODELS_FILE": str(table)}
    result = swarm(
        "pr-review", "--patch", PATCH, "--format", "json", "--optimize", "cost", "--no-store", env=env
    )
    lanes = json.loads(result.stdout)["lanes"]
    assert lanes[0]["model"] == "openai/house"
    table.write_text("openai/house: {output: 1}\n", encoding="utf-8")
    bad = swarm("pr-review", "--patch", PATCH, "--no-store", env=env)
    assert bad.returncode == 2 and "missing 'input'" in bad.stderr
