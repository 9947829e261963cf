"""A streamed chat completion: read the server-sent events, and close the stream when the call ends early.

Local servers keep generating for a request whose client went away unless the request
streams: llama.cpp's servers stop a streamed generation when the connection closes, but
run a plain one to the end (up to 90 s after swarm had exited, with one slot held). So
local endpoints stream, and a timeout or a cancelled call closes the connection.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from swarm_core.errors import ProviderTimeout, ProviderUnavailable
from swarm_core.providers.base import decipher_response

__all__ = ["stream_chat"]


async def stream_chat(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: dict[str, str],
    body: dict[str, Any],
    timeout_s: float,
    who: str,
) -> dict[str, Any]:
    """POST a streaming chat completion and return it shaped like a plain one.

    `timeout_s` bounds the whole call, not each read: a model that writes slowly forever
    is stopped too. Leaving this function for any reason closes the stream.

    Raises:
        ProviderTimeout: no complete answer within `timeout_s` (not retryable: the server
            had the request), or the server could not be reached (retryable).
        ProviderError: the server answered with an error (see `decipher_response`).
    """
    # Usage arrives in a last chunk only when asked for (servers that ignore it: estimated).
    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    text: list[str] = []
    model: Any = None
    usage: Any = None
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream("POST", url, headers=headers, json=body, timeout=timeout_s) as response:
                if not 200 <= response.status_code < 300:
                    await response.aread()
                    decipher_response(response, who)
                async for line in response.aiter_lines():
                    if line.strip() == "data: [DONE]":
                        break
                    event = _event(line)
                    if event is None:
                        continue
                    model = event.get("model") or model
                    usage = event.get("usage") or usage
                    for choice in event.get("choices") or []:
                        delta = choice.get("delta") if isinstance(choice, dict) else None
                        if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                            text.append(delta["content"])
    except (TimeoutError, httpx.ReadTimeout, httpx.WriteTimeout) as exc:
        timeout = ProviderTimeout(f"{who} did not finish its answer within {timeout_s:g} s (stream closed)")
        timeout.retryable = False  # the server had the request: the same call would take as long again
        raise timeout from exc
    except httpx.TimeoutException:
        raise ProviderTimeout(f"{who} did not answer within {timeout_s:g} s") from None
    except httpx.TransportError as exc:
        raise ProviderTimeout(f"cannot reach {who}: {type(exc).__name__}: {exc}") from None
    out: dict[str, Any] = {"model": model, "choices": [{"message": {"content": "".join(text)}}]}
    if isinstance(usage, dict):
        out["usage"] = usage
    return out


def _event(line: str) -> dict[str, Any] | None:
    """One `data:` line's JSON; None for comments, pings and blank lines."""
    if not line.startswith("data:"):
        return None
    try:
        value = json.loads(line[5:])
    except ValueError:
        raise ProviderUnavailable("streamed an event that is not JSON", status=200) from None
    return value if isinstance(value, dict) else None
