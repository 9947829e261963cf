"""A provider's request slots, and the deadlines that stand still while a call waits for one.

A local server answers one request at a time: six lanes calling at once queue behind each
other, and the last one waits for five others before its own model time starts. A lane's
timeout bounds its own model work, so a `Deadline` stops while its task waits for a slot
(`Slots.hold`); the run's overall cap (`llm.limits.max_wall_seconds`) is a separate clock
that never stops.

The deadline travels in a context variable: a lane enters it, and the provider adapter
deep below (the only one that knows a call is queued) finds it there. Tasks copy the
context they start in, so each lane's calls see that lane's deadline and no other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar, Token
from types import TracebackType

__all__ = ["Deadline", "Slots"]

_current: ContextVar[Deadline | None] = ContextVar("swarm_deadline", default=None)


class Deadline:
    """`async with Deadline(s):` raises TimeoutError after `s` seconds, not counting slot waits.

    Like `asyncio.timeout`, which it wraps: the body is cancelled when the time is up and
    TimeoutError raised at the `async with`. `waited_s` is how long the body's calls
    waited for provider slots (time the deadline stood still).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.waited_s = 0.0
        self._timeout: asyncio.Timeout | None = None
        self._token: Token[Deadline | None] | None = None
        self._waiting = 0
        self._paused_at = 0.0
        self._left = 0.0

    async def __aenter__(self) -> Deadline:
        self._timeout = asyncio.timeout(self.seconds)
        await self._timeout.__aenter__()
        self._token = _current.set(self)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._timeout is not None and self._token is not None
        _current.reset(self._token)
        await self._timeout.__aexit__(kind, exc, tb)  # turns its own cancellation into TimeoutError

    def _live(self) -> asyncio.Timeout | None:
        """The running timeout, or None once it has fired (its task is being cancelled)."""
        timeout = self._timeout
        return None if timeout is None or timeout.expired() else timeout

    def pause(self) -> None:
        """A call of the body starts waiting for a slot: the clock stops (nested waits count once)."""
        self._waiting += 1
        timeout = self._live()
        if self._waiting > 1 or timeout is None:
            return
        loop = asyncio.get_running_loop()
        self._paused_at = loop.time()
        when = timeout.when()
        self._left = (when - self._paused_at) if when is not None else 0.0
        timeout.reschedule(None)

    def resume(self) -> None:
        """The wait is over: the clock runs again with the time it had left."""
        self._waiting -= 1
        timeout = self._live()
        if self._waiting > 0 or timeout is None:
            return
        now = asyncio.get_running_loop().time()
        self.waited_s += now - self._paused_at
        timeout.reschedule(now + self._left)


class Slots:
    """At most `size` requests in flight to one endpoint; a wait for a slot stops the caller's Deadline.

    The semaphore belongs to the running event loop (a provider pool may outlive one loop:
    the CLI runs one per command, tests several).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore: asyncio.Semaphore | None = None

    def _current(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(self.size)
        return self._semaphore

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Hold one slot for the body; the time spent waiting for it is not the caller's deadline's."""
        semaphore = self._current()
        deadline = _current.get()
        if deadline is None or not semaphore.locked():
            async with semaphore:
                yield
            return
        deadline.pause()
        try:
            await semaphore.acquire()
        finally:
            deadline.resume()
        try:
            yield
        finally:
            semaphore.release()
