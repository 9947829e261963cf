"""Structured-output negotiation against servers that refuse formats the way real ones do."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from swarm_core.errors import (
    ConfigError,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from swarm_core.lanes.schema import LaneReply
from swarm_core.providers import (
    LOCAL_CONCURRENCY,
    LOCAL_MAX_OUTPUT_TOKENS,
    LOCAL_TIMEOUT_S,
    CompletionRequest,
    Message,
    ProviderPool,
    endpoints_from_env,
)
from swarm_core.providers.base import summarize
from swarm_core.providers.openai import OpenAIProvider
from swarm_core.providers.structured import is_format_refusal, simplify_schema
from tests.fakes.llm import LLAMA_CPP_PYTHON, FakeLLM, Reply

FIXTURES = Path(__file__).parent / "fixtures"
LANE_SCHEMA = LaneReply.model_json_schema()


def _pool(llm: FakeLLM, **env: str) -> ProviderPool:
    return ProviderPool(endpoints_from_env({"LLAMACPP_BASE_URL": llm.url, **env}))


def _ask(
    p: ProviderPool, *models: str, schema: dict[str, Any] | None = LANE_SCHEMA, timeout: float = 5.0
) -> None:
    async def go() -> None:
        try:
            for model in models:
                provider, model_id = p.get(model)
                await provider.complete(
                    CompletionRequest(model_id, (Message("user", "hi"),), schema=schema, timeout_s=timeout)
                )
        finally:
            await p.aclose()

    asyncio.run(go())


def _formats(llm: FakeLLM) -> list[str]:
    out = []
    for r in llm.requests:
        fmt = r.body.get("response_format")
        if fmt is None:
            out.append("prompt")
        elif fmt["type"] == "json_object":
            out.append("json_object_schema" if "schema" in fmt else "json_object")
        else:
            out.append(fmt["type"])
    return out


def test_llama_cpp_python_refuses_json_schema_and_takes_json_object_with_a_simplified_schema() -> None:
    with FakeLLM(key=None, formats=LLAMA_CPP_PYTHON) as llm:
        p = _pool(llm)
        _ask(p, "llamacpp/smollm2", "llamacpp/smollm2", "llamacpp/other")
        # One refusal per model, remembered for the next call of the same model only.
        assert _formats(llm) == [
            "json_schema",
            "json_object_schema",
            "json_object_schema",
            "json_schema",
            "json_object_schema",
        ]
        sent = llm.requests[1].body["response_format"]["schema"]
        assert sent == simplify_schema(LANE_SCHEMA)
        adapter, _ = p.get("llamacpp/smollm2")
        assert isinstance(adapter, OpenAIProvider)
        assert adapter.output_format("smollm2") == "json_object_schema"


def test_the_full_lane_schema_would_break_llama_cpps_grammar_but_the_simplified_one_does_not() -> None:
    simple = json.dumps(simplify_schema(LANE_SCHEMA))
    assert "maxLength" in json.dumps(LANE_SCHEMA)
    for word in ("maxLength", "minLength", "pattern", "minimum", "$ref", "$defs", '"title": "Path"'):
        assert word not in simple
    # The inlined finding keeps its required fields and enums, which pydantic checks anyway.
    finding = simplify_schema(LANE_SCHEMA)["properties"]["findings"]["items"]
    assert finding["required"] == ["path", "severity", "category", "title"]
    assert finding["properties"]["severity"] == {
        "enum": ["critical", "high", "medium", "low"],
        "type": "string",
    }


def test_each_step_of_the_ladder_down_to_the_schema_in_the_prompt() -> None:
    with FakeLLM(key=None) as llm:
        llm.script(
            "other",
            "",
            Reply(status=400, error="'response_format.type' must be 'json_schema' or 'text'"),
            Reply(status=400, error="unknown field response_format.schema"),
            Reply(status=422, error="json_object is not supported"),
            Reply({"ok": True}),
            Reply({"ok": True}),
        )
        p = _pool(llm)
        _ask(p, "llamacpp/m", "llamacpp/m")
        assert _formats(llm) == ["json_schema", "json_object_schema", "json_object", "prompt", "prompt"]


def test_a_server_that_only_takes_json_object_gets_it() -> None:
    with FakeLLM(key=None, formats=frozenset({"json_object"})) as llm:
        llm.script("other", "", Reply(status=500, error="failed to parse grammar"), Reply({"ok": True}))
        _ask(_pool(llm), "llamacpp/m")
        assert _formats(llm) == ["json_schema", "json_object_schema", "json_object"]


@pytest.mark.parametrize(
    "reply",
    [
        Reply(status=500, error="model is overloaded, try later"),
        Reply(status=503, error="response_format queue full"),
        Reply(status=401, error="invalid key for response_format requests"),
        Reply(status=400, error="context length exceeded: requested 22870 tokens"),
    ],
)
def test_an_unrelated_error_never_steps_down(reply: Reply) -> None:
    with FakeLLM(key=None) as llm:
        llm.script("other", "", reply)
        with pytest.raises(ProviderError):
            _ask(_pool(llm), "llamacpp/m")
        assert _formats(llm) == ["json_schema"]


def test_a_request_without_a_schema_is_never_negotiated() -> None:
    with FakeLLM(key=None, formats=LLAMA_CPP_PYTHON) as llm:
        llm.script("other", "", Reply(status=400, error="response_format is odd"))
        with pytest.raises(ProviderError):
            _ask(_pool(llm), "llamacpp/m", schema=None)
        assert _formats(llm) == ["prompt"]


def test_refusal_classification() -> None:
    llama = json.loads((FIXTURES / "llama-cpp" / "json_schema_refused.json").read_text())["error"]["message"]
    assert is_format_refusal(ProviderUnavailable(f"llamacpp answered HTTP 500: {llama}", status=500))
    assert not is_format_refusal(ProviderAuthError("HTTP 401: response_format", status=401))
    assert not is_format_refusal(ProviderRateLimited("HTTP 429: response_format", status=429))
    assert not is_format_refusal(ProviderTimeout("no answer about response_format"))
    assert not is_format_refusal(ProviderUnavailable("HTTP 500: out of memory", status=500))


def test_local_servers_default_to_one_slot_small_replies_and_long_timeouts() -> None:
    eps = endpoints_from_env({})
    for name in ("llamacpp", "ollama", "vllm", "lmstudio"):
        ep = eps[name]
        assert (ep.local, ep.concurrency, ep.max_output_tokens, ep.timeout_s) == (
            True,
            LOCAL_CONCURRENCY,
            LOCAL_MAX_OUTPUT_TOKENS,
            LOCAL_TIMEOUT_S,
        )
    assert (eps["openai"].local, eps["openai"].concurrency, eps["openai"].max_output_tokens) == (
        False,
        None,
        None,
    )
    tuned = endpoints_from_env(
        {"OLLAMA_CONCURRENCY": "3", "OLLAMA_MAX_TOKENS": "512", "OLLAMA_TIMEOUT": "60"}
    )
    assert (tuned["ollama"].concurrency, tuned["ollama"].max_output_tokens, tuned["ollama"].timeout_s) == (
        3,
        512,
        60.0,
    )
    with pytest.raises(ConfigError, match="LLAMACPP_CONCURRENCY='0' must be above 0"):
        endpoints_from_env({"LLAMACPP_CONCURRENCY": "0"})
    with pytest.raises(ConfigError, match="VLLM_TIMEOUT='soon' is not a number"):
        endpoints_from_env({"VLLM_TIMEOUT": "soon"})


def _concurrent(p: ProviderPool, n: int) -> float:
    async def go() -> float:
        provider, model_id = p.get("llamacpp/m")
        request = CompletionRequest(model_id, (Message("user", "hi"),), timeout_s=5.0)
        started = time.perf_counter()
        try:
            await asyncio.gather(*(provider.complete(request) for _ in range(n)))
        finally:
            await p.aclose()
        return time.perf_counter() - started

    return asyncio.run(go())


def test_a_local_server_gets_one_request_at_a_time_unless_configured() -> None:
    with FakeLLM(key=None, latency=0.3) as llm:
        assert _concurrent(_pool(llm), 3) >= 0.9
        assert _concurrent(_pool(llm, LLAMACPP_CONCURRENCY="3"), 3) < 0.8


def test_a_call_the_server_took_but_did_not_answer_is_not_retried_in_full() -> None:
    with FakeLLM(key=None) as llm:
        llm.script("other", "", Reply(hang=True))
        with pytest.raises(ProviderTimeout) as caught:
            _ask(_pool(llm, LLAMACPP_TIMEOUT="0.3"), "llamacpp/m", schema=None)
        assert caught.value.retryable is False
        assert "within 0.3 s" in str(caught.value)


def test_errors_are_summarised_for_people_at_a_word_boundary() -> None:
    text = "llamacpp answered HTTP 500: " + "validation error " * 30
    short = summarize(text, 60)
    assert short == "llamacpp answered HTTP 500: validation error validation…"
    assert summarize("one\nline  only") == "one line only"


def test_a_local_call_streams_and_a_timeout_closes_the_stream_so_the_server_stops() -> None:
    with FakeLLM(key=None) as llm:
        # A model still writing after the deadline: 50 pieces, 0.1 s apart.
        llm.script("other", "", Reply(text="word " * 400, chunk_delay=0.1))
        started = time.perf_counter()
        with pytest.raises(ProviderTimeout, match="stream closed") as caught:
            _ask(_pool(llm, LLAMACPP_TIMEOUT="0.5"), "llamacpp/m", schema=None)
        assert time.perf_counter() - started < 2.0
        assert caught.value.retryable is False
        assert llm.requests[0].body["stream"] is True
        deadline = time.monotonic() + 3
        while llm.abandoned == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert llm.abandoned == 1


def test_a_streamed_answer_reads_like_a_plain_one() -> None:
    with FakeLLM(key=None) as llm:
        llm.script("other", "", Reply({"ok": True}, usage=(30, 4, 0)))
        p = _pool(llm)

        async def go() -> tuple[str, int | None, int | None]:
            try:
                provider, model_id = p.get("llamacpp/m")
                c = await provider.complete(
                    CompletionRequest(model_id, (Message("user", "hi"),), timeout_s=5)
                )
            finally:
                await p.aclose()
            return c.text, c.input_tokens, c.output_tokens

        assert asyncio.run(go()) == ('{"ok": true}', 30, 4)
        assert llm.requests[0].body["stream_options"] == {"include_usage": True}
