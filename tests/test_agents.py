"""Agents on the LLM backend and on a real OpenCode server (`opencode serve`) driven by the fake model."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from swarm_core.agents import AgentEvent, OpenCode, built_in_agents, run_agents
from swarm_core.config import SwarmConfig, merge
from swarm_core.providers import ProviderPool, endpoints_from_env
from tests.conftest import ROOT
from tests.fakes.llm import FakeLLM, Reply

OPENCODE = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "opencode"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`opencode serve` whose only provider is the fake OpenAI-compatible server."""

    def __init__(self, llm: FakeLLM, tmp: Path, extra: dict[str, Any] | None = None) -> None:
        self.port = _port()
        config = {
            "$schema": "https://opencode.ai/config.json",
            "provider": {
                "fake": {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "Fake",
                    "options": {"baseURL": llm.url, "apiKey": "unused"},
                    "models": {"test-model": {"name": "Test model"}},
                }
            },
            "model": "fake/test-model",
            "autoupdate": False,
            **(extra or {}),
        }
        (tmp / "home").mkdir()
        (tmp / "work").mkdir()
        (tmp / "opencode.json").write_text(json.dumps(config))
        env = {
            **os.environ,
            "HOME": str(tmp / "home"),
            "OPENCODE_CONFIG": str(tmp / "opencode.json"),
            "OPENCODE_DISABLE_MODELS_FETCH": "1",
            "OPENCODE_DISABLE_AUTOUPDATE": "1",
            "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
            "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
            "OPENCODE_DISABLE_SHARE": "1",
        }
        self.proc = subprocess.Popen(
            [str(OPENCODE), "serve", "--hostname", "127.0.0.1", "--port", str(self.port)],
            cwd=tmp / "work",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/global/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("opencode serve did not start")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM(key=None) as fake:
        fake.default("other", "", Reply(text="The answer is 42."))
        yield fake


@pytest.fixture
def opencode_server(llm: FakeLLM, tmp_path: Path) -> Iterator[Server]:
    if not OPENCODE.exists():
        pytest.skip("the OpenCode server is not installed: npm is missing (.ci/run installs opencode-ai)")
    server = Server(llm, tmp_path)
    yield server
    server.kill()


def _config(url: str) -> SwarmConfig:
    return merge(
        SwarmConfig(),
        {
            "opencode_url": url,
            "agents": [
                {
                    "name": "explorer",
                    "role": "You read code and answer questions.",
                    "backend": "opencode",
                    "model": "fake/test-model",
                },
                {
                    "name": "writer",
                    "role": "You summarise.",
                    "backend": "opencode",
                    "model": "fake/test-model",
                    "timeout_seconds": 8,
                },
            ],
        },
    )


def run(config: SwarmConfig, names: list[str], **kw: Any) -> list[Any]:
    pool = ProviderPool(endpoints_from_env({}))
    return asyncio.run(run_agents("What is 6*7?", names, config, pool, **kw)).results


def test_opencode_agent_end_to_end(opencode_server: Server, llm: FakeLLM) -> None:
    (result,) = run(_config(opencode_server.url), ["explorer"])
    assert result.status == "ok", result.error
    assert result.output == "The answer is 42." and result.model == "fake/test-model"
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert len(llm.calls()) == 1 and llm.requests[0].body["model"] == "test-model"
    # The agent's role went along as the system prompt; read-only tools unless whitelisted.
    assert "You read code and answer questions." in llm.requests[0].prompt

    async def leftovers() -> list[dict[str, Any]]:
        oc = OpenCode(opencode_server.url)
        try:
            return [s for s in await oc.sessions() if str(s.get("title", "")).startswith("swarm:")]
        finally:
            await oc.aclose()

    assert asyncio.run(leftovers()) == []  # the session was deleted


def test_opencode_progress_comes_from_the_event_stream(opencode_server: Server, llm: FakeLLM) -> None:
    # A model still writing (pieces 0.3 s apart): OpenCode's events arrive while it works.
    llm.default("other", "", Reply(text="The answer is 42. " * 4, chunk_delay=0.3))
    events: list[AgentEvent] = []
    pool = ProviderPool(endpoints_from_env({}))
    run = asyncio.run(
        run_agents("What is 6*7?", ["explorer"], _config(opencode_server.url), pool, on_event=events.append)
    )
    assert run.status == "ok" and run.results[0].output == "The answer is 42. " * 4
    kinds = [e.kind for e in events]
    # start (swarm), then OpenCode's own step and text events from GET /event, then done.
    assert kinds[0] == "start" and kinds[-1] == "done" and events[-1].detail == "ok"
    assert "step" in kinds and "text" in kinds, kinds
    assert all(e.agent == "explorer" for e in events)
    # One evidence record for the OpenCode task, with its tokens.
    (ex,) = run.exchanges
    assert ex.kind == "agent" and ex.lane == "explorer" and ex.usage.input_tokens > 0


def test_a_stopped_server_fails_the_task_by_its_health_check(opencode_server: Server, llm: FakeLLM) -> None:
    """A server that hangs (SIGSTOP) keeps the connection open: only the health watch ends the wait."""
    llm.default("other", "", Reply(text="late", delay=30))
    config = _config(opencode_server.url)

    async def go() -> Any:
        opencode = OpenCode(opencode_server.url, watch_s=0.5)
        pool = ProviderPool(endpoints_from_env({}))
        task = asyncio.create_task(run_agents("slow task", ["explorer"], config, pool, opencode=opencode))
        await asyncio.sleep(1.5)
        os.kill(opencode_server.proc.pid, signal.SIGSTOP)
        try:
            started = time.perf_counter()
            run = await task
            return run, time.perf_counter() - started
        finally:
            os.kill(opencode_server.proc.pid, signal.SIGCONT)
            await opencode.aclose()

    run, waited = asyncio.run(go())
    (result,) = run.results
    assert result.status == "failed" and "stopped answering its health check" in result.error
    assert waited < 10  # not the agent's 300 s timeout


def test_a_killed_server_mid_task_is_a_failed_result_not_a_hang(
    opencode_server: Server, llm: FakeLLM
) -> None:
    llm.default("other", "", Reply(text="late", delay=10))
    config = _config(opencode_server.url)
    started = time.perf_counter()

    async def go() -> Any:
        pool = ProviderPool(endpoints_from_env({}))
        task = asyncio.create_task(run_agents("slow task", ["writer"], config, pool))
        await asyncio.sleep(2)
        opencode_server.kill()
        return (await task).results

    (result,) = asyncio.run(go())
    assert result.status == "failed" and time.perf_counter() - started < 20
    assert "ProviderError" in result.error or "TimeoutError" in result.error


def test_sessions_left_by_a_crash_are_cleaned_up(opencode_server: Server) -> None:
    async def go() -> tuple[int, int]:
        oc = OpenCode(opencode_server.url)
        try:
            async with httpx.AsyncClient(base_url=opencode_server.url) as c:
                await c.post("/session", json={"title": "swarm:explorer"})
                await c.post("/session", json={"title": "someone else's"})
            removed = await oc.cleanup()
            left = [s for s in await oc.sessions() if str(s.get("title", "")).startswith("swarm:")]
            return removed, len(left)
        finally:
            await oc.aclose()

    assert asyncio.run(go()) == (1, 0)


def test_llm_agent_uses_its_own_sampling_settings(llm: FakeLLM) -> None:
    llm.default("other", "", Reply({"result": "done"}))
    config = merge(
        SwarmConfig(),
        {"agents": [{"name": "planner", "role": "You plan.", "temperature": 0.7, "max_tokens": 300}]},
    )
    pool = ProviderPool(endpoints_from_env({"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": llm.url}))
    run = asyncio.run(run_agents("Plan it", ["planner"], config, pool, model="openai/gpt-4.1-mini"))
    assert run.status == "ok"
    body = llm.requests[0].body
    assert body["temperature"] == 0.7 and (body.get("max_tokens") or body.get("max_completion_tokens")) == 300


def test_cli_exec_stores_the_run(llm: FakeLLM, tmp_path: Path) -> None:
    llm.default("other", "", Reply({"result": "a plan"}))
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-test-0000",
        "OPENAI_BASE_URL": llm.url,
        "SWARM_MODEL": "openai/gpt-4.1-mini",
        "SWARM_DATA_DIR": str(tmp_path),
    }

    def swarm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "swarm_cli", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )

    out = swarm("exec", "--task", "Plan the migration", "--agents", "correctness,security")
    assert out.returncode == 0, out.stderr
    assert "· correctness: start openai/gpt-4.1-mini" in out.stderr and "· security: done ok" in out.stderr
    run_id = out.stdout.strip().splitlines()[-1].split()[1].rstrip(":")
    shown = json.loads(swarm("runs", "show", run_id, "--format", "json").stdout)
    assert shown["run_id"] == run_id and shown["status"] == "ok" and shown["task"] == "Plan the migration"
    assert [(r["name"], r["output"]) for r in shown["results"]] == [
        ("correctness", "a plan"),
        ("security", "a plan"),
    ]
    assert "== security [llm] ok" in swarm("runs", "show", run_id).stdout
    evidence = json.loads(swarm("runs", "show", run_id, "--evidence", "--format", "json").stdout)
    assert sorted(e["lane"] for e in evidence["exchanges"]) == ["correctness", "security"]
    assert evidence["usage"]["calls"] == 2
    listed = {r["id"]: r for r in json.loads(swarm("runs", "list", "--format", "json").stdout)}
    assert listed[run_id]["kind"] == "exec" and listed[run_id]["verdict"] == "ok"
    cost = swarm("runs", "cost", "--by", "kind", "--format", "json")
    assert any(
        row.get("kind") == "agent" or row.get("group") == "agent" for row in json.loads(cost.stdout)
    ), cost.stdout
    # --no-store prints the same results and stores nothing.
    unstored = swarm("exec", "--task", "Plan it again", "--agents", "security", "--no-store")
    assert (
        unstored.returncode == 0 and "a plan" in unstored.stdout and "run (not stored): ok" in unstored.stdout
    )
    after = json.loads(swarm("runs", "list", "--format", "json").stdout)
    assert [r["id"] for r in after] == list(listed)


