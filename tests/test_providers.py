"""Provider adapters over real HTTP (the fake LLM server), error mapping and environment parsing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from swarm_core.errors import (
    ModelSelectionError,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from swarm_core.model_calls import parse_json_object
from swarm_core.providers import (
    CompletionRequest,
    Message,
    ProviderPool,
    endpoints_from_env,
    split_model,
)
from swarm_core.providers.base import decipher_response, retry_after_seconds
from tests.fakes.llm import FakeLLM, Reply

SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


def pool(llm: FakeLLM, **extra: str) -> ProviderPool:
    env = {
        "OPENAI_API_KEY": llm.key,
        "OPENAI_BASE_URL": llm.url,
        "ANTHROPIC_API_KEY": llm.key,
        "ANTHROPIC_BASE_URL": llm.anthropic_url,
        **extra,
    }
    return ProviderPool(endpoints_from_env(env))


def ask(p: ProviderPool, model: str, *messages: Message, schema: dict | None = SCHEMA, timeout: float = 5.0):
    async def go():
        try:
            provider, model_id = p.get(model)
            return await provider.complete(
                CompletionRequest(model_id, tuple(messages), schema=schema, timeout_s=timeout)
            )
        finally:
            await p.aclose()

    return asyncio.run(go())


def test_openai_reads_text_and_usage(llm: FakeLLM) -> None:
    llm.script("other", "", Reply({"ok": True}, usage=(1200, 30, 1024)))
    c = ask(pool(llm), "openai/gpt-4.1-mini", Message("system", "s"), Message("user", "hello"))
    assert json.loads(c.text) == {"ok": True}
    assert (c.input_tokens, c.output_tokens, c.cached_tokens) == (1200, 30, 1024)
    (req,) = llm.requests
    assert req.headers["authorization"] == f"Bearer {llm.key}"
    assert req.body["max_completion_tokens"] == 4096 and "max_tokens" not in req.body
    assert req.body["response_format"]["json_schema"]["schema"] == SCHEMA


def test_openai_compatible_server_without_usage_gives_none() -> None:
    with FakeLLM(key=None) as llm:
        _without_usage(llm)


def _without_usage(llm: FakeLLM) -> None:
    llm.script("other", "", Reply({"ok": True}, omit_usage=True))
    p = pool(llm, OLLAMA_BASE_URL=llm.url)
    c = ask(p, "ollama/qwen2.5-coder:14b", Message("user", "hi"))
    assert c.input_tokens is None and c.output_tokens is None
    assert "authorization" not in llm.requests[0].headers  # Ollama needs no key
    assert llm.requests[0].body["max_tokens"] == 1024  # a local server's default cap


def test_server_rejecting_response_format_is_asked_again_without_it() -> None:
    with FakeLLM(key=None) as llm:
        _rejects_response_format(llm)


def _rejects_response_format(llm: FakeLLM) -> None:
    refusal = Reply(status=400, error="response_format is not supported by this server")
    llm.script("other", "", refusal, refusal, refusal, Reply({"ok": True}), Reply({"ok": True}))
    p = pool(llm, VLLM_BASE_URL=llm.url)
    provider, _ = p.get("vllm/qwen")
    ask(p, "vllm/qwen", Message("user", "hi"))
    assert ["response_format" in r.body for r in llm.requests] == [True, True, True, False]
    ask(p, "vllm/qwen", Message("user", "again"))  # remembered for the pool's adapter
    assert "response_format" not in llm.requests[-1].body
    assert provider is p.get("vllm/qwen")[0]


def test_anthropic_tool_output_system_blocks_and_cache_usage(llm: FakeLLM) -> None:
    llm.script("other", "", Reply({"ok": True}, usage=(5000, 40, 4000)))
    c = ask(
        pool(llm),
        "anthropic/claude-sonnet-4-5",
        Message("system", "rules"),
        Message("user", "shared context", cache=True),
        Message("user", "the lane's question"),
    )
    assert c.data == {"ok": True}
    assert (c.input_tokens, c.output_tokens, c.cached_tokens) == (5000, 40, 4000)
    body = llm.requests[0].body
    assert body["system"] == [{"type": "text", "text": "rules"}]
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "shared context", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "the lane's question"},
            ],
        }
    ]
    assert body["tools"][0]["input_schema"] == SCHEMA
    assert llm.requests[0].headers["x-api-key"] == llm.key


@pytest.mark.parametrize(
    ("reply", "error", "retry_after"),
    [
        (Reply(status=401), ProviderAuthError, None),
        (Reply(status=403), ProviderAuthError, None),
        (Reply(status=429, headers={"retry-after": "3"}), ProviderRateLimited, 3.0),
        (Reply(status=529), ProviderRateLimited, None),
        (Reply(status=503, headers={"retry-after-ms": "1500"}), ProviderRateLimited, 1.5),
        (Reply(status=500), ProviderUnavailable, None),
        (Reply(status=404), ProviderError, None),
    ],
)
def test_http_errors_become_typed_errors(
    llm: FakeLLM, reply: Reply, error: type, retry_after: float | None
) -> None:
    llm.script("other", "", reply)
    with pytest.raises(error) as info:
        ask(pool(llm), "anthropic/claude-haiku-4-5", Message("user", "hi"))
    assert info.value.status == reply.status and info.value.retry_after == retry_after
    assert llm.key not in str(info.value)


def test_wrong_key_is_an_auth_error_that_never_shows_the_key(llm: FakeLLM) -> None:
    p = pool(llm, OPENAI_API_KEY="sk-live-SECRET")
    with pytest.raises(ProviderAuthError) as info:
        ask(p, "openai/gpt-4.1", Message("user", "hi"))
    assert "HTTP 401" in str(info.value) and "check the API key" in str(info.value)
    assert "SECRET" not in str(info.value) and "SECRET" not in repr(p.endpoints["openai"])


def test_timeout_drop_and_refused_connection_are_provider_timeouts(llm: FakeLLM) -> None:
    llm.script("other", "", Reply(hang=True))
    with pytest.raises(ProviderTimeout, match=r"did not answer within 0\.2 s"):
        ask(pool(llm), "openai/gpt-4.1", Message("user", "hi"), timeout=0.2)
    llm.script("other", "", Reply(drop=True))
    with pytest.raises(ProviderTimeout, match="cannot reach"):
        ask(pool(llm), "openai/gpt-4.1", Message("user", "hi"))
    with pytest.raises(ProviderTimeout, match="cannot reach"):
        ask(pool(llm, OPENAI_BASE_URL="http://127.0.0.1:9/v1"), "openai/gpt-4.1", Message("user", "hi"))


def test_a_reply_that_is_not_json_is_retryable(llm: FakeLLM) -> None:
    def transport(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>gateway</html>")

    p = ProviderPool(endpoints_from_env({"OPENAI_API_KEY": "k"}), transport=httpx.MockTransport(transport))
    with pytest.raises(ProviderUnavailable, match="not JSON"):
        ask(p, "openai/gpt-4.1", Message("user", "hi"))


def test_missing_key_and_bad_names() -> None:
    p = ProviderPool(endpoints_from_env({}))
    with pytest.raises(ProviderAuthError, match="needs OPENAI_API_KEY"):
        p.get("openai/gpt-4.1")
    with pytest.raises(ModelSelectionError, match="must be written provider/model"):
        split_model("gpt-4.1")
    with pytest.raises(ModelSelectionError, match="unknown provider 'mistral'"):
        split_model("mistral/large")
    assert split_model("openrouter/deepseek/deepseek-r1") == ("openrouter", "deepseek/deepseek-r1")
    assert split_model("ollama/qwen2.5-coder:14b") == ("ollama", "qwen2.5-coder:14b")


def test_environment_names_users_expect() -> None:
    eps = endpoints_from_env(
        {
            "OPENAI_BASE_URL": "http://vllm:8000/v1",
            "OPENROUTER_API_KEY": "or-key-0123456789",
            "OLLAMA_HOST": "gpu-box:11434",
        }
    )
    assert eps["openai"].base_url == "http://vllm:8000/v1" and not eps["openai"].usable
    assert eps["openrouter"].usable and eps["openrouter"].base_url == "https://openrouter.ai/api/v1"
    assert eps["ollama"].base_url == "http://gpu-box:11434/v1" and eps["ollama"].usable
    assert eps["anthropic"].base_url == "https://api.anthropic.com" and not eps["anthropic"].usable
    assert not eps["vllm"].usable  # a keyless local server counts only once its URL is set
    assert ProviderPool(eps).secrets() == frozenset({"or-key-0123456789"})


def test_retry_after_as_http_date() -> None:
    headers = httpx.Headers({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"})
    assert retry_after_seconds(headers, now=1792567670.0) == pytest.approx(10.0)
    assert retry_after_seconds(httpx.Headers({"retry-after": "soon"})) is None
    decipher_response(httpx.Response(204), "x")  # 2xx: nothing raised


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Here you go:\n```json\n{"a": [1, 2,],}\n```\nThanks', {"a": [1, 2]}),
        ('prose {"a": {"b": 2}} more', {"a": {"b": 2}}),
        ('[1, 2] then {"a": 1}', {"a": 1}),
    ],
)
def test_tolerant_json_parser(text: str, expected: dict) -> None:
    assert parse_json_object(text) == expected


@pytest.mark.parametrize("text", ["", "no json here", "[1, 2]", "{broken"])
def test_tolerant_json_parser_says_what_is_wrong(text: str) -> None:
    with pytest.raises(ValueError, match=r"empty reply|no JSON object"):
        parse_json_object(text)
