"""The OpenCode client's own seams, without a server: retries of its requests and its SSE event stream."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from swarm_core.agents import OpenCode
from swarm_core.errors import ProviderError


def test_connection_errors_are_retried_with_backoff_then_answered() -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) < 3:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json=[{"id": "s1", "title": "swarm:explorer"}])

    async def go() -> list[dict[str, Any]]:
        oc = OpenCode("http://opencode.test", backoff_s=0.01, transport=httpx.MockTransport(answer))
        try:
            return await oc.sessions()
        finally:
            await oc.aclose()

    assert asyncio.run(go()) == [{"id": "s1", "title": "swarm:explorer"}]
    assert calls == ["/session"] * 3


def test_an_unreachable_server_is_a_provider_error_with_its_cause() -> None:
    calls = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("connection refused", request=request)

    async def go() -> None:
        oc = OpenCode(
            "http://opencode.test", retries=2, backoff_s=0.01, transport=httpx.MockTransport(refuse)
        )
        try:
            await oc.health()
        finally:
            await oc.aclose()

    with pytest.raises(ProviderError, match=r"opencode at http://opencode.test is unreachable") as caught:
        asyncio.run(go())
    assert calls == 2 and isinstance(caught.value.__cause__, httpx.ConnectError)


def test_the_event_stream_is_parsed_and_dispatched_by_session() -> None:
    # As `opencode serve` writes it: a comment, a multi-line data field, an event of another session.
    stream = (
        b": keep-alive\n\n"
        b'data: {"type": "message.part.updated",\n'
        b'data:  "properties": {"part": {"sessionID": "s1", "type": "step-start"}}}\n\n'
        b'data: {"type": "session.error", "properties": {"sessionID": "s2", "error": {"name": "x"}}}\n\n'
        b"data: not json\n\n"
        b'event: message\ndata: {"type": "message.part.delta", "properties": {"sessionID": "s1"}}\n\n'
    )

    def serve(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/event" and request.headers["accept"] == "text/event-stream"
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream)

    async def go() -> list[str]:
        oc = OpenCode("http://opencode.test", backoff_s=0.01, transport=httpx.MockTransport(serve))
        seen: list[str] = []
        done = asyncio.Event()

        def handle(event: dict[str, Any]) -> None:
            seen.append(event["type"])
            if len(seen) == 2:
                done.set()

        oc._follow("s1", handle)
        try:
            await asyncio.wait_for(done.wait(), 5)
        finally:
            await oc.aclose()
        return seen

    assert asyncio.run(go()) == ["message.part.updated", "message.part.delta"]
