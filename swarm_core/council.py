"""The council (`/swarm council`): several members judge a question independently, then converge.

Round 1: every member answers in parallel without seeing the others (stance, position,
arguments, confidence, uncertainties). If the stances differ, or the confidences spread
wider than `council.disagreement`, the members who are not with the majority get one
rebuttal round with the others' positions in view (MAINTAIN / CONCEDE / NUANCE). A
moderator then synthesises the verdict (APPROVE / CONCERNS / REJECT for a pull request,
a recommendation for an open question) and records the dissent. Member calls run through
the same ModelCaller and guardrails as the lanes; a member that fails is reported as
failed and the council goes on with the others (it needs two).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from swarm_core.config import CouncilMember, SwarmConfig
from swarm_core.errors import LimitReached, ModelSelectionError, ProviderError
from swarm_core.lanes.context import untrusted
from swarm_core.model_calls import ModelCaller, prompt
from swarm_core.models import Exchange, Usage, document_of
from swarm_core.providers import Message, ProviderPool
from swarm_core.router import ModelTable, Router, Selection, load_table

__all__ = [
    "COUNCIL_MARKER",
    "NEEDS_MODEL",
    "CouncilResult",
    "MemberResult",
    "convene",
    "council_to_dict",
    "council_to_markdown",
    "run_council",
]

NEEDS_MODEL = (
    "The council needs a model: set SWARM_MODEL (for example openai/gpt-4.1-mini) and the "
    "provider's key, or give council members their own `model` in .github/swarm.yml."
)

COUNCIL_MARKER = "<!-- swarm:council -->"
PR_VERDICTS = ("APPROVE", "CONCERNS", "REJECT")
OPEN_VERDICTS = ("FOR", "AGAINST", "MIXED")
_LENIENT = ConfigDict(extra="ignore")


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


class _Position(BaseModel):
    model_config = _LENIENT
    stance: str
    position: str = Field(min_length=1)
    arguments: list[str] = Field(default_factory=list)
    confidence: float = Field(ge=0, le=1)
    uncertainties: list[str] = Field(default_factory=list)

    _up = field_validator("stance", mode="before")(classmethod(lambda cls, v: _upper(v)))


class _Rebuttal(BaseModel):
    model_config = _LENIENT
    response: Literal["MAINTAIN", "CONCEDE", "NUANCE"]
    stance: str
    argument: str = ""
    confidence: float = Field(ge=0, le=1)

    _up = field_validator("response", "stance", mode="before")(classmethod(lambda cls, v: _upper(v)))


class _Synthesis(BaseModel):
    model_config = _LENIENT
    verdict: str
    recommendation: str = Field(min_length=1)
    rationale: list[str] = Field(default_factory=list)
    dissent: list[str] = Field(default_factory=list)

    _up = field_validator("verdict", mode="before")(classmethod(lambda cls, v: _upper(v)))


@dataclass
class MemberResult:
    """One member's answers; `error` is set when the member failed."""

    name: str
    model: str = ""
    stance: str = ""
    position: str = ""
    arguments: tuple[str, ...] = ()
    confidence: float = 0.0
    uncertainties: tuple[str, ...] = ()
    rebuttal: str = ""
    rebuttal_argument: str = ""
    error: str = ""


@dataclass
class CouncilResult:
    """The council's outcome."""

    question: str
    kind: str
    members: list[MemberResult]
    disagreement: bool = False
    verdict: str = ""
    recommendation: str = ""
    rationale: tuple[str, ...] = ()
    dissent: tuple[str, ...] = ()
    usage: Usage = field(default_factory=Usage)
    error: str = ""
    exchanges: tuple[Exchange, ...] = ()  # the model calls, kept as the run's evidence


def _selection(router: Router, member: CouncilMember) -> Selection:
    if member.model:
        return Selection(member.model, f"council.members.{member.name}.model", 0.0, 0)
    return router.select("reviewer")


