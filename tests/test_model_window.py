"""A model's window and tokens as each local server reports them (httpx MockTransport shaped like each server)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from swarm_core.changeset import from_git
from swarm_core.config import SwarmConfig, merge
from swarm_core.errors import ProviderError
from swarm_core.orchestrator import Orchestrator
from swarm_core.providers import CompletionRequest, Message, ProviderPool, ServedModel, endpoints_from_env
from swarm_core.providers.window import ESTIMATE_CHARS_PER_TOKEN
from tests.fakes.llm import FakeLLM, Reply

OTHER_LANES = ("security", "dependencies", "docs-intent", "tests", "performance-architecture")
Routes = dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]]


def _server(routes: Routes) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        route = routes.get((request.method, request.url.path))
        return route(request) if route else httpx.Response(404, json={"detail": "Not Found"})

    return httpx.MockTransport(handle)


def _served(routes: Routes, model: str, sample: str = "x" * 300, **env: str) -> ServedModel | None:
    pool = ProviderPool(endpoints_from_env(env), transport=_server(routes))

    async def go() -> ServedModel | None:
        try:
            return await pool.served(model, sample)
        finally:
            await pool.aclose()

    return asyncio.run(go())


def test_llama_server_says_its_window_in_props_and_counts_with_its_tokenizer() -> None:
    routes: Routes = {
        ("GET", "/props"): lambda r: httpx.Response(
            200, json={"default_generation_settings": {"n_ctx": 8192}}
        ),
        ("POST", "/tokenize"): lambda r: httpx.Response(200, json={"tokens": list(range(150))}),
    }
    served = _served(routes, "llamacpp/qwen", LLAMACPP_BASE_URL="http://llama:8080/v1")
    assert served == ServedModel(8192, 2.0, True)
    assert served.estimate("y" * 1001) == 501


def test_llama_cpp_python_has_no_window_but_counts_tokens() -> None:
    def count(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == {"input": "x" * 300}
        return httpx.Response(200, json={"count": 100})

    routes: Routes = {("POST", "/extras/tokenize/count"): count}
    assert _served(routes, "llamacpp/smollm2", LLAMACPP_BASE_URL="http://h:8000/v1") == ServedModel(
        None, 3.0, True
    )


def test_vllm_lists_max_model_len() -> None:
    listed = {"data": [{"id": "other", "max_model_len": 1}, {"id": "Qwen/Coder", "max_model_len": 32768}]}
    routes: Routes = {("GET", "/v1/models"): lambda r: httpx.Response(200, json=listed)}
    served = _served(routes, "vllm/Qwen/Coder", VLLM_BASE_URL="http://v:8000/v1")
    assert served == ServedModel(32768, ESTIMATE_CHARS_PER_TOKEN, False)


def test_lm_studio_reports_the_loaded_window() -> None:
    body = {"id": "qwen", "loaded_context_length": 4096, "max_context_length": 32768}
    routes: Routes = {("GET", "/api/v0/models/qwen"): lambda r: httpx.Response(200, json=body)}
    served = _served(routes, "lmstudio/qwen")
    assert served is not None and served.window == 4096


@pytest.mark.parametrize(
    ("parameters", "window"),
    [('num_ctx                        16384\nstop "<|im_end|>"', 16384), ('stop "x"', 4096), (None, 4096)],
)
def test_ollama_window_is_num_ctx_or_its_default_within_the_trained_length(
    parameters: str | None, window: int
) -> None:
    body = {
        "model_info": {"qwen2.context_length": 32768},
        **({"parameters": parameters} if parameters else {}),
    }
    routes: Routes = {("POST", "/api/show"): lambda r: httpx.Response(200, json=body)}
    served = _served(routes, "ollama/qwen2.5-coder:7b")
    assert served is not None and served.window == window


def test_hosted_providers_are_never_probed() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"probed {request.url}")

    assert (
        _served({("GET", "/props"): refuse}, "openai/gpt-4.1-mini", OPENAI_API_KEY="sk-test-key-1234") is None
    )


def test_an_overflow_names_the_settings_to_change() -> None:
    with FakeLLM(key=None) as llm:
        llm.script(
            "other",
            "",
            Reply(status=400, error="the request exceeds the available context size, try increasing it"),
        )
        pool = ProviderPool(endpoints_from_env({"LLAMACPP_BASE_URL": llm.url}))

        async def go() -> None:
            try:
                provider, model = pool.get("llamacpp/m")
                await provider.complete(
                    CompletionRequest(model, (Message("user", "hi"),), schema={"type": "object"})
                )
            finally:
                await pool.aclose()

        with pytest.raises(ProviderError) as caught:
            asyncio.run(go())
        message = str(caught.value)
        assert "exceeds the available context size" in message
        assert "lower llm.chunk_tokens" in message and "(LLAMACPP_MAX_TOKENS)" in message
        assert "--n_ctx" in message
        assert len(llm.requests) == 1  # an overflow is not a format refusal: no second request


def _lane_requests(make_repo: Any, n_ctx: int | None) -> int:
    repo = make_repo()
    repo.commit({"README.md": "x\n"})
    repo.commit(
        {f"mod{n}.py": "".join(f"value_{n}_{i} = {i}  # a line\n" for i in range(40)) for n in range(4)}
    )
    change = from_git(repo.path, "HEAD~1", "HEAD")
    with FakeLLM(key=None, n_ctx=n_ctx) as llm:
        config = merge(SwarmConfig(), {"lanes": {"correctness": True, **dict.fromkeys(OTHER_LANES, False)}})
        orch = Orchestrator(
            config,
            analyzers=[],
            model="llamacpp/tiny",
            providers=ProviderPool(endpoints_from_env({"LLAMACPP_BASE_URL": llm.url})),
            memory=None,
        )
        asyncio.run(orch.review(change))
        return len(llm.calls("lane", "correctness"))


def test_the_window_the_server_reports_sizes_the_chunks(make_repo: Any) -> None:
    # Four files of ~1,000 characters: one chunk when the window is unknown, several in
    # 1,000 tokens (600 for the diff, the server's tokenizer counting 3 characters a token).
    assert _lane_requests(make_repo, None) == 1
    assert _lane_requests(make_repo, 1000) == 4
