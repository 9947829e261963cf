"""The review pipeline as stages: imports flow one way, modules stay small, failures leave a traceback."""

from __future__ import annotations

import ast
import asyncio
import logging
import re
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest
from pydantic import ValidationError

from swarm_core.changeset import ChangeSet, from_git
from swarm_core.config import SwarmConfig, merge
from swarm_core.errors import MalformedOutput
from swarm_core.models import AnalyzerStatus, Finding, LaneStatus, Review
from swarm_core.orchestrator import Orchestrator
from swarm_core.providers import ProviderPool, endpoints_from_env
from swarm_core.sql_memory import SqlMemory, memory_engine
from tests.conftest import ROOT
from tests.fakes.llm import FakeLLM, Reply, lane_reply

STAGES = ["select", "analyze", "lanes", "lane", "verify", "learnings", "verdict"]
PIPELINE = [
    "swarm_core/orchestrator.py",
    "swarm_core/citations.py",
    "swarm_core/model_calls.py",
    "swarm_core/prompts/__init__.py",
    *(f"swarm_core/lanes/{m}.py" for m in ("__init__", "context", "job", "schema")),
    *(f"swarm_core/stages/{m}.py" for m in ("__init__", *STAGES)),
]
RUN_ID = re.compile(r"^[0-9a-f]{12}$")


def _imports(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}


def test_orchestrator_calls_every_stage_and_stages_never_reach_back() -> None:
    stage_modules = {f"swarm_core.stages.{s}" for s in STAGES}
    assert stage_modules - {"swarm_core.stages.lane"} <= _imports("swarm_core/orchestrator.py")
    reach = {
        s: sorted(
            m
            for m in _imports(f"swarm_core/stages/{s}.py")
            if m in stage_modules | {"swarm_core.orchestrator"}
        )
        for s in STAGES
    }
    assert reach == {s: (["swarm_core.stages.lane"] if s == "lanes" else []) for s in STAGES}


def test_helpers_below_the_stages_import_no_stage() -> None:
    helpers = [p for p in PIPELINE if "/stages/" not in p and not p.endswith("orchestrator.py")]
    offenders = {
        p: sorted(
            m for m in _imports(p) if m.startswith("swarm_core.stages") or m == "swarm_core.orchestrator"
        )
        for p in helpers
    }
    assert offenders == {p: [] for p in helpers}


def test_pipeline_modules_stay_under_450_lines() -> None:
    sizes = {p: len((ROOT / p).read_text(encoding="utf-8").splitlines()) for p in PIPELINE}
    assert {p: n for p, n in sizes.items() if n > 450} == {}


