"""Model calls with everything around them: fallback chain, guardrails, structured output, repair, evidence.

`ModelCaller.ask` is the one path every lane, reviewer, critic and coordinator call
takes: it picks the provider for each model of the selection's chain, runs the call
under the run's Guard, reads usage (or estimates it), prices it from the model table,
parses and validates the JSON reply (one repair request when it does not parse), and
records a redacted Exchange as evidence.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from functools import cache, partial
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from swarm_core.analyzers.secrets import redact_text
from swarm_core.chunking import estimate_tokens
from swarm_core.config import SwarmConfig
from swarm_core.errors import (
    LimitReached,
    MalformedOutput,
    ModelSelectionError,
    ProviderError,
)
from swarm_core.guardrails import Guard
from swarm_core.models import Exchange, Usage, request_counts
from swarm_core.prompts import prompt  # re-exported: council and issue specs load prompts from here
from swarm_core.providers import Completion, CompletionRequest, Message, ProviderPool
from swarm_core.router import ModelTable, Selection

__all__ = ["ModelCaller", "parse_json_object", "prompt"]

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)\n\s*```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


@cache
def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    # Generating a JSON schema costs milliseconds; a lane asks for the same one every call.
    return model.model_json_schema()


def parse_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in a model's reply, tolerating fences, prose around it and trailing commas.

    Raises:
        ValueError: no JSON object can be read from the text.
    """
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            # The outermost object first; a trailing comma (a common model slip) is forgiven.
            for variant in (candidate[start:], _TRAILING_COMMA.sub(r"\1", candidate[start:])):
                try:
                    value, _ = decoder.raw_decode(variant)
                except json.JSONDecodeError:
                    continue
                if isinstance(value, dict):
                    return value
            start = candidate.find("{", start + 1)
    snippet = text.strip().replace("\n", " ")[:80]
    raise ValueError(f"no JSON object in the reply (starts {snippet!r})" if snippet else "empty reply")


