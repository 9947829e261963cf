"""Review datasets: JSON lines of {repo, base, head, golden comments}, and an optional LLM judge.

One case per line (docs/evaluation.md shows how to convert a public benchmark):

    {"id": "httpx-3071", "repo": "encode/httpx", "base": "<sha>", "head": "<sha>",
     "golden": [{"path": "httpx/_urls.py", "line": 120, "severity": "high", "body": "..."}]}

Cases are scored by location (scoring.match_golden). With a judge model, each case's golden
comments and findings go to the judge inside the prompt fence (both are text someone else
wrote) and it says which finding, if any, makes each golden comment's point; the prompt,
the reply and the verdicts are kept as the case's evidence.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from swarm_core.errors import ConfigError
from swarm_core.evaluation.scoring import Golden
from swarm_core.lanes.fence import untrusted
from swarm_core.model_calls import ModelCaller
from swarm_core.models import Finding
from swarm_core.prompts import prompt
from swarm_core.providers import Message
from swarm_core.router import Selection

__all__ = ["Case", "JudgeReply", "JudgeVerdict", "judge_case", "load_dataset"]


@dataclass(frozen=True, slots=True)
class Case:
    """One dataset case: a change and the comments a good review makes on it."""

    id: str
    repo: str
    base: str
    head: str
    golden: tuple[Golden, ...]


def _golden(raw: Any, where: str) -> Golden:
    if not isinstance(raw, dict) or not isinstance(raw.get("path"), str) or not raw["path"]:
        raise ConfigError(f"{where}: each golden comment needs a path (a string)")
    line = raw.get("line")
    if line is not None and (not isinstance(line, int) or isinstance(line, bool) or line < 1):
        raise ConfigError(f"{where}: golden line must be a positive integer or null, not {line!r}")
    extra = {k: v for k, v in raw.items() if k not in ("path", "line", "severity", "body")}
    return Golden(raw["path"], line, str(raw.get("severity") or ""), str(raw.get("body") or ""), extra)


def _case(raw: Any, where: str, n: int) -> Case:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a JSON object")
    for key in ("repo", "base", "head"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"{where}: missing {key!r} (a string)")
    golden = raw.get("golden", [])
    if not isinstance(golden, list):
        raise ConfigError(f"{where}: 'golden' must be a list of comments")
    return Case(
        str(raw.get("id") or f"case-{n}"),
        raw["repo"].strip(),
        raw["base"].strip(),
        raw["head"].strip(),
        tuple(_golden(g, where) for g in golden),
    )


def load_dataset(path: Path) -> list[Case]:
    """The cases of a dataset file.

    Raises:
        ConfigError: the file cannot be read, a line is not JSON, a case lacks repo/base/head,
            a golden comment lacks a path, or two cases share an id. The message names the line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read dataset {path}: {exc.strerror or exc}") from None
    cases: list[Case] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not JSON: {exc.msg}") from None
        cases.append(_case(raw, where, len(cases) + 1))
    if not cases:
        raise ConfigError(f"dataset {path} has no cases (one JSON object per line)")
    ids = [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"dataset {path}: case ids repeat: {', '.join(dupes)}")
    return cases


class JudgeVerdict(BaseModel):
    """The judge's word on one golden comment."""

    golden: int = Field(ge=0)
    finding: int | None = Field(default=None, ge=0)
    reason: str = ""


class JudgeReply(BaseModel):
    """The judge's reply: one verdict per golden comment."""

    model_config = ConfigDict(extra="forbid")

    verdicts: list[JudgeVerdict]


def _judge_messages(golden: Sequence[Golden], findings: Sequence[Finding]) -> list[Message]:
    comments = "\n\n".join(
        f"[{i}] {g.path}:{g.line or ''} ({g.severity})\n{g.body}" for i, g in enumerate(golden)
    )
    found = "\n\n".join(
        f"[{i}] {f.path}:{f.line or ''} ({f.severity.value}) {f.title}\n{f.message}"
        for i, f in enumerate(findings)
    )
    user = "\n\n".join(
        [
            "Golden review comments:",
            untrusted("golden comments", comments or "(none)"),
            "Findings of the review under test:",
            untrusted("findings", found or "(none)"),
        ]
    )
    return [Message("system", prompt("eval_judge.md")), Message("user", user)]


async def judge_case(
    caller: ModelCaller, model: str, golden: Sequence[Golden], findings: Sequence[Finding]
) -> tuple[list[bool], list[bool], list[dict[str, Any]]]:
    """Ask the judge which finding makes each golden comment's point.

    Args:
        caller: the model caller (its exchanges are the evidence).
        model: the judge, `provider/model`.
        golden: the case's golden comments.
        findings: the review's findings, in report order.

    Returns:
        (which findings matched, which golden comments matched, the verdicts as data).

    Raises:
        LimitReached, MalformedOutput, ProviderError: the judge could not answer.
    """
    matched_f = [False] * len(findings)
    matched_g = [False] * len(golden)
    if not golden:
        return matched_f, matched_g, []
    reply, _, _ = await caller.ask(
        kind="judge",
        lane="eval",
        selection=Selection(model, "the eval judge", 0.0, 0),
        messages=_judge_messages(golden, findings),
        schema=JudgeReply,
    )
    verdicts = []
    for v in reply.verdicts:
        if v.golden >= len(golden) or matched_g[v.golden]:
            continue  # a verdict about a comment that does not exist, or a second one: ignored
        fi = (
            v.finding
            if v.finding is not None and v.finding < len(findings) and not matched_f[v.finding]
            else None
        )
        if fi is not None:
            matched_f[fi] = matched_g[v.golden] = True
        verdicts.append({"golden": v.golden, "finding": fi, "reason": v.reason[:500]})
    return matched_f, matched_g, verdicts
