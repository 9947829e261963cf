"""Turning the team's feedback into learning drafts: replies, 👎 reactions, resolved threads, `/swarm learn`.

Pure functions over data the App read from GitHub. Replies are classified by phrases a
reviewer writes when a finding is wrong for this codebase ("false positive", "this is
intended", "by design") or right ("good catch"); quoted lines (`> ...`) are the finding
itself and are not read, and a reply that says both, or negates the intent ("this is not
intended"), teaches nothing.
"""

from __future__ import annotations

import re

from swarm_core.learnings.learning import KEEP, SUPPRESS, LearningDraft, Scope
from swarm_core.models import Finding

__all__ = [
    "COMMAND_CONFIDENCE",
    "REACTION_CONFIDENCE",
    "REPLY_CONFIDENCE",
    "RESOLVED_CONFIDENCE",
    "learning_from_command",
    "learning_from_reaction",
    "learning_from_reply",
    "learning_from_resolution",
]

# How much each source says: a command is deliberate; a reply states a reason; a 👎 or a
# silent resolution only says "not useful" (two of them merged reach the suppress level).
COMMAND_CONFIDENCE = 0.9
REPLY_CONFIDENCE = 0.7
REACTION_CONFIDENCE = 0.6
RESOLVED_CONFIDENCE = 0.5

_MAX_READ = 2000
_MAX_QUOTE = 300

_DISMISS = re.compile(
    r"\bfalse[- ]?positives?\b"
    r"|\b(?:this|that|it)(?: is|'s| was)? (?:intended|intentional|deliberate|on purpose|by design|expected)\b"
    r"|\b(?:works|working) as (?:intended|designed|expected)\b"
    r"|\bby design\b"
    r"|\bnot (?:a|an) (?:bug|issue|problem|concern)\b"
    r"|\b(?:won'?t|will not) fix\b|\bwontfix\b"
    r"|\bnot (?:applicable|relevant) (?:here|to us|in this (?:repo|codebase|project))\b"
    r"|\bintentional(?:ly)?\b",
    re.IGNORECASE,
)
_NEGATED_INTENT = re.compile(
    r"\b(?:not|n't|never)\s+(?:intended|intentional|deliberate|on purpose|by design|expected)\b"
    r"|\bunintended\b",
    re.IGNORECASE,
)
_CONFIRM = re.compile(
    r"\b(?:good|nice|great) catch\b|\btrue positive\b|\bvalid (?:point|finding|issue|concern)\b"
    r"|\breal (?:bug|issue|problem)\b|\b(?:you'?re|you are) right\b",
    re.IGNORECASE,
)


def _own_words(text: str) -> str:
    """The reply without the lines it quotes, on one line."""
    kept = [line for line in text[:_MAX_READ].splitlines() if not line.lstrip().startswith(">")]
    return " ".join(" ".join(kept).split())


def _scope_of(f: Finding) -> Scope:
    # The file the finding was on, exactly: one person's feedback on one site should not
    # silence the rule across the repository (a `/swarm learn --path` does that on purpose).
    return Scope(path=f.path, rule=f.rule, lane=f.lane.value)


def _dismissed(finding: Finding, how: str, confidence: float, source: str, origin: str) -> LearningDraft:
    """A SUPPRESS draft for a finding someone dismissed without saying why."""
    return LearningDraft(
        text=f"`{finding.rule}` findings in {finding.path} {how}",
        scope=_scope_of(finding),
        confidence=confidence,
        source=source,
        origin=origin,
    )


def _quote(text: str) -> str:
    return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 1] + "…"


def learning_from_reply(text: str, finding: Finding, source: str = "") -> LearningDraft | None:
    """What a reply in one of swarm's review threads teaches, if anything.

    Args:
        text: the reply's body (untrusted).
        finding: the finding the thread is about.
        source: the reply's URL.

    Returns:
        A SUPPRESS draft for "false positive" / "this is intended" / "by design", a KEEP
        draft for "good catch" / "real bug", None for anything else or a reply saying both.
    """
    words = _own_words(text)
    if not words or _NEGATED_INTENT.search(words):
        return None
    dismiss, confirm = bool(_DISMISS.search(words)), bool(_CONFIRM.search(words))
    if dismiss == confirm:
        return None
    effect = SUPPRESS if dismiss else KEEP
    said = "not wanted here" if dismiss else "wanted"
    return LearningDraft(
        text=f"`{finding.rule}` findings ({finding.title}) are {said}: {_quote(words)}",
        scope=_scope_of(finding),
        confidence=REPLY_CONFIDENCE,
        source=source,
        origin="reply",
        effect=effect,
    )


def learning_from_reaction(
    content: str, user_type: str, finding: Finding, source: str
) -> LearningDraft | None:
    """A 👎 (`-1`) by a person on swarm's comment about `finding`; other reactions teach nothing."""
    if content != "-1" or user_type == "Bot":
        return None
    return _dismissed(finding, "were marked not useful (👎)", REACTION_CONFIDENCE, source, "reaction")


def learning_from_resolution(
    finding: Finding, resolved_by_type: str, changed_at_site: bool, source: str
) -> LearningDraft | None:
    """A thread a person resolved while the code at the finding's site stayed as it was.

    Args:
        finding: the thread's finding.
        resolved_by_type: the resolver's account type ("User", "Bot"); swarm resolving its
            own fixed threads teaches nothing.
        changed_at_site: whether a later head changed the lines the finding sat on.
        source: the thread's URL.
    """
    if changed_at_site or resolved_by_type == "Bot":
        return None
    return _dismissed(finding, "were resolved without a change", RESOLVED_CONFIDENCE, source, "resolved")


def learning_from_command(text: str, scope: Scope, *, keep: bool, source: str) -> LearningDraft:
    """`/swarm learn [--path GLOB] [--rule ID] [--lane NAME] [--keep] <text>` (write access checked)."""
    return LearningDraft(
        text=_quote(" ".join(text.split())),
        scope=scope,
        confidence=COMMAND_CONFIDENCE,
        source=source,
        origin="command",
        effect=KEEP if keep else SUPPRESS,
    )
