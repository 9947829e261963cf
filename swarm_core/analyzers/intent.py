"""What a change's title says it is: a change that keeps behaviour (refactor, speed-up, typing).

A pull request titled "refactor: ...", "Speed up ..." or "Use new typing style" declares
that what the code does stays the same, and that the existing tests are what proves it:
"behaviour changed with no test change" is then no finding (more-itertools 32652582,
python-multipart d1b57392, tenacity ac9c21fc, packaging 3c6e2aab, httpcore 127505be, httpx
6212e8fa in bench/data/noise_labels.jsonl). A title that also says it fixes, adds or
changes something keeps the finding. The title is untrusted text: it only ever removes this
one low-cost nudge, never a finding about the code itself.
"""

from __future__ import annotations

import re

__all__ = ["keeps_behaviour"]

# Conventional Commits types that do not change behaviour.
_KEEPING_TYPE = re.compile(
    r"^\s*(?:refactor|perf|style|chore|build|ci|docs|test|tests|typing)(?:\([^)]*\))?!?:", re.I
)
_KEEPING_WORDS = re.compile(
    r"\b(?:refactor\w*|speed\s*-?\s*ups?|micro-?optimi[sz]\w*|optimi[sz](?:e|es|ed|ing|ation)|typing"
    r"|type hints?|reformat\w*)\b",
    re.I,
)
# Words that announce a behaviour change, whatever else the title says ("refactor: fix ...").
_CHANGING_WORDS = re.compile(
    r"\b(?:fix\w*|bug\w*|feat\w*|add\w*|support\w*|allow\w*|remov\w*|drop\w*|break\w*|handle\w*"
    r"|correct\w*|prevent\w*|accept\w*|restor\w*|revert\w*)\b",
    re.I,
)


def keeps_behaviour(title: str) -> bool:
    """True when a change's title says it keeps behaviour and names no change of it.

    A Conventional Commits type (`refactor:`, `perf:`) or a word ("speed up", "typing",
    "reformat") says so ("simplify" does not: simplifying is how fixes get undone); a word
    such as fix, add, support, remove or revert anywhere in the title takes it back.
    """
    title = title.strip()
    if not title or _CHANGING_WORDS.search(title):
        return False
    return bool(_KEEPING_TYPE.match(title) or _KEEPING_WORDS.search(title))
