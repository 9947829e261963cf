"""Group commit for webhook intake: concurrent deliveries are written by one writer, many per transaction.

Each request waits for its own delivery to be committed before it answers 202, so
nothing is acknowledged that is not durable; but the database syncs once per batch
instead of once per delivery, and SQLite writers never queue behind each other's locks.
"""

from __future__ import annotations

import asyncio
from typing import Any

from swarm_core import StoreError
from swarm_core.store.queue import Delivery, JobQueue

__all__ = ["DeliveryWriter"]


class DeliveryWriter:
    """Batches `record_delivery` calls. Start it lazily in the running loop; `close` drains it."""

    def __init__(
        self,
        queue: JobQueue,
        *,
        max_batch: int = 256,
        inline: bool = False,
        min_batch: int = 16,
        writers: int = 1,
    ) -> None:
        self._queue = queue
        self._min_batch = min_batch
        # One writer by default: concurrent batches that supersede jobs of the same pull
        # request lock the same rows, and on Postgres that can deadlock (a 1 s wait, then an
        # error for the whole batch). Raise `writers` only for traffic spread over many PRs.
        self._writers = 1 if inline else max(1, writers)
        # A local SQLite commit takes well under a millisecond: running it on the event loop
        # saves a thread hop per batch. A network database is always written from a thread.
        self._inline = inline
        self._max = max_batch
        self._pending: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[Delivery]]] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def record(self, **delivery: Any) -> Delivery:
        """Record one delivery (and enqueue its job); returns once it is committed."""
        if not self._tasks or all(t.done() for t in self._tasks):
            self._pending = asyncio.Queue()
            self._tasks = [
                asyncio.create_task(self._run(), name=f"swarm-delivery-writer-{n}")
                for n in range(self._writers)
            ]
        assert self._pending is not None
        future: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        await self._pending.put((delivery, future))
        return await future

    async def _run(self) -> None:
        assert self._pending is not None
        while True:
            batch = [await self._pending.get()]
            while len(batch) < self._max and not self._pending.empty():
                batch.append(self._pending.get_nowait())
            if len(batch) < self._min_batch:
                # Under load, one event-loop turn lets the requests already read queue up:
                # a fuller batch costs one commit instead of several.
                await asyncio.sleep(0)
                while len(batch) < self._max and not self._pending.empty():
                    batch.append(self._pending.get_nowait())
            try:
                results = await self._write([d for d, _ in batch])
            except Exception as exc:  # boundary: the batch failed as a whole
                if len(batch) == 1:
                    _settle(batch[0][1], exc)
                    continue
                # One delivery the database refuses must not fail the deliveries committed
                # with it (GitHub does not redeliver on its own): each is written again alone,
                # so only the bad one gets the error.
                for delivery, future in batch:
                    try:
                        (result,) = await self._write([delivery])
                    except Exception as alone:  # boundary: this delivery's own error
                        _settle(future, alone)
                    else:
                        if not future.done():
                            future.set_result(result)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _write(self, items: list[dict[str, Any]]) -> list[Delivery]:
        if self._inline:
            return self._queue.record_deliveries(items)
        return await asyncio.to_thread(self._queue.record_deliveries, items)

    async def close(self) -> None:
        """Stop the writer (pending requests have already been answered or will error)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []


def _settle(future: asyncio.Future[Delivery], exc: Exception) -> None:
    """Fail one waiting request with a StoreError (the receiver answers 503 for those)."""
    if future.done():
        return
    if not isinstance(exc, StoreError):
        # A driver error (an integer SQLite cannot hold, say) is still a store failure to the
        # caller; its text goes to the log, not into the response.
        err = StoreError(f"job queue: cannot record the delivery: {type(exc).__name__}: {exc}")
        err.__cause__ = exc
        exc = err
    future.set_exception(exc)
