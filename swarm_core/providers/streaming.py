"""A streamed chat completion: read the server's lines, and close the stream when the call ends early.

Local servers keep generating for a request whose client went away unless the request
streams: llama.cpp's servers and Ollama stop a streamed generation when the connection
closes, but run a plain one to the end (up to 90 s after swarm had exited, with one slot
held). So local endpoints stream, and a timeout or a cancelled call closes the connection.

`stream_lines` owns the connection, the timeout and the error mapping; `stream_chat`
reads OpenAI's server-sent events with it, the Ollama adapter its JSON lines.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import httpx

from swarm_core.errors import ProviderTimeout, ProviderUnavailable
from swarm_core.providers.base import Post, decipher_response

__all__ = ["json_line", "stream_chat", "stream_lines"]


async def stream_lines(client: httpx.AsyncClient, post: Post, on_line: Callable[[str], bool]) -> None:
    """POST and hand each line of the streamed answer to `on_line` until it returns True.

    `timeout_s` bounds the whole call, not each read: a model that writes slowly forever
    is stopped too. Leaving this function for any reason closes the stream.

    Raises:
        ProviderTimeout: no complete answer within `timeout_s` (not retryable: the server
            had the request), or the server could not be reached (retryable).
        ProviderError: the server answered with an error (see `decipher_response`), or
            `on_line` raised one.
    """
    who, timeout_s = post.who, post.timeout_s
    try:
        async with asyncio.timeout(timeout_s):
            request = client.stream("POST", post.url, headers=post.headers, json=post.body, timeout=timeout_s)
            async with request as response:
                if not 200 <= response.status_code < 300:
                    await response.aread()
                    decipher_response(response, who)
                async for line in response.aiter_lines():
                    if on_line(line):
                        break
    except (TimeoutError, httpx.ReadTimeout, httpx.WriteTimeout) as exc:
        timeout = ProviderTimeout(f"{who} did not finish its answer within {timeout_s:g} s (stream closed)")
        timeout.retryable = False  # the server had the request: the same call would take as long again
        raise timeout from exc
    except httpx.TimeoutException:
        raise ProviderTimeout(f"{who} did not answer within {timeout_s:g} s") from None
    except httpx.TransportError as exc:
        raise ProviderTimeout(f"cannot reach {who}: {type(exc).__name__}: {exc}") from None


async def stream_chat(client: httpx.AsyncClient, post: Post) -> dict[str, Any]:
    """POST a streaming chat completion and return it shaped like a plain one (see `stream_lines`)."""
    # Usage arrives in a last chunk only when asked for (servers that ignore it: estimated).
    streamed = {**post.body, "stream": True, "stream_options": {"include_usage": True}}
    post = dataclasses.replace(post, body=streamed)
    text: list[str] = []
    seen: dict[str, Any] = {"model": None, "usage": None}

    def read(line: str) -> bool:
        if line.strip() == "data: [DONE]":
            return True
        event = json_line(line[5:], post.who) if line.startswith("data:") else None
        if event is None:  # comments, pings and blank lines
            return False
        seen["model"] = event.get("model") or seen["model"]
        seen["usage"] = event.get("usage") or seen["usage"]
        for choice in event.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                text.append(delta["content"])
        return False

    await stream_lines(client, post, read)
    out: dict[str, Any] = {"model": seen["model"], "choices": [{"message": {"content": "".join(text)}}]}
    if isinstance(seen["usage"], dict):
        out["usage"] = seen["usage"]
    return out


def json_line(raw: str, who: str) -> dict[str, Any] | None:
    """One streamed JSON object; None for a blank line or a value that is not an object.

    Raises:
        ProviderUnavailable: the line is not JSON.
    """
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise ProviderUnavailable(f"{who} streamed a line that is not JSON", status=200) from None
    return value if isinstance(value, dict) else None
