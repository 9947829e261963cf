"""Guardrails: limits, retry with backoff, the transient budget and the circuit breaker."""

from __future__ import annotations

import asyncio

import pytest

from swarm_core.config import GuardrailsConfig
from swarm_core.errors import (
    LimitReached,
    MalformedOutput,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
)
from swarm_core.guardrails import Guard
from swarm_core.models import Usage


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def guard(**limits: object) -> tuple[Guard, Clock]:
    clock = Clock()
    return Guard(GuardrailsConfig.model_validate(limits), clock=clock, sleep=clock.sleep), clock


def failing(*errors: Exception, then: str = "ok"):
    queue = list(errors)
    calls = []

    async def fn() -> str:
        calls.append(1)
        if queue:
            raise queue.pop(0)
        return then

    fn.calls = calls  # type: ignore[attr-defined]
    return fn


def test_three_attempts_with_exponential_backoff() -> None:
    g, clock = guard()
    fn = failing(ProviderUnavailable("500"), ProviderUnavailable("502"))
    assert asyncio.run(g.call(fn)) == "ok"
    assert clock.slept == [1.0, 2.0] and g.retries == 2 and g.consecutive_failures == 0
    fn = failing(*[ProviderUnavailable("500")] * 3)
    with pytest.raises(ProviderUnavailable):
        asyncio.run(g.call(fn))
    assert len(fn.calls) == 3 and g.consecutive_failures == 1


def test_non_retryable_errors_fail_at_once() -> None:
    g, clock = guard()
    fn = failing(ProviderError("400 bad request", status=400))
    with pytest.raises(ProviderError):
        asyncio.run(g.call(fn))
    assert len(fn.calls) == 1 and clock.slept == []


def test_retry_after_is_honoured_but_capped() -> None:
    g, clock = guard()
    asyncio.run(g.call(failing(ProviderRateLimited("429", retry_after=5.0))))
    asyncio.run(g.call(failing(ProviderRateLimited("429", retry_after=3600.0))))
    assert clock.slept == [5.0, 60.0]
    assert g.transient_used == 2 and g.consecutive_failures == 0


def test_transient_budget_and_breaker_are_separate() -> None:
    g, _ = guard(transient_budget=3, breaker_threshold=2)
    asyncio.run(g.call(failing(*[ProviderRateLimited("429")] * 3)))  # 3 > retries, all transient
    assert g.consecutive_failures == 0
    with pytest.raises(LimitReached, match=r"transient budget \(3 rate-limit"):
        asyncio.run(g.call(failing(ProviderRateLimited("429"))))
    g.failed(MalformedOutput("garbage"))
    g.failed(MalformedOutput("garbage"))
    with pytest.raises(LimitReached, match="circuit breaker: 2 consecutive model failures"):
        g.check()


def test_success_resets_the_breaker() -> None:
    g, _ = guard(breaker_threshold=2)
    g.failed(MalformedOutput("x"))
    g.succeeded()
    g.failed(MalformedOutput("x"))
    g.check()  # one consecutive failure only


@pytest.mark.parametrize(
    ("limits", "usage", "estimate", "message"),
    [
        ({"max_calls": 2}, Usage(2, 10, 10), (0.0, 0), r"max_calls \(2\) reached"),
        ({"max_tokens": 1000}, Usage(1, 600, 100), (0.0, 400), "max_tokens .* would be exceeded"),
        (
            {"max_cost_usd": 0.5},
            Usage(1, 0, 0, 0, 0.4),
            (0.2, 0),
            r"max_cost_usd \(\$0.5\) would be exceeded",
        ),
    ],
)
def test_limits(limits: dict, usage: Usage, estimate: tuple[float, int], message: str) -> None:
    g, _ = guard(**limits)
    g.record(usage)
    with pytest.raises(LimitReached, match=message):
        g.check(*estimate)


def test_wall_time_limit_and_waits_that_would_cross_it() -> None:
    g, clock = guard(max_wall_seconds=10)
    clock.now = 9.5
    with pytest.raises(LimitReached, match="would pass while waiting"):
        asyncio.run(g.call(failing(ProviderUnavailable("500"))))
    clock.now = 10.0
    with pytest.raises(LimitReached, match=r"max_wall_seconds \(10\) reached"):
        g.check()


def test_concurrent_calls_reserve_their_cost_so_together_they_stay_under_the_cap() -> None:
    """Six lanes calling at once (the fake LLM answers after 0.2 s) against a $0.10 cap."""
    from swarm_core.providers import ProviderPool, endpoints_from_env
    from swarm_core.providers.base import CompletionRequest, Message
    from swarm_core.router import load_table
    from tests.fakes.llm import FakeLLM

    model = "openai/gpt-4.1-mini"
    table = load_table()
    info = table.get(model)
    assert info is not None
    prompt = "x = 1\n" * 40_000  # about 60,000 tokens: $0.024 of input at gpt-4.1-mini's price
    g = Guard(GuardrailsConfig.model_validate({"max_cost_usd": 0.10}))
    estimate = info.cost(len(prompt) // 4, 1024)

    async def run(llm: FakeLLM) -> list[object]:
        pool = ProviderPool(endpoints_from_env({"OPENAI_API_KEY": llm.key or "", "OPENAI_BASE_URL": llm.url}))
        provider, model_id = pool.get(model)
        request = CompletionRequest(model=model_id, messages=(Message("user", prompt),), max_tokens=4096)

        async def lane() -> object:
            done = await g.call(lambda: provider.complete(request), estimated_cost=estimate)
            used = Usage(1, done.input_tokens or 0, done.output_tokens or 0)
            g.record(Usage(1, used.input_tokens, used.output_tokens, 0, table.price(model, used)))
            return done

        try:
            return await asyncio.gather(*(lane() for _ in range(6)), return_exceptions=True)
        finally:
            await pool.aclose()

    with FakeLLM(latency=0.2) as llm:
        outcomes = asyncio.run(run(llm))
        assert 6 * estimate > 0.10  # all six together would pass the cap
        refused = [o for o in outcomes if isinstance(o, LimitReached)]
        assert len(llm.requests) == 6 - len(refused) == 3  # three fit, the rest never reached the model
    assert g.usage.calls == 3 and 0 < g.usage.cost_usd <= 0.10
    assert g.reserved == (0, 0, 0.0)  # every reservation settled
