"""What the adapters of servers that negotiate structured output share: limits, slots and the ladder.

The OpenAI-compatible adapter and Ollama's native one each send a request in their own
shape; around that, both apply a local endpoint's reply cap, call timeout and request
slots, and step down their ladder of structured-output formats when the server refuses
one (see `structured.py`), remembering the step per model.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import ClassVar

import httpx

from swarm_core.errors import ProviderError
from swarm_core.providers.base import Completion, CompletionRequest, Endpoint, local_limits
from swarm_core.providers.slots import Slots
from swarm_core.providers.structured import ABOUT_FORMAT, FORMATS, Format, is_format_refusal

__all__ = ["NegotiatingAdapter"]


class NegotiatingAdapter:
    """A provider adapter whose subclass sends one request in a given format (`_send`).

    Args:
        endpoint: where the server is, and a local one's limits.
        client: gives the pool's shared HTTP client (created in the running loop).
    """

    ladder: ClassVar[tuple[Format, ...]] = FORMATS
    about: ClassVar[re.Pattern[str]] = ABOUT_FORMAT  # what a refusal of the format says

    def __init__(self, endpoint: Endpoint, client: Callable[[], httpx.AsyncClient]) -> None:
        self.endpoint = endpoint
        self._client = client
        self._formats: dict[str, Format] = {}
        self._slots = Slots(endpoint.concurrency) if endpoint.concurrency is not None else None

    def output_format(self, model: str) -> Format:
        """The structured-output format this adapter uses (or will try first) for `model`."""
        first = self.endpoint.first_format if self.endpoint.first_format in self.ladder else self.ladder[0]
        return self._formats.get(model, first)

    async def complete(self, request: CompletionRequest) -> Completion:
        """One answer, in the best format the server takes.

        A local endpoint's limits apply here: at most `concurrency` requests in flight (the
        wait for a slot is neither part of the call's timeout nor of its lane's: see
        `slots.py`), its reply cap and its call timeout.

        Raises:
            ProviderError: the server failed, or refused every structured-output format.
        """
        request = local_limits(self.endpoint, request)
        if self._slots is None:
            return await self._negotiate(request)
        async with self._slots.hold():
            return await self._negotiate(request)

    async def _negotiate(self, request: CompletionRequest) -> Completion:
        fmt = self.output_format(request.model)
        while True:
            started = time.perf_counter()
            try:
                return await self._send(request, fmt)
            except ProviderError as exc:
                last = fmt == self.ladder[-1]
                if request.schema is None or last or not is_format_refusal(exc, self.about):
                    raise
                if request.on_refused is not None:
                    request.on_refused(exc, time.perf_counter() - started)
                fmt = self._formats[request.model] = self.ladder[self.ladder.index(fmt) + 1]

    def _send(self, request: CompletionRequest, fmt: Format) -> Awaitable[Completion]:
        """Send `request` once with `fmt`; a subclass's own request shape."""
        raise NotImplementedError