async def _round_one(
    caller: ModelCaller,
    router: Router,
    member: CouncilMember,
    question: str,
    context: str,
    allowed: Sequence[str],
) -> MemberResult:
    result = MemberResult(member.name)
    try:
        selection = _selection(router, member)
        result.model = selection.model
        text = prompt("council_member.md").format(
            name=member.name, role=member.role, question=untrusted("question", question), context=context
        )
        reply, model, _ = await caller.ask(
            kind="council",
            lane=member.name,
            selection=selection,
            messages=[Message("system", prompt("system.md")), Message("user", text)],
            schema=_Position,
        )
    except (LimitReached, ProviderError, ModelSelectionError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    result.model = model
    result.stance = reply.stance if reply.stance in allowed else "MIXED" if "MIXED" in allowed else "CONCERNS"
    result.position = reply.position.strip()
    result.arguments = tuple(a.strip() for a in reply.arguments[:3])
    result.confidence = reply.confidence
    result.uncertainties = tuple(u.strip() for u in reply.uncertainties[:3])
    return result


async def _rebut(
    caller: ModelCaller,
    router: Router,
    member: CouncilMember,
    mine: MemberResult,
    others: Sequence[MemberResult],
) -> None:
    view = "\n".join(f"- {o.name} ({o.stance}, {o.confidence:.1f}): {o.position}" for o in others)
    text = prompt("council_rebuttal.md").format(
        name=member.name, own=f"{mine.stance} ({mine.confidence:.1f}): {mine.position}", others=view
    )
    try:
        reply, _, _ = await caller.ask(
            kind="rebuttal",
            lane=member.name,
            selection=_selection(router, member),
            messages=[Message("system", prompt("system.md")), Message("user", text)],
            schema=_Rebuttal,
        )
    except (LimitReached, ProviderError, ModelSelectionError) as exc:
        mine.rebuttal = f"(no rebuttal: {type(exc).__name__})"
        return
    mine.rebuttal = reply.response
    mine.rebuttal_argument = reply.argument.strip()
    if reply.response != "MAINTAIN":
        mine.stance = reply.stance or mine.stance
        mine.confidence = reply.confidence


def disagreement(members: Sequence[MemberResult], spread: float) -> bool:
    """Stances differ, or confidences spread wider than `spread`."""
    ok = [m for m in members if not m.error]
    if len({m.stance for m in ok}) > 1:
        return True
    confidences = [m.confidence for m in ok]
    return bool(confidences) and max(confidences) - min(confidences) > spread


async def run_council(
    question: str,
    context: str,
    config: SwarmConfig,
    router: Router,
    caller: ModelCaller,
    *,
    kind: str = "open",
) -> CouncilResult:
    """Run the council on a question ("pr" for a pull request's verdict, "open" otherwise)."""
    allowed = PR_VERDICTS if kind == "pr" else OPEN_VERDICTS
    members = list(config.council.members)
    results = list(
        await asyncio.gather(*(_round_one(caller, router, m, question, context, allowed) for m in members))
    )
    out = CouncilResult(question, kind, results)
    valid = [r for r in results if not r.error]
    if len(valid) < 2:
        out.error = f"the council needs two members; {len(valid)} answered"
        out.usage = caller.guard.usage
        return out
    out.disagreement = disagreement(valid, config.council.disagreement)
    if out.disagreement:
        majority = Counter(r.stance for r in valid).most_common(1)[0][0]
        by_name = {m.name: m for m in members}
        dissenters = [r for r in valid if r.stance != majority] or sorted(valid, key=lambda r: r.confidence)[
            :1
        ]
        await asyncio.gather(
            *(
                _rebut(caller, router, by_name[r.name], r, [o for o in valid if o is not r])
                for r in dissenters
            )
        )
    positions = "\n".join(
        f"- {r.name} ({r.stance}, confidence {r.confidence:.2f}{', ' + r.rebuttal if r.rebuttal else ''}): "
        f"{r.position} Arguments: {'; '.join(r.arguments)}"
        for r in valid
    )
    text = prompt("council_moderator.md").format(
        question=untrusted("question", question),
        positions=untrusted("positions", positions, limit=10**9),  # the members read the author's text
        verdicts=" / ".join(allowed),
    )
    try:
        selection = (
            Selection(config.council.moderator, "council.moderator", 0.0, 0)
            if config.council.moderator
            else router.select("coordinator")
        )
        reply, _, _ = await caller.ask(
            kind="moderator",
            lane="moderator",
            selection=selection,
            messages=[Message("system", prompt("system.md")), Message("user", text)],
            schema=_Synthesis,
        )
    except (LimitReached, ProviderError, ModelSelectionError) as exc:
        votes = Counter(r.stance for r in valid).most_common()
        out.verdict = votes[0][0]
        out.recommendation = f"The moderator failed ({type(exc).__name__}); this is the members' majority."
        out.dissent = tuple(f"{r.name}: {r.stance}" for r in valid if r.stance != out.verdict)
    else:
        out.verdict = (
            reply.verdict
            if reply.verdict in allowed
            else Counter(r.stance for r in valid).most_common(1)[0][0]
        )
        out.recommendation = reply.recommendation.strip()
        out.rationale = tuple(reply.rationale[:5])
        out.dissent = tuple(reply.dissent[:5])
    out.usage = caller.guard.usage
    return out


def council_to_dict(result: CouncilResult) -> dict[str, Any]:
    """The council's outcome as JSON data (its model calls are evidence, kept apart)."""
    return document_of(result)


def council_to_markdown(result: CouncilResult) -> str:
    """The council's comment: verdict, recommendation, dissent, and each member folded away."""
    lines = ["## 🐝 swarm council", "", f"> {result.question[:500]}", ""]
    if result.error:
        lines += [f"The council could not decide: {result.error}.", ""]
    else:
        lines += [f"**Verdict: {result.verdict}**", "", result.recommendation, ""]
        if result.rationale:
            lines += ["**Why:**", *(f"- {r}" for r in result.rationale), ""]
        if result.dissent:
            lines += ["**Dissent (recorded):**", *(f"- {d}" for d in result.dissent), ""]
        if result.disagreement:
            lines += ["_The members disagreed at first; the dissenting members had a rebuttal round._", ""]
    for m in result.members:
        head = f"{m.name}: {m.stance or 'failed'}" + (f" ({m.confidence:.2f})" if not m.error else "")
        lines += [f"<details><summary>{head}</summary>", ""]
        if m.error:
            lines.append(f"Failed: {m.error}")
        else:
            lines.append(m.position)
            lines += [f"- {a}" for a in m.arguments]
            if m.uncertainties:
                lines.append("Unsure about: " + "; ".join(m.uncertainties))
            if m.rebuttal:
                lines.append(f"Rebuttal: **{m.rebuttal}** {m.rebuttal_argument}")
            lines.append(f"_model: {m.model}_")
        lines += ["", "</details>"]
    u = result.usage
    lines += ["", f"_{u.calls} model call(s), ${u.cost_usd:.4f}_", "", COUNCIL_MARKER]
    return "\n".join(lines) + "\n"


async def convene(
    question: str,
    context: str,
    config: SwarmConfig,
    pool: ProviderPool,
    *,
    model: str | None,
    table: ModelTable | None = None,
    kind: str = "open",
) -> CouncilResult:
    """Run a council with fresh guardrails and the given providers.

    Raises:
        ModelSelectionError: no model is configured for the members (NEEDS_MODEL says what to do).
    """
    table = table if table is not None else load_table()
    router = Router(table, config.models, pool.available, default=model)
    if not router.enabled and not all(m.model for m in config.council.members):
        raise ModelSelectionError(NEEDS_MODEL)
    caller = ModelCaller.for_config(pool, table, config)
    try:
        result = await run_council(question, context, config, router, caller, kind=kind)
    finally:
        await pool.aclose()
    result.exchanges = tuple(caller.exchanges)
    return result
