"""The council against the fake LLM server: independent rounds, rebuttal on disagreement, failures, the comment."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from swarm_core.config import SwarmConfig, merge
from swarm_core.council import COUNCIL_MARKER, council_to_markdown, run_council
from swarm_core.guardrails import Guard
from swarm_core.model_calls import ModelCaller
from swarm_core.providers import ProviderPool, endpoints_from_env
from swarm_core.router import Router, load_table
from tests.fakes.llm import FakeLLM, Reply

QUESTION = "Should we replace the REST client with gRPC?"


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


def council(llm: FakeLLM, overrides: dict[str, Any] | None = None, kind: str = "open"):
    config = merge(SwarmConfig(), {"models": {"default": "openai/gpt-4.1-mini"}, **(overrides or {})})
    pool = ProviderPool(endpoints_from_env({"OPENAI_API_KEY": llm.key or "", "OPENAI_BASE_URL": llm.url}))
    table = load_table()
    router = Router(table, config.models, pool.available, "openai/gpt-4.1-mini")

    async def fast(_: float) -> None:
        return None

    caller = ModelCaller(
        pool, table, Guard(config.llm.limits, sleep=fast), timeout_s=config.llm.limits.call_timeout_seconds
    )

    async def go():
        try:
            return await run_council(
                QUESTION, "Context: the service makes 3 calls per request.", config, router, caller, kind=kind
            )
        finally:
            await pool.aclose()

    return asyncio.run(go())


def position(stance: str, confidence: float) -> Reply:
    return Reply(
        {
            "stance": stance,
            "position": f"{stance} it.",
            "arguments": ["a", "b"],
            "confidence": confidence,
            "uncertainties": ["load"],
        }
    )


def test_agreement_needs_no_rebuttal(llm: FakeLLM) -> None:
    result = council(llm)
    assert [m.stance for m in result.members] == ["FOR", "FOR", "FOR"]
    assert not result.disagreement and llm.calls("rebuttal") == []
    assert result.verdict == "FOR" and result.recommendation == "Go ahead."
    # Members answer independently: no member's prompt holds another member's position.
    assert all("Do it." not in c.last_user for c in llm.calls("council"))
    assert result.usage.calls == 4


def test_disagreement_gets_one_rebuttal_round_and_dissent_is_recorded(llm: FakeLLM) -> None:
    llm.script("council", "advocate", position("FOR", 0.8))
    llm.script("council", "challenger", position("AGAINST", 0.7))
    llm.script("council", "domain-expert", position("FOR", 0.6))
    llm.script(
        "rebuttal",
        "challenger",
        Reply(
            {
                "response": "nuance",
                "stance": "MIXED",
                "argument": "only for internal calls",
                "confidence": 0.5,
            }
        ),
    )
    llm.script(
        "moderator",
        "",
        Reply(
            {
                "verdict": "for",
                "recommendation": "Adopt gRPC internally.",
                "rationale": ["latency"],
                "dissent": ["challenger: keep REST public"],
            }
        ),
    )
    result = council(llm)
    assert result.disagreement
    (rebuttal,) = llm.calls("rebuttal")
    assert rebuttal.lane == "challenger" and "advocate (FOR, 0.8): FOR it." in rebuttal.last_user
    challenger = next(m for m in result.members if m.name == "challenger")
    assert (challenger.rebuttal, challenger.stance) == ("NUANCE", "MIXED")
    assert result.verdict == "FOR" and result.dissent == ("challenger: keep REST public",)
    md = council_to_markdown(result)
    assert md.rstrip().endswith(COUNCIL_MARKER)
    assert "**Verdict: FOR**" in md and "<details><summary>challenger: MIXED (0.50)</summary>" in md
    assert "Rebuttal: **NUANCE** only for internal calls" in md


def test_a_member_that_times_out_or_returns_garbage_is_reported_and_the_council_goes_on(llm: FakeLLM) -> None:
    llm.script("council", "advocate", Reply(status=500), Reply(status=500), Reply(status=500))
    llm.script("council", "challenger", Reply(text="I refuse to answer in JSON"))
    llm.script("repair", "", Reply(text="still no"))
    result = council(llm, {"llm": {"limits": {"breaker_threshold": 5}}})
    failed = {m.name: m.error for m in result.members if m.error}
    assert set(failed) == {"advocate", "challenger"}
    assert "ProviderUnavailable" in failed["advocate"] and "MalformedOutput" in failed["challenger"]
    assert result.error == "the council needs two members; 1 answered"
    assert "Failed: ProviderUnavailable" in council_to_markdown(result)


def test_pr_questions_use_pr_verdicts_and_members_may_use_their_own_model(llm: FakeLLM) -> None:
    llm.default("council", "", position("CONCERNS", 0.6))
    llm.script("moderator", "", Reply({"verdict": "CONCERNS", "recommendation": "Fix the retry loop first."}))
    members = [
        {"name": "advocate", "role": "for", "model": "openai/gpt-4.1"},
        {"name": "challenger", "role": "against"},
    ]
    result = council(llm, {"council": {"members": members}}, kind="pr")
    assert result.verdict == "CONCERNS"
    models = {c.lane: c.body["model"] for c in llm.calls("council")}
    assert models == {"advocate": "gpt-4.1", "challenger": "gpt-4.1-mini"}


def test_cli_council(llm: FakeLLM) -> None:
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {
        **os.environ,
        "OPENAI_API_KEY": llm.key or "",
        "OPENAI_BASE_URL": llm.url,
        "SWARM_MODEL": "openai/gpt-4.1-mini",
    }
    out = subprocess.run(
        [sys.executable, "-m", "swarm_cli", "council", QUESTION, "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["verdict"] == "FOR" and [m["name"] for m in data["members"]] == [
        "advocate",
        "challenger",
        "domain-expert",
    ]
    env.pop("SWARM_MODEL")
    none = subprocess.run(
        [sys.executable, "-m", "swarm_cli", "council", QUESTION],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert none.returncode == 2 and "The council needs a model" in none.stderr


def test_a_member_that_times_out_fails_alone(llm: FakeLLM) -> None:
    llm.script("council", "challenger", Reply(hang=True))
    result = council(llm, {"llm": {"limits": {"call_timeout_seconds": 0.3, "retries": 1}}})
    (failed,) = [m for m in result.members if m.error]
    assert failed.name == "challenger" and "did not answer within 0.3 s" in failed.error
    assert result.verdict == "FOR" and not result.error  # two members are enough


def test_cli_council_stores_the_run_with_every_request_as_evidence(llm: FakeLLM) -> None:
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    # One member fails once (a 500, retried), so the evidence must hold the failed attempt too.
    llm.script("council", "challenger", Reply(status=500))
    env = {
        **os.environ,
        "OPENAI_API_KEY": llm.key or "",
        "OPENAI_BASE_URL": llm.url,
        "SWARM_MODEL": "openai/gpt-4.1-mini",
    }

    def swarm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "swarm_cli", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )

    out = swarm("council", QUESTION, "--format", "json")
    assert out.returncode == 0, out.stderr
    run_id = json.loads(out.stdout)["run_id"]
    shown = json.loads(swarm("runs", "show", run_id, "--format", "json").stdout)
    assert shown["run_id"] == run_id and shown["verdict"] == "FOR" and shown["question"] == QUESTION
    evidence = json.loads(swarm("runs", "show", run_id, "--evidence", "--format", "json").stdout)
    rows = [(e["lane"], e["outcome"]) for e in evidence["exchanges"]]
    assert len(rows) == len(llm.requests) == 5  # three members (one retried) and the moderator
    assert ("challenger", "ProviderUnavailable") in rows and rows.count(("challenger", "ok")) == 1
    assert evidence["usage"]["calls"] == 4
    listed = {r["id"]: r for r in json.loads(swarm("runs", "list", "--format", "json").stdout)}
    assert listed[run_id]["kind"] == "council" and listed[run_id]["verdict"] == "FOR"
    # Markdown output keeps stdout for the report; the run id goes to stderr.
    text = swarm("council", QUESTION)
    assert text.returncode == 0 and "swarm council" in text.stdout and "run " not in text.stdout
    assert "stored; `swarm runs show" in text.stderr
    unstored = swarm("council", QUESTION, "--format", "json", "--no-store")
    assert json.loads(unstored.stdout)["run_id"] is None
    assert len(json.loads(swarm("runs", "list", "--format", "json").stdout)) == 2


def test_the_readme_council_run_id_example_works(llm: FakeLLM) -> None:
    import re
    import subprocess

    from tests.conftest import ROOT
    from tests.helpers import readme_block, shell_env

    first, second = readme_block("swarm council")
    env = shell_env(OPENAI_API_KEY=llm.key or "", OPENAI_BASE_URL=llm.url, SWARM_MODEL="openai/gpt-4.1-mini")

    def sh(line: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )

    run_id = sh(first).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{12}", run_id)
    shown = sh(second.replace("RUN_ID", run_id)).stdout
    assert f"evidence of run {run_id}" in shown and "total: 4 request(s), 4 answered" in shown
