"""Accounting that matches the server: every request the server saw is an evidence row."""

from __future__ import annotations

import asyncio

import pytest

from swarm_core.config import GuardrailsConfig
from swarm_core.errors import LimitReached, ProviderError
from swarm_core.guardrails import Guard
from swarm_core.lanes.schema import LaneReply
from swarm_core.model_calls import ModelCaller
from swarm_core.providers import Message, ProviderPool, endpoints_from_env
from swarm_core.router import Selection, load_table
from tests.fakes.llm import LLAMA_CPP_PYTHON, FakeLLM, Reply, lane_reply


async def _fast(_: float) -> None:
    return None


def _caller(llm: FakeLLM, limits: GuardrailsConfig | None = None, **env: str) -> ModelCaller:
    pool = ProviderPool(endpoints_from_env({"LLAMACPP_BASE_URL": llm.url, **env}))
    return ModelCaller(pool, load_table(), Guard(limits or GuardrailsConfig(), sleep=_fast))


def _ask(caller: ModelCaller, times: int = 1) -> list[BaseException | None]:
    async def go() -> list[BaseException | None]:
        out: list[BaseException | None] = []
        try:
            for _ in range(times):
                try:
                    await caller.ask(
                        kind="lane",
                        lane="security",
                        selection=Selection("llamacpp/smollm2", "test", 0.0, 0),
                        messages=[Message("user", "# Your task: the security lane")],
                        schema=LaneReply,
                    )
                except (ProviderError, LimitReached) as exc:
                    out.append(exc)
                else:
                    out.append(None)
        finally:
            await caller.pool.aclose()
        return out

    return asyncio.run(go())


def test_a_format_refusal_and_the_answer_are_two_rows_like_the_two_requests() -> None:
    with FakeLLM(key=None, formats=LLAMA_CPP_PYTHON) as llm:
        llm.script("lane", "security", lane_reply())
        caller = _caller(llm)
        assert _ask(caller) == [None]
        assert [e.outcome for e in caller.exchanges] == ["format-refused", "ok"]
        assert len(caller.exchanges) == len(llm.requests) == 2
        assert "Input should be 'text' or 'json_object'" in caller.exchanges[0].reason
        assert caller.usage_note().startswith("Model usage: 2 request(s), 1 answered, ")


def test_failed_requests_are_counted_as_requests_not_as_nothing() -> None:
    with FakeLLM(key=None) as llm:
        llm.default("lane", "security", Reply(status=500, error="the model crashed"))
        caller = _caller(llm, GuardrailsConfig(breaker_threshold=10))
        results = _ask(caller, 3)
        assert all(isinstance(r, ProviderError) for r in results)
        # Three calls, each tried three times: nine requests, nine rows, none answered.
        assert len(llm.requests) == 9
        assert [e.outcome for e in caller.exchanges] == ["ProviderUnavailable"] * 9
        assert caller.usage_note().startswith("Model usage: 9 request(s), 0 answered, ")
        assert caller.stopped == set()


def test_a_timed_out_call_is_one_row_and_one_request() -> None:
    with FakeLLM(key=None) as llm:
        llm.script("lane", "security", Reply(hang=True))
        caller = _caller(llm, LLAMACPP_TIMEOUT="0.3")
        [result] = _ask(caller)
        assert isinstance(result, ProviderError)
        assert [e.outcome for e in caller.exchanges] == ["ProviderTimeout"]
        assert len(llm.requests) == 1
        # The row's latency is the wait the timeout ended (a busy machine adds to it).
        assert 0.3 <= caller.exchanges[0].latency_s < 3


def test_a_call_cut_mid_flight_is_a_cancelled_row() -> None:
    with FakeLLM(key=None) as llm:
        llm.script("lane", "security", Reply(delay=2.0))
        caller = _caller(llm)

        async def go() -> None:
            task = asyncio.ensure_future(
                caller.ask(
                    kind="lane",
                    lane="security",
                    selection=Selection("llamacpp/smollm2", "test", 0.0, 0),
                    messages=[Message("user", "# Your task: the security lane")],
                    schema=LaneReply,
                )
            )
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await caller.pool.aclose()

        asyncio.run(go())
        assert [(e.outcome, e.reason) for e in caller.exchanges] == [("cancelled", "call cut")]


def test_a_stop_is_reported_only_for_the_lanes_it_stopped() -> None:
    with FakeLLM(key=None) as llm:
        llm.default("lane", "security", Reply(status=500, error="the model crashed"))
        caller = _caller(llm, GuardrailsConfig(breaker_threshold=1, retries=1))
        first, second = _ask(caller, 2)
        assert isinstance(first, ProviderError) and isinstance(second, LimitReached)
        assert caller.guard.tripped is not None
        assert caller.stopped == {"security"}
        # The stopped call never reached the server: it is a row, but not a request.
        assert len(llm.requests) == 1
        assert caller.usage_note().startswith("Model usage: 1 request(s), 0 answered, ")