def test_llm_backend_modes(llm: FakeLLM) -> None:
    llm.default("other", "", Reply({"result": "done"}))
    pool_env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": llm.url}
    config = SwarmConfig()

    def go(**kw: Any) -> list[Any]:
        return asyncio.run(
            run_agents(
                "Review the plan",
                ["correctness", "security"],
                config,
                ProviderPool(endpoints_from_env(pool_env)),
                model="openai/gpt-4.1-mini",
                **kw,
            )
        ).results

    results = go()
    assert [(r.name, r.status, r.output) for r in results] == [
        ("correctness", "ok", "done"),
        ("security", "ok", "done"),
    ]
    assert all(r.usage.calls == 1 for r in results)
    llm.requests.clear()
    go(mode="sequential")
    assert "Result of correctness:\ndone" in llm.requests[1].prompt
    llm.requests.clear()
    go(mode="hierarchical", coordinator="security")
    assert "Split this task" in llm.requests[0].prompt and "Your lead says:\ndone" in llm.requests[1].prompt


def test_readme_agents_examples_are_valid(tmp_path: Path) -> None:
    import yaml

    from swarm_core.config import load_config

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Agents") : readme.index("## GitHub App")]
    config_yaml = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "swarm.yml"
    path.write_text(config_yaml, encoding="utf-8")
    agents = built_in_agents(load_config(path))
    assert agents["explorer"].backend == "opencode" and agents["migration-reviewer"].model
    opencode_json = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    assert opencode_json["snapshot"] is False and opencode_json["model"].startswith("local/")
    assert yaml.safe_load(config_yaml)["agents"][1]["tools"] == []