def test_the_documented_path_names_modules_that_exist() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "```mermaid\nflowchart" in text
    path = text.split("## The path of one change", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`(swarm_core/[\w/]+(?:\.py|/))`", path)
    stages = [n for n in named if n.startswith("swarm_core/stages/")]
    assert stages == [f"swarm_core/stages/{s}.py" for s in STAGES]
    assert [n for n in named if not (ROOT / n).exists()] == []


# -- failures leave a traceback ----------------------------------------------------------------

HEAD = "import subprocess\n\n\ndef run(cmd, retries=3):\n    return subprocess.call(cmd, shell=True)\n"
MODEL = "openai/gpt-4.1-mini"
FINDING = {
    "path": "app.py",
    "line": 5,
    "severity": "medium",
    "category": "error handling",
    "title": "result unchecked",
    "evidence": "return subprocess.call(cmd, shell=True)",
    "confidence": 0.8,
}
ONLY_CORRECTNESS = {
    "lanes": {
        n: n == "correctness"
        for n in (
            "correctness",
            "security",
            "dependencies",
            "docs-intent",
            "tests",
            "performance-architecture",
        )
    }
}


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture
def change(make_repo: Any) -> ChangeSet:
    repo = make_repo()
    repo.commit({"app.py": "import os\n"})
    repo.commit({"app.py": HEAD})
    return from_git(repo.path, "HEAD~1", "HEAD")


class _BrokenMemory(SqlMemory):
    """Swarm memory with a bug: storing a note raises what no lane expects."""

    async def set(
        self, namespace: str, key: str, value: Any, *, ttl: float | None = None, created_by: str = ""
    ) -> None:
        raise KeyError(key)


class _CrashingAnalyzer:
    name = "crashing"

    def unavailable(self, ctx: Any) -> str | None:
        return None

    async def run(self, ctx: Any) -> list[Finding]:
        raise RuntimeError("analyzer bug")


async def _noop(_seconds: float) -> None:
    return None


def _review(llm: FakeLLM | None, change: ChangeSet, **kwargs: Any) -> Review:
    providers = (
        ProviderPool(endpoints_from_env({"OPENAI_API_KEY": llm.key, "OPENAI_BASE_URL": llm.url}))
        if llm is not None
        else None
    )
    kwargs.setdefault("analyzers", [])
    orch = Orchestrator(
        merge(SwarmConfig(), ONLY_CORRECTNESS),
        model=MODEL if llm is not None else None,
        providers=providers,
        sleep=_noop,
        **kwargs,
    )
    return asyncio.run(orch.review(change))


def _records(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger]


def test_a_failed_lane_logs_one_record_with_its_traceback_and_cause(
    llm: FakeLLM, change: ChangeSet, caplog: pytest.LogCaptureFixture
) -> None:
    llm.script("lane", "correctness", Reply(text="<html>502 Bad Gateway</html>"))
    llm.script("repair", "", Reply(content={"findings": [{"path": "app.py"}]}))
    with caplog.at_level(logging.WARNING):
        r = _review(llm, change)
    assert [lr.status for lr in r.lanes if lr.lane.value == "correctness"] == [LaneStatus.FAILED]
    (record,) = _records(caplog, "swarm_core.stages.lane")
    assert record.levelno == logging.ERROR
    assert record.__dict__["lane"] == "correctness"
    run_id = record.__dict__["run_id"]
    assert RUN_ID.match(run_id) and run_id in record.getMessage()
    assert record.exc_info is not None
    error = record.exc_info[1]
    assert isinstance(error, MalformedOutput)
    assert isinstance(error.__cause__, ValidationError)  # the parse error is kept, not dropped
    assert "Traceback (most recent call last)" in caplog.text


def test_a_bug_in_a_lane_is_logged_with_the_traceback_of_the_bug(
    llm: FakeLLM, change: ChangeSet, caplog: pytest.LogCaptureFixture
) -> None:
    llm.script("lane", "correctness", lane_reply(FINDING, notes=[{"key": "k", "value": "v"}]))
    with caplog.at_level(logging.WARNING):
        r = _review(llm, change, memory=_BrokenMemory(memory_engine()))
    (lane,) = [lr for lr in r.lanes if lr.lane.value == "correctness"]
    assert (lane.status, lane.note) == (LaneStatus.FAILED, "internal error: KeyError: 'correctness/k'")
    (record,) = _records(caplog, "swarm_core.stages.lane")
    assert record.exc_info is not None and isinstance(record.exc_info[1], KeyError)
    assert "in set\n    raise KeyError(key)" in caplog.text


def test_a_crashing_analyzer_logs_its_traceback_with_the_run_id(
    change: ChangeSet, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        r = _review(None, change, analyzers=[_CrashingAnalyzer()])
    assert [(a.name, a.status, a.reason) for a in r.analyzers] == [
        ("crashing", AnalyzerStatus.ERROR, "RuntimeError: analyzer bug")
    ]
    (record,) = _records(caplog, "swarm_core.analyzers")
    assert record.levelno == logging.ERROR
    assert record.__dict__["analyzer"] == "crashing"
    assert RUN_ID.match(record.__dict__["run_id"])
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert 'raise RuntimeError("analyzer bug")' in caplog.text


def test_a_clean_review_logs_nothing_at_warning(
    llm: FakeLLM, change: ChangeSet, caplog: pytest.LogCaptureFixture
) -> None:
    llm.script("lane", "correctness", lane_reply(FINDING))
    with caplog.at_level(logging.WARNING):
        r = _review(llm, change)
    assert [(f.path, f.line, f.verification.value) for f in r.findings] == [("app.py", 5, "CONFIRMED")]
    assert [r.getMessage() for r in caplog.records] == []


def test_one_change_visits_each_stage_once_in_order(llm: FakeLLM, change: ChangeSet) -> None:
    """Follow a review call by call: the stage modules it enters, consecutive repeats folded."""
    llm.script("lane", "correctness", lane_reply(FINDING))
    entered: list[str] = []
    frames: list[FrameType] = []  # kept alive so that a resumed coroutine is not counted twice

    def on_call(frame: FrameType, event: str, _arg: object) -> None:
        name = frame.f_globals.get("__name__", "")
        if event != "call" or not (name == "swarm_core.orchestrator" or name.startswith("swarm_core.stages")):
            return
        if any(f is frame for f in frames):
            return
        frames.append(frame)
        short = name.removeprefix("swarm_core.")
        if not entered or entered[-1] != short:
            entered.append(short)

    sys.setprofile(on_call)
    try:
        r = _review(llm, change)
    finally:
        sys.setprofile(None)
    assert r.verdict.value == "APPROVE_WITH_NOTES"
    # The orchestrator is the spine; `lanes` regains control when its lane returns.
    assert entered == [
        "orchestrator",
        "stages.select",
        "stages.analyze",
        "orchestrator",
        "stages.lanes",
        "stages.lane",
        "stages.lanes",
        "orchestrator",
        "stages.verify",
        "stages.learnings",
        "stages.verdict",
        "orchestrator",
    ]
