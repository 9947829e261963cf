"""The native Ollama adapter (`ollama-native/`) against a fake Ollama server on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from swarm_core import PROVIDER_ENV_NAMES, ProviderKeys
from swarm_core.errors import ConfigError, ProviderError, ProviderTimeout, ProviderUnavailable
from swarm_core.providers import (
    Completion,
    CompletionRequest,
    Message,
    OllamaProvider,
    ProviderPool,
    ServedModel,
    endpoints_from_env,
)
from tests.fakes.llm import Reply
from tests.fakes.ollama import SCHEMA_REFUSED, FakeOllama

MODEL = "qwen2.5-coder:7b"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"result": {"type": "string", "maxLength": 2000}},
    "required": ["result"],
}


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        fake.default("other", "", Reply({"result": "done"}))
        yield fake


def _pool(ollama: FakeOllama, **env: str) -> ProviderPool:
    return ProviderPool(endpoints_from_env({"OLLAMA_HOST": ollama.root.removeprefix("http://"), **env}))


def ask(
    pool: ProviderPool, *requests: CompletionRequest, model: str = MODEL
) -> list[Completion | ProviderError]:
    """Send the requests in turn on one adapter; each answer, or the error it raised."""

    async def go() -> list[Completion | ProviderError]:
        provider, model_id = pool.get(f"ollama-native/{model}")
        out: list[Completion | ProviderError] = []
        try:
            for request in requests:
                try:
                    out.append(await provider.complete(dataclasses.replace(request, model=model_id)))
                except ProviderError as exc:
                    out.append(exc)
        finally:
            await pool.aclose()
        return out

    return asyncio.run(go())


def request(schema: dict[str, Any] | None = SCHEMA, **kw: Any) -> CompletionRequest:
    return CompletionRequest(
        MODEL, (Message("system", "Be brief."), Message("user", "Plan it")), schema, **kw
    )


def test_a_json_schema_in_format_with_the_reply_cap_keep_alive_and_the_servers_counts(
    ollama: FakeOllama,
) -> None:
    (answer,) = ask(_pool(ollama), request(max_tokens=4096, temperature=0.2))
    assert answer == Completion('{"result": "done"}', None, MODEL, input_tokens=4, output_tokens=4)
    (sent,) = ollama.requests
    assert sent.path == "/api/chat"
    # The schema is simplified for the grammar compiler; the reply cap is the local one.
    assert sent.body == {
        "model": MODEL,
        "stream": True,
        "options": {"temperature": 0.2, "num_predict": 1024},
        "keep_alive": "30m",
        "format": {"type": "object", "properties": {"result": {"type": "string"}}, "required": ["result"]},
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Plan it"}],
    }


def test_an_older_server_that_refuses_a_schema_gets_json_then_nothing(ollama: FakeOllama) -> None:
    ollama.accepted = frozenset({"json"})
    refused: list[str] = []
    first = request(on_refused=lambda exc, _: refused.append(str(exc)))
    answers = ask(_pool(ollama), first, request())
    assert [type(a) for a in answers] == [Completion, Completion]
    assert [r.body.get("format") for r in ollama.requests] == [
        ollama.requests[0].body["format"],
        "json",
        "json",
    ]
    assert "Answer with one JSON object matching this JSON schema" in ollama.requests[1].last_user
    assert len(refused) == 1 and SCHEMA_REFUSED in refused[0] and "HTTP 400" in refused[0]
    # A server that takes no format at all: the schema is only in the prompt.
    ollama.requests.clear()
    ollama.accepted = frozenset()
    (answer,) = ask(_pool(ollama), request())
    assert isinstance(answer, Completion)
    assert [r.body.get("format", "none") for r in ollama.requests][1:] == ["json", "none"]


def test_an_unrelated_error_does_not_step_down(ollama: FakeOllama) -> None:
    ollama.script("other", "", Reply(status=500, error="llama runner process has terminated: signal: killed"))
    (error,) = ask(_pool(ollama), request())
    assert isinstance(error, ProviderUnavailable) and "runner process has terminated" in str(error)
    assert len(ollama.requests) == 1 and isinstance(ollama.requests[0].body["format"], dict)


def test_a_model_that_is_not_pulled_names_the_ones_the_server_has(ollama: FakeOllama) -> None:
    (error,) = ask(_pool(ollama), request(), model="llama3.2")
    assert isinstance(error, ProviderError) and error.status == 404
    assert 'model "llama3.2" not found' in str(error)
    assert f"The server has: {MODEL}. Pull it with `ollama pull llama3.2`" in str(error)
    ollama.models = {}
    (error,) = ask(_pool(ollama), request(), model="llama3.2")
    assert "The server has no models yet." in str(error)


def test_a_timed_out_call_closes_the_stream_and_is_not_retried(ollama: FakeOllama) -> None:
    ollama.script("other", "", Reply(text="x" * 2000, chunk_delay=0.1))
    started = time.perf_counter()
    (error,) = ask(_pool(ollama, OLLAMA_NATIVE_TIMEOUT="0.5"), request())
    assert isinstance(error, ProviderTimeout) and not error.retryable
    assert "did not finish its answer within 0.5 s (stream closed)" in str(error)
    assert time.perf_counter() - started < 2
    deadline = time.monotonic() + 5
    while ollama.abandoned == 0 and time.monotonic() < deadline:  # the server notices on its next write
        time.sleep(0.05)
    assert ollama.abandoned == 1


def test_an_error_mid_answer_and_an_answer_without_its_last_line_fail(ollama: FakeOllama) -> None:
    ollama.script("other", "", Reply(text="partial answer", error="out of memory"))
    (error,) = ask(_pool(ollama), request())
    assert isinstance(error, ProviderUnavailable) and "failed mid-answer: out of memory" in str(error)


def test_the_window_comes_from_api_show(ollama: FakeOllama) -> None:
    async def served(pool: ProviderPool, model: str) -> ServedModel | None:
        try:
            return await pool.served(model, "")
        finally:
            await pool.aclose()

    window = asyncio.run(served(_pool(ollama), f"ollama-native/{MODEL}"))
    assert window is not None and window.window == 4096  # Ollama's default num_ctx
    ollama.num_ctx = {MODEL: 16384}
    window = asyncio.run(served(_pool(ollama), f"ollama-native/{MODEL}"))
    assert window is not None and window.window == 16384


def test_models_are_listed_from_api_tags(ollama: FakeOllama) -> None:
    ollama.models = {MODEL: 32768, "smollm2:135m": 8192}
    pool = _pool(ollama)

    async def go() -> list[str]:
        provider, _ = pool.get(f"ollama-native/{MODEL}")
        assert isinstance(provider, OllamaProvider)
        try:
            return await provider.models()
        finally:
            await pool.aclose()

    assert asyncio.run(go()) == [MODEL, "smollm2:135m"]


def test_endpoint_settings_from_the_environment() -> None:
    default = endpoints_from_env({})["ollama-native"]
    assert (default.kind, default.base_url, default.local, default.usable) == (
        "ollama",
        "http://localhost:11434",
        True,
        False,
    )
    hosted = endpoints_from_env({"OLLAMA_HOST": "gpu-box:11434", "OLLAMA_NATIVE_KEEP_ALIVE": "0"})
    assert hosted["ollama-native"].base_url == "http://gpu-box:11434" and hosted["ollama-native"].usable
    assert hosted["ollama"].base_url == "http://gpu-box:11434/v1"
    assert hosted["ollama-native"].keep_alive == 0
    env = {
        "OLLAMA_NATIVE_BASE_URL": "http://h:1",
        "OLLAMA_NATIVE_CONCURRENCY": "2",
        "OLLAMA_NATIVE_KEEP_ALIVE": "1h",
    }
    native = endpoints_from_env(env)["ollama-native"]
    assert (native.base_url, native.concurrency, native.keep_alive) == ("http://h:1", 2, "1h")
    with pytest.raises(ConfigError, match="OLLAMA_NATIVE_KEEP_ALIVE='soon' is not a duration"):
        endpoints_from_env({"OLLAMA_NATIVE_KEEP_ALIVE": "soon"})


def test_the_faces_pass_the_local_servers_settings_through() -> None:
    # The CLI, the App and the Action keep only the provider variables: the local settings the
    # README documents must be among them (LLAMACPP_MAX_TOKENS was dropped before).
    assert {"LLAMACPP_MAX_TOKENS", "OLLAMA_NATIVE_TIMEOUT", "OLLAMA_NATIVE_KEEP_ALIVE"} <= PROVIDER_ENV_NAMES
    keys = ProviderKeys.from_mapping(
        {"LLAMACPP_MAX_TOKENS": "77", "OLLAMA_NATIVE_KEEP_ALIVE": "5m", "HOME": "/x"}
    )
    endpoints = keys.endpoints()
    assert endpoints["llamacpp"].max_output_tokens == 77 and endpoints["ollama-native"].keep_alive == "5m"


def test_a_review_on_the_native_api_with_every_request_in_the_evidence(
    ollama: FakeOllama, make_repo: Any
) -> None:
    from swarm_core import Orchestrator, SwarmConfig, from_git
    from swarm_core.models import LaneStatus
    from tests.fakes.llm import lane_reply

    repo = make_repo()
    repo.commit({"app.py": "def f(x):\n    return x\n"})
    repo.commit({"app.py": "def f(x):\n    return x + 1\n"})
    ollama.script("lane", "correctness", Reply(status=503, error="server busy"))  # retried
    ollama.default("lane", "", lane_reply())
    orch = Orchestrator(SwarmConfig(), analyzers=[], model=f"ollama-native/{MODEL}", providers=_pool(ollama))
    review = asyncio.run(orch.review(from_git(repo.path, "HEAD~1", "HEAD")))
    assert [lr.status for lr in review.lanes] == [LaneStatus.OK] * 6
    rows = [e for e in review.exchanges if e.model]
    assert len(rows) == len(ollama.requests) == 7
    assert [e.outcome for e in rows].count("ProviderRateLimited") == 1
    assert all(isinstance(r.body["format"], dict) for r in ollama.requests)  # the schema, every time
    assert not review.usage.estimated and review.usage.calls == 6
    assert any("Model usage: 7 request(s), 6 answered" in n for n in review.notes)


def test_the_readme_ollama_native_setup_works(ollama: FakeOllama) -> None:
    import subprocess

    from tests.conftest import ROOT
    from tests.fakes.llm import lane_reply
    from tests.helpers import readme_block, shell_env

    pull, export, review = readme_block("ollama-native/")
    assert pull == f"ollama pull {MODEL}"  # the fake has it pulled already
    ollama.default("lane", "", lane_reply())
    env = shell_env(OLLAMA_HOST=ollama.root.removeprefix("http://"))
    script = f"{export}\n{review} --format json"
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    result = json.loads(done.stdout)
    assert {lane["status"] for lane in result["lanes"]} == {"ok"}
    assert {r.path for r in ollama.requests} == {"/api/chat"} and len(ollama.requests) >= 6


def test_a_call_cut_mid_answer_closes_the_stream(ollama: FakeOllama) -> None:
    # A lane cut by its deadline cancels the call: Ollama must see the connection close.
    ollama.script("other", "", Reply(text="x" * 2000, chunk_delay=0.1))
    pool = _pool(ollama)

    async def go() -> None:
        provider, model_id = pool.get(f"ollama-native/{MODEL}")
        try:
            await asyncio.wait_for(provider.complete(dataclasses.replace(request(), model=model_id)), 0.5)
        finally:
            await pool.aclose()

    with pytest.raises(TimeoutError):
        asyncio.run(go())
    deadline = time.monotonic() + 5
    while ollama.abandoned == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ollama.abandoned == 1 and len(ollama.requests) == 1
