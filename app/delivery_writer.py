"""Group commit for webhook intake: one writer thread writes concurrent deliveries, many per transaction.

Each request waits for its own delivery to be committed before it answers 202, so
nothing is acknowledged that is not durable; but the database syncs once per batch
instead of once per delivery, and SQLite writers never queue behind each other's locks.
No commit, fsync or lock wait runs on the event loop, on either database: the writer
thread owns them, and hands each batch's results back to the loop in one callback.
"""

from __future__ import annotations

import asyncio
import queue as thread_queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from swarm_core import StoreError
from swarm_core.store.queue import Delivery, JobQueue

__all__ = ["DeliveryWriter", "IntakeTimings"]


@dataclass(slots=True)
class IntakeTimings:
    """Where intake time goes, summed over deliveries (seconds); read by the webhook bench.

    `read`, `verify` and `parse` are spent on the event loop; `wait` is a delivery's time
    between being handed to the writer and its batch's commit starting; `commit` the
    batch's write (counted once per delivery in it); `resume` the time from the commit's
    end to the request running again (the event loop's own lag).
    """

    deliveries: int = 0
    batches: int = 0
    read: float = 0.0
    verify: float = 0.0
    parse: float = 0.0
    wait: float = 0.0
    commit: float = 0.0
    resume: float = 0.0
    slowest_commit: float = 0.0
    slowest_batch: int = 0
    largest_batch: int = 0

    def add_request(self, read: float, verify: float, parse: float) -> None:
        """Count one request's event-loop phases."""
        self.read += read
        self.verify += verify
        self.parse += parse

    def snapshot(self) -> dict[str, Any]:
        """The totals, and the mean of each phase per delivery in milliseconds."""
        n = max(1, self.deliveries)
        return {
            "deliveries": self.deliveries,
            "batches": self.batches,
            "largest_batch": self.largest_batch,
            "slowest_commit_ms": self.slowest_commit * 1000,
            "slowest_commit_batch": self.slowest_batch,
            "mean_ms": {
                phase: getattr(self, phase) * 1000 / n
                for phase in ("read", "verify", "parse", "wait", "commit", "resume")
            },
        }


@dataclass(slots=True)
class _Pending:
    """One request's delivery, the future it awaits, and when it was handed over."""

    delivery: dict[str, Any]
    future: asyncio.Future[Delivery]
    loop: asyncio.AbstractEventLoop
    handed: float
    started: float = 0.0
    committed: float = 0.0
    outcome: Delivery | BaseException | None = field(default=None)


_STOP = object()


class DeliveryWriter:
    """Batches `record_delivery` calls on a writer thread, started by the first; `close` drains it."""

    def __init__(self, queue: JobQueue, *, max_batch: int = 256) -> None:
        self._queue = queue
        self._max = max_batch
        # Deliveries recorded in one turn of the event loop are handed over together (one
        # cross-thread put per turn, not per request); while the thread commits a batch, the
        # next one builds up here and in the hand-over queue.
        self._turn: list[_Pending] = []
        self._handover: thread_queue.SimpleQueue[list[_Pending] | object] = thread_queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.timings = IntakeTimings()

    async def record(self, **delivery: Any) -> Delivery:
        """Record one delivery (and enqueue its job); returns once it is committed."""
        loop = asyncio.get_running_loop()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, args=(self._handover,), name="swarm-delivery-writer", daemon=True
            )
            self._thread.start()
        pending = _Pending(delivery, loop.create_future(), loop, time.perf_counter())
        if not self._turn:
            loop.call_soon(self._hand_over)
        self._turn.append(pending)
        result = await pending.future
        self.timings.resume += time.perf_counter() - pending.committed
        return result

    def _hand_over(self) -> None:
        turn, self._turn = self._turn, []
        self._handover.put(turn)

    def _run(self, handover: thread_queue.SimpleQueue[list[_Pending] | object]) -> None:
        """The writer thread: take everything handed over (up to `max_batch`), write it, settle it."""
        stopping = False
        carry: list[_Pending] = []
        while not stopping or carry:
            batch = carry
            if not batch:
                got = handover.get()
                if got is _STOP:
                    return
                batch = list(got)  # type: ignore[call-overload]
            while len(batch) < self._max:
                try:
                    got = handover.get_nowait()
                except thread_queue.Empty:
                    break
                if got is _STOP:
                    stopping = True
                    break
                batch.extend(got)  # type: ignore[arg-type]
            batch, carry = batch[: self._max], batch[self._max :]
            self._write(batch)
            by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
            for pending in batch:
                by_loop.setdefault(pending.loop, []).append(pending)
            for loop, settled in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_settle_all, settled)
                except RuntimeError:
                    pass  # that loop is closed: nobody is waiting for these answers any more

    def _write(self, batch: list[_Pending]) -> None:
        started = time.perf_counter()
        for pending in batch:
            pending.started = started
        try:
            results: list[Delivery | BaseException] = list(
                self._queue.record_deliveries([p.delivery for p in batch])
            )
        except Exception as exc:  # boundary: the batch failed as a whole
            if len(batch) == 1:
                results = [exc]
            else:
                # One delivery the database refuses must not fail the deliveries committed
                # with it (GitHub does not redeliver on its own): each is written again alone,
                # so only the bad one gets the error.
                results = []
                for pending in batch:
                    try:
                        (alone,) = self._queue.record_deliveries([pending.delivery])
                    except Exception as err:  # boundary: this delivery's own error
                        results.append(err)
                    else:
                        results.append(alone)
        committed = time.perf_counter()
        spent = committed - started
        t = self.timings
        t.batches += 1
        t.deliveries += len(batch)
        t.largest_batch = max(t.largest_batch, len(batch))
        if spent > t.slowest_commit:
            t.slowest_commit, t.slowest_batch = spent, len(batch)
        for pending, result in zip(batch, results, strict=True):
            pending.committed = committed
            pending.outcome = result
            t.wait += started - pending.handed
            t.commit += spent

    async def close(self) -> None:
        """Write what was handed over, then stop the thread (without blocking the event loop)."""
        if self._turn:
            self._hand_over()
        thread, self._thread = self._thread, None
        if thread is None:
            return
        # A record() after close starts a fresh thread on a fresh hand-over queue, so the
        # stop sentinel can only reach the thread it was meant for.
        handover, self._handover = self._handover, thread_queue.SimpleQueue()
        handover.put(_STOP)
        await asyncio.to_thread(thread.join)


def _settle_all(batch: list[_Pending]) -> None:
    """Answer every waiting request of one batch (runs on their event loop)."""
    for pending in batch:
        if pending.future.done():
            continue  # the request was cancelled (its client went away)
        if isinstance(pending.outcome, Delivery):
            pending.future.set_result(pending.outcome)
        else:
            pending.future.set_exception(_store_error(pending.outcome))


def _store_error(exc: BaseException | None) -> StoreError:
    """A StoreError for one failed delivery (the receiver answers 503 for those)."""
    if isinstance(exc, StoreError):
        return exc
    # A driver error (an integer SQLite cannot hold, say) is still a store failure to the
    # caller; its text goes to the log, not into the response.
    err = StoreError(f"job queue: cannot record the delivery: {type(exc).__name__}: {exc}")
    err.__cause__ = exc
    return err