def test_built_in_agents_and_cli_list() -> None:
    names = set(built_in_agents(SwarmConfig()))
    assert {"correctness", "security", "advocate", "challenger", "domain-expert"} <= names
    out = subprocess.run(
        [sys.executable, "-m", "swarm_cli", "agents", "list", "--format", "json"],
        cwd=ROOT,
        env={**os.environ, "SWARM_MODEL": "openai/gpt-4.1-mini"},
        capture_output=True,
        text=True,
        check=False,
    )
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["security"]["model"] == "openai/gpt-4.1-mini" and rows["security"]["backend"] == "llm"
    bad = subprocess.run(
        [sys.executable, "-m", "swarm_cli", "exec", "--task", "x", "--agents", "nobody"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "unknown agent 'nobody'" in bad.stderr


def test_a_failed_agent_reports_the_calls_it_made_and_its_model(llm: FakeLLM, tmp_path: Path) -> None:
    # The reply never parses: the call and its repair request both reach the server.
    llm.default("other", "", Reply(text="I would rather chat."))
    llm.default("repair", "", Reply(text="Still chatting."))
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-test-0000",
        "OPENAI_BASE_URL": llm.url,
        "SWARM_MODEL": "openai/gpt-4.1-mini",
    }

    def swarm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "swarm_cli", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )

    out = swarm("exec", "--task", "Plan it", "--agents", "security", "--format", "json")
    assert out.returncode == 1, out.stderr
    run = json.loads(out.stdout)
    (result,) = run["results"]
    assert result["status"] == "failed" and "after a repair request" in result["error"]
    assert result["model"] == "openai/gpt-4.1-mini" and result["usage"]["calls"] == 2
    assert (run["requests"], run["answered"], run["usage"]["calls"]) == (2, 2, 2) == (len(llm.requests), 2, 2)
    text = swarm("runs", "show", run["run_id"]).stdout
    assert "== security [llm] failed" in text and "openai/gpt-4.1-mini" in text
    assert "2 model request(s), 2 answered" in text
    evidence = json.loads(swarm("runs", "show", run["run_id"], "--evidence", "--format", "json").stdout)
    assert [e["kind"] for e in evidence["exchanges"]] == ["agent", "repair"]
    assert "total: 2 request(s), 2 answered" in swarm("runs", "show", run["run_id"], "--evidence").stdout
