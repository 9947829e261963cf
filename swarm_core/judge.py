"""The reviewer and critic passes (DESIGN §2 verify): models judge the findings before anything is posted.

The reviewer classifies every model finding CONFIRMED / DISPROVED / UNVERIFIED /
PRE_EXISTING, seeing the head code around it and whether the quoted code was already in
the base version. The critic then argues against every confirmed HIGH and CRITICAL
finding (UPHELD / DOWNGRADED / DISPROVED), on a different model when one is configured.
A finding the reviewer did not judge stays UNVERIFIED: it is never posted inline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from swarm_core.lanes.context import untrusted
from swarm_core.lanes.schema import CriticReply, ReviewerReply
from swarm_core.llm import ModelCaller, prompt
from swarm_core.models import Finding, Severity, Side, Usage, Verification
from swarm_core.providers import Message
from swarm_core.router import Selection
from swarm_core.sources import Contents, split_lines

__all__ = ["critic_pass", "describe", "reviewer_pass"]

_BATCH = 25
_AROUND = 3


def _excerpt(contents: Contents | None, f: Finding) -> str:
    if contents is None or f.line is None:
        return ""
    data = contents.read(f.path, f.side)
    if data is None:
        return ""
    lines = split_lines(data)
    lo = max(1, f.line - _AROUND)
    hi = min(len(lines), (f.last_line or f.line) + _AROUND)
    side = "head" if f.side is Side.RIGHT else "base"
    body = "\n".join(f"{n:>5} {lines[n - 1]}" for n in range(lo, hi + 1))
    return untrusted(f"{side}:{f.path}:{lo}-{hi}", body, limit=10**9)


def _in_base(contents: Contents | None, f: Finding) -> str:
    if contents is None or not f.evidence.strip() or f.side is not Side.RIGHT:
        return ""
    base = contents.read(f.path, Side.LEFT)
    if base is None:
        return "The file does not exist in the base version (new file)."
    quote = " ".join(f.evidence.split())
    hits = [n for n, text in enumerate(split_lines(base), 1) if quote and quote in " ".join(text.split())]
    if hits:
        where = ", ".join(str(n) for n in hits[:5])
        return f"The quoted code is also in the base version, line(s) {where}."
    return "The quoted code is not in the base version: the change added it."


def describe(i: int, f: Finding, contents: Contents | None) -> str:
    """One finding as the passes see it: claim, quote, code around it, base-version fact."""
    parts = [
        f"## Finding {i}: [{f.severity.value.upper()}] {f.category} at {f.location()} ({f.lane.value} lane)",
        f"Title: {f.title}",
    ]
    if f.message:
        parts.append(f"Claim: {f.message}")
    if f.evidence:
        parts.append(f"Quoted code: {f.evidence.strip()}")
    if f.symbols:
        parts.append("Names cited: " + ", ".join(f.symbols))
    excerpt = _excerpt(contents, f)
    if excerpt:
        parts.append(excerpt)
    base = _in_base(contents, f)
    if base:
        parts.append(base)
    return "\n".join(parts)


async def reviewer_pass(
    caller: ModelCaller,
    selection: Selection,
    shared: Sequence[Message],
    findings: Sequence[Finding],
    contents: Contents | None,
    *,
    lane: str,
) -> tuple[list[Finding], str, Usage]:
    """Judge findings in batches; returns them with `verification` set, the model used, and usage."""
    out: list[Finding] = []
    usage = Usage()
    model = ""
    for start in range(0, len(findings), _BATCH):
        batch = list(findings[start : start + _BATCH])
        text = "\n\n".join(describe(i, f, contents) for i, f in enumerate(batch, 1))
        messages = [*shared, Message("user", prompt("reviewer.md").format(findings=text))]
        reply, model, used = await caller.ask(
            kind="reviewer", lane=lane, selection=selection, messages=messages, schema=ReviewerReply
        )
        usage = usage + used
        calls = {j.id: j for j in reply.judgements}
        for i, f in enumerate(batch, 1):
            j = calls.get(i)
            if j is None:
                out.append(replace(f, verification=Verification.UNVERIFIED, verification_note="not judged"))
            else:
                out.append(replace(f, verification=Verification(j.verdict), verification_note=j.reason[:300]))
    return out, model, usage


async def critic_pass(
    caller: ModelCaller,
    selection: Selection,
    shared: Sequence[Message],
    findings: Sequence[Finding],
    contents: Contents | None,
    *,
    lane: str,
) -> tuple[list[Finding], int, Usage]:
    """Challenge confirmed HIGH and CRITICAL findings.

    Returns:
        All findings (severe ones upheld, downgraded or marked DISPROVED), how many the
        critic downgraded, and usage.
    """
    severe = [
        i
        for i, f in enumerate(findings)
        if f.verification is Verification.CONFIRMED and f.severity.at_least(Severity.HIGH)
    ]
    result = list(findings)
    usage = Usage()
    downgraded = 0
    for start in range(0, len(severe), _BATCH):
        idx = severe[start : start + _BATCH]
        text = "\n\n".join(describe(n, findings[i], contents) for n, i in enumerate(idx, 1))
        messages = [*shared, Message("user", prompt("critic.md").format(findings=text))]
        reply, _model, used = await caller.ask(
            kind="critic", lane=lane, selection=selection, messages=messages, schema=CriticReply
        )
        usage = usage + used
        calls = {j.id: j for j in reply.judgements}
        for n, i in enumerate(idx, 1):
            j = calls.get(n)
            f = result[i]
            if j is None or j.verdict == "UPHELD":
                continue
            note = f"critic: {j.reason[:300]}"
            if j.verdict == "DISPROVED":
                result[i] = replace(f, verification=Verification.DISPROVED, verification_note=note)
            elif j.severity is not None and Severity(j.severity).rank < f.severity.rank:
                result[i] = replace(f, severity=Severity(j.severity), verification_note=note)
                downgraded += 1
    return result, downgraded, usage
