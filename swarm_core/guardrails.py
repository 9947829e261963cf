"""Guardrails for a run's model work: limits, retry with backoff, a transient budget and a circuit breaker.

Three separate counters decide when to stop:

- limits (calls, tokens, cost, wall time): checked before every call; a call whose
  estimated cost would cross the cost cap is not made. The check counts what is spent
  and what the calls in flight have reserved: `call` reserves its estimate when the check
  passes and releases it when the call returns, and the caller records what the call
  really used (`record`) before it next yields to the event loop. So the six lanes of a
  run, calling at once, can never pass a cap together on estimates that each fit alone;
- the transient budget: 429/503/529 answers are waited out (Retry-After honoured) until
  the run has used `transient_budget` such retries; they never trip the breaker;
- the circuit breaker: `breaker_threshold` consecutive failed calls (after their
  retries) stop all further model work in the run.

Any of them raises LimitReached; the orchestrator publishes what finished and says what
was cut.

The retry loop is written here rather than with tenacity (which the GitHub client uses):
its budgets belong to the run, not to one call. The transient budget and the breaker are
counted across every lane of the run, the limits are re-checked before each attempt, and a
wait that would outlast the run's wall time ends the run instead of sleeping; a per-call
retry policy would need all of that state fed back into it through callbacks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from swarm_core.config import GuardrailsConfig
from swarm_core.errors import LimitReached, ProviderError
from swarm_core.models import Usage

__all__ = ["Guard"]

T = TypeVar("T")

_MAX_WAIT_S = 60.0


class Guard:
    """One run's guardrail state. Safe to share between the lanes of a run (one event loop).

    Args:
        limits: the limits section of the config.
        clock: monotonic seconds (tests pass a fake).
        sleep: async sleep (tests pass a fast one).
    """

    def __init__(
        self,
        limits: GuardrailsConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._started = clock()
        self.usage = Usage()
        # Held by calls in flight: (calls, tokens, cost), added by `call` and taken off when it returns.
        self.reserved: tuple[int, int, float] = (0, 0, 0.0)
        self.transient_used = 0
        self.consecutive_failures = 0
        self.retries = 0
        self.tripped: str | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return float(self._clock() - self._started)

    def remaining_s(self) -> float:
        """Wall time left before max_wall_seconds."""
        return self.limits.max_wall_seconds - self.elapsed

    def check(self, estimated_cost: float = 0.0, estimated_tokens: int = 0) -> None:
        """Raise LimitReached when another call of this estimated size is not allowed."""
        lim = self.limits
        calls, tokens, cost = self.reserved
        reason = None
        if self.tripped is not None:
            reason = self.tripped
        elif self.usage.calls + calls >= lim.max_calls:
            reason = f"max_calls ({lim.max_calls}) reached"
        elif self.usage.total_tokens + tokens + estimated_tokens > lim.max_tokens:
            reason = f"max_tokens ({lim.max_tokens:,}) would be exceeded"
        elif self.usage.cost_usd + cost + estimated_cost > lim.max_cost_usd:
            reason = f"max_cost_usd (${lim.max_cost_usd:g}) would be exceeded"
        elif self.remaining_s() <= 0:
            reason = f"max_wall_seconds ({lim.max_wall_seconds:g}) reached"
        if reason is not None:
            raise LimitReached(reason)

    def record(self, usage: Usage) -> None:
        """Add a finished call's usage."""
        self.usage = self.usage + usage

    def _hold(self, sign: int, tokens: int, cost: float) -> None:
        calls, held_tokens, held_cost = self.reserved
        self.reserved = (calls + sign, held_tokens + sign * tokens, max(0.0, held_cost + sign * cost))

    def _failed(self, exc: BaseException) -> None:
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.limits.breaker_threshold and self.tripped is None:
            self.tripped = (
                f"circuit breaker: {self.consecutive_failures} consecutive model failures "
                f"(last: {type(exc).__name__})"
            )

    def succeeded(self) -> None:
        """A call's result was usable: reset the breaker's count."""
        self.consecutive_failures = 0

    def failed(self, exc: BaseException) -> None:
        """A call's result was unusable (malformed output, a non-retryable error): count it."""
        self._failed(exc)

    def _delay(self, exc: ProviderError, attempt: int) -> float:
        backoff = self.limits.backoff_seconds * float(2**attempt)
        wanted = max(backoff, exc.retry_after or 0.0)
        return max(0.0, min(wanted, _MAX_WAIT_S, self.remaining_s()))

    async def call(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        estimated_cost: float = 0.0,
        estimated_tokens: int = 0,
    ) -> T:
        """Run one provider call with retries: `retries` attempts, backoff 1 s × 2ⁿ (or Retry-After).

        Raises:
            LimitReached: a limit, the transient budget or the circuit breaker stopped it.
            ProviderError: the call failed for good (not retryable, or attempts used up).
        """
        attempt = 0
        while True:
            self.check(estimated_cost, estimated_tokens)
            # No await between the check and the reservation: no other lane can check in between.
            self._hold(1, estimated_tokens, estimated_cost)
            try:
                return await fn()
            except ProviderError as exc:
                attempt += 1
                if exc.transient:
                    if self.transient_used >= self.limits.transient_budget:
                        raise LimitReached(
                            f"transient budget ({self.limits.transient_budget} rate-limit/overload "
                            f"retries) used up; last: {exc}"
                        ) from exc
                    self.transient_used += 1
                elif not exc.retryable or attempt >= self.limits.retries:
                    self._failed(exc)
                    raise
                if exc.transient and attempt >= self.limits.retries + self.limits.transient_budget:
                    self._failed(exc)
                    raise
                self.retries += 1
                delay = self._delay(exc, attempt - 1)
                if self.remaining_s() <= delay and delay > 0:
                    raise LimitReached(
                        f"max_wall_seconds ({self.limits.max_wall_seconds:g}) would pass while waiting "
                        f"to retry: {exc}"
                    ) from exc
                await self._sleep(delay)
            finally:
                # Released as the call returns; the caller records its real usage before it
                # next awaits, so the spend and the reservations never both miss it.
                self._hold(-1, estimated_tokens, estimated_cost)