def _hash(messages: Sequence[Message]) -> str:
    h = hashlib.sha256()
    for m in messages:
        h.update(m.role.encode())
        h.update(b"\0")
        h.update(m.content.encode("utf-8", "replace"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def _explain(exc: ValidationError | ValueError) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            parts.append(f"{loc}: {err['msg']}")
        return "; ".join(parts)
    return str(exc)


DEFAULT_MAX_TOKENS = 4096  # a call's reply cap when neither it nor its caller names one


def _unchanged(text: str) -> str:
    return text


class ModelCaller:
    """Makes a run's model calls and keeps its evidence.

    Args:
        pool: the providers.
        table: prices for usage → cost.
        guard: the run's guardrails.
        redact: applied to every text sent to a model and every text stored as evidence.
        max_tokens, temperature, timeout_s: per-call settings.
    """

    def __init__(
        self,
        pool: ProviderPool,
        table: ModelTable,
        guard: Guard,
        *,
        redact: Callable[[str], str] = _unchanged,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        temperature: float = 0.0,
        timeout_s: float = 120.0,
    ) -> None:
        self.pool = pool
        self.table = table
        self.guard = guard
        self.redact = redact
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.exchanges: list[Exchange] = []
        # Lanes (or call kinds) a guardrail stopped before they finished.
        self.stopped: set[str] = set()

    @classmethod
    def for_config(
        cls, pool: ProviderPool, table: ModelTable, config: SwarmConfig, *, max_tokens: int | None = None
    ) -> ModelCaller:
        """A caller with fresh guardrails from `config`, redacting the providers' keys.

        `max_tokens` overrides `llm.max_output_tokens` as the reply cap of calls that name none.
        """
        hidden = pool.secrets()  # the pool's keys are fixed: read once, not on every redaction
        return cls(
            pool,
            table,
            Guard(config.llm.limits),
            redact=partial(redact_text, secrets=hidden) if hidden else _unchanged,
            max_tokens=config.llm.max_output_tokens if max_tokens is None else max_tokens,
            timeout_s=config.llm.limits.call_timeout_seconds,
        )

    async def ask(
        self,
        *,
        kind: str,
        lane: str,
        selection: Selection,
        messages: Sequence[Message],
        schema: type[M],
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> tuple[M, str, Usage]:
        """Ask the selection's models in order until one answers with valid JSON.

        `temperature` and `max_tokens` override the caller's settings for this call (an
        agent's own sampling).

        Returns:
            The validated reply, the model that gave it, and the usage of that model's
            calls (a repair request included); failed calls are in the evidence.

        Raises:
            LimitReached: a guardrail stopped the run's model work.
            MalformedOutput: the reply did not parse even after a repair request.
            ProviderError: every model of the chain failed.
        """
        last: ProviderError | ModelSelectionError | None = None
        for model in selection.chain:
            try:
                reply, usage = await self._ask_model(
                    kind, lane, model, messages, schema, (temperature, max_tokens)
                )
            except (LimitReached, MalformedOutput):
                raise
            except (ProviderError, ModelSelectionError) as exc:
                last = exc
                continue
            return reply, model, usage
        assert last is not None
        if isinstance(last, ModelSelectionError):
            raise ProviderError(str(last)) from last
        raise last

    async def _complete(
        self,
        kind: str,
        lane: str,
        model: str,
        messages: Sequence[Message],
        schema: dict[str, Any],
        name: str,
        sampling: tuple[float | None, int | None] = (None, None),
    ) -> tuple[str, dict[str, Any] | None, Usage]:
        provider, model_id = self.pool.get(model)
        temperature = self.temperature if sampling[0] is None else sampling[0]
        max_tokens = self.max_tokens if sampling[1] is None else sampling[1]
        # Everything sent is redacted here, in one place: found secrets never reach a provider.
        messages = [Message(m.role, self.redact(m.content), m.cache) for m in messages]
        request = CompletionRequest(
            model=model_id,
            messages=tuple(messages),
            schema=schema,
            schema_name=name,
            max_tokens=max_tokens,
            temperature=temperature,
            timeout_s=self.timeout_s,
        )
        est_in = sum(estimate_tokens(m.content) for m in messages)
        info = self.table.get(model)
        est_cost = info.cost(est_in, max_tokens // 4) if info else 0.0
        refused = self._on_refused(kind, lane, model, messages)
        request = dataclasses.replace(request, on_refused=refused)

        started = time.perf_counter()

        async def attempt() -> Completion:
            # Every attempt is its own evidence row (a retry, a timeout, a cut): the evidence
            # then holds exactly the requests the server saw.
            nonlocal started
            started = time.perf_counter()
            try:
                return await provider.complete(request)
            except ProviderError as exc:
                self._record(kind, lane, model, messages, Usage(), started, type(exc).__name__, "", str(exc))
                raise
            except asyncio.CancelledError:
                # The lane was cut (its timeout, or the run's) while this call was in flight.
                self._record(kind, lane, model, messages, Usage(), started, "cancelled", "", "call cut")
                raise

        try:
            completion = await self.guard.call(attempt, estimated_cost=est_cost, estimated_tokens=est_in)
        except LimitReached as exc:
            self.stopped.add(lane or kind)
            self._record(kind, lane, model, messages, Usage(), started, type(exc).__name__, "", str(exc))
            raise
        estimated = completion.input_tokens is None or completion.output_tokens is None
        in_tok = completion.input_tokens if completion.input_tokens is not None else est_in
        out_text = completion.text or (json.dumps(completion.data) if completion.data else "")
        out_tok = (
            completion.output_tokens if completion.output_tokens is not None else estimate_tokens(out_text)
        )
        usage = Usage(1, in_tok, out_tok, completion.cached_tokens, 0.0, estimated)
        if info is not None:
            usage = Usage(
                1, in_tok, out_tok, completion.cached_tokens, self.table.price(model, usage), estimated
            )
        self.guard.record(usage)
        self._record(kind, lane, model, messages, usage, started, "ok", out_text)
        return completion.text, completion.data, usage

    async def _ask_model(
        self,
        kind: str,
        lane: str,
        model: str,
        messages: Sequence[Message],
        schema: type[M],
        sampling: tuple[float | None, int | None] = (None, None),
    ) -> tuple[M, Usage]:
        json_schema = _schema_of(schema)
        name = schema.__name__.lower()
        text, data, usage = await self._complete(kind, lane, model, messages, json_schema, name, sampling)
        try:
            reply = schema.model_validate(data if data is not None else parse_json_object(text))
        except (ValidationError, ValueError) as exc:
            error = _explain(exc)
        else:
            self.guard.succeeded()
            return reply, usage
        repair = prompt("repair.md").format(error=error, schema=json.dumps(json_schema))
        retry = [*messages, Message("assistant", text or "(empty)"), Message("user", repair)]
        text2, data2, usage2 = await self._complete("repair", lane, model, retry, json_schema, name, sampling)
        usage = usage + usage2
        try:
            reply = schema.model_validate(data2 if data2 is not None else parse_json_object(text2))
        except (ValidationError, ValueError) as exc2:
            failure = MalformedOutput(
                f"{model} did not return valid JSON for the {lane} {kind} "
                f"after a repair request: {_explain(exc2)}"
            )
            self.guard.failed(failure)
            raise failure from exc2
        self.guard.succeeded()
        return reply, usage

    def _on_refused(
        self, kind: str, lane: str, model: str, messages: Sequence[Message]
    ) -> Callable[[ProviderError, float], None]:
        def refused(exc: ProviderError, latency_s: float) -> None:
            started = time.perf_counter() - latency_s
            self._record(kind, lane, model, messages, Usage(), started, "format-refused", "", str(exc))

        return refused

    def usage_note(self) -> str:
        """The run's model usage for people: requests sent and answered counted apart.

        Rows without a model (the shared context, a finding the checks dropped) and rows a
        guardrail stopped before they reached a server are not requests.
        """
        sent, answered = request_counts(self.exchanges)
        u = self.guard.usage
        return (
            f"Model usage: {sent} request(s), {answered} answered, {u.input_tokens:,} input tokens "
            f"({u.cached_tokens:,} cached), {u.output_tokens:,} output tokens, ${u.cost_usd:.4f}"
            + (" (some token counts estimated)" if u.estimated else "")
            + "."
        )

    def _record(
        self,
        kind: str,
        lane: str,
        model: str,
        messages: Sequence[Message],
        usage: Usage,
        started: float,
        outcome: str,
        response: str,
        reason: str = "",
    ) -> None:
        # The shared prefix (messages up to the one marked cache) is stored once per run by the
        # orchestrator; each exchange keeps only the part that differs.
        cut = max((i + 1 for i, m in enumerate(messages) if m.cache), default=0)
        tail = "\n\n".join(f"[{m.role}]\n{m.content}" for m in messages[cut:])
        self.exchanges.append(
            Exchange(
                kind=kind,
                lane=lane,
                model=model,
                prompt_hash=_hash(messages),
                usage=usage,
                latency_s=round(time.perf_counter() - started, 4),
                outcome=outcome,
                request=self.redact(tail),
                response=self.redact(response),
                reason=self.redact(reason),
            )
        )

    def record_context(self, messages: Sequence[Message]) -> None:
        """Store the shared prefix once per run, as a "context" exchange."""
        cut = max((i + 1 for i, m in enumerate(messages) if m.cache), default=0)
        text = "\n\n".join(f"[{m.role}]\n{m.content}" for m in messages[:cut])
        self.exchanges.append(
            Exchange("context", "", "", _hash(messages[:cut]), Usage(), 0.0, "ok", self.redact(text))
        )
