"""`/swarm` commands in comments (DESIGN §5), parsed from untrusted text without side effects."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["COMMANDS", "HELP", "Command", "parse_command"]

COMMANDS = ("pr-review", "issue", "council", "help", "pause", "resume")
_LEAD = re.compile(r"^\s*(/swarm|@swarm)\b[ \t]*(.*)$", re.IGNORECASE)
_MAX_TEXT = 4000

HELP = """\
**swarm commands** (people with write access to this repository):

| command | what it does |
|---|---|
| `/swarm pr-review [--council] [--full] [instructions]` | review what changed since the last review \
(`--full`: all of it; `--council`: adversarial lanes) |
| `/swarm issue [--trace] [--no-repro]` | analyse this issue: symptoms, likely fault, fix specification |
| `/swarm council <question>` or `@swarm council <question>` | several models answer, then a synthesis |
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
        allowed = {"pr-review": {"--council", "--full"}, "issue": {"--trace", "--no-repro"}}.get(name, set())
        unknown = sorted(flags - allowed)
        if unknown:
            return Command(name, frozenset(flags & allowed), text[:_MAX_TEXT], f"unknown option {unknown[0]}")
        if name == "council" and not text:
            return Command(
                name, error="`council` needs a question, e.g. `/swarm council should we use gRPC here?`"
            )
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
