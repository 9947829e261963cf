"""`/swarm` commands in comments (DESIGN §5), parsed from untrusted text without side effects."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["COMMANDS", "HELP", "Command", "parse_command"]

COMMANDS = ("pr-review", "issue", "council", "ask", "describe", "help", "pause", "resume")
_LEAD = re.compile(r"^\s*(/swarm|@swarm)\b[ \t]*(.*)$", re.IGNORECASE)
_MAX_TEXT = 4000
_NEEDS_QUESTION = {
    "council": "`council` needs a question, e.g. `/swarm council should we use gRPC here?`",
    "ask": "`ask` needs a question, e.g. `/swarm ask why is the lock taken twice here?`",
}

HELP = """\
**swarm commands** (people with write access to this repository; `ask` needs read access):

| command | what it does |
|---|---|
| `/swarm pr-review [--council] [instructions]` | review this pull request again (adversarial lanes) |
| `/swarm issue [--trace] [--no-repro]` | analyse this issue: symptoms, likely fault, fix specification |
| `/swarm council <question>` or `@swarm council <question>` | several models answer, then a synthesis |
| `/swarm ask <question>` | answer a question about this pull request (on a diff line: about that line) |
| `/swarm describe` | post a walkthrough of the change: files by purpose, API changes, risks |
| `/swarm pause` / `/swarm resume` | stop / restart automatic reviews of this pull request |
| `/swarm help` | this table |
"""


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command. `text` is the rest of the line (instructions or a question), untrusted."""

    name: str
    flags: frozenset[str] = frozenset()
    text: str = ""
    error: str = ""


def parse_command(body: str | None) -> Command | None:
    """The first `/swarm …` (or `@swarm council …`) line of a comment, or None when there is none.

    An unknown command or flag parses to a Command with `error` set, so the author gets a
    helpful reply instead of silence. Only the first command in a comment counts.
    """
    if not body:
        return None
    for line in body.splitlines():
        m = _LEAD.match(line)
        if not m:
            continue
        lead, rest = m.group(1).lower(), m.group(2).strip()
        word, _, tail = rest.partition(" ")
        name = word.lower() or "help"
        if lead == "@swarm" and name != "council":
            return None  # a plain mention is not a command
        if name not in COMMANDS:
            return Command("help", error=f"unknown command `{word}`")
        flags, text = _flags(tail.strip())
        allowed = {"pr-review": {"--council"}, "issue": {"--trace", "--no-repro"}}.get(name, set())
        unknown = sorted(flags - allowed)
        if unknown:
            return Command(name, frozenset(flags & allowed), text[:_MAX_TEXT], f"unknown option {unknown[0]}")
        if name in _NEEDS_QUESTION and not text:
            return Command(name, error=_NEEDS_QUESTION[name])
        return Command(name, frozenset(flags), text[:_MAX_TEXT])
    return None


def _flags(text: str) -> tuple[set[str], str]:
    """Leading `--options`, then the free text (kept as written)."""
    flags: set[str] = set()
    rest = text
    while rest.startswith("--"):
        token, _, rest = rest.partition(" ")
        flags.add(token.lower())
        rest = rest.lstrip()
    return flags, rest.strip()
