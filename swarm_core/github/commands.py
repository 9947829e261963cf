"""`/swarm` commands in comments (DESIGN §5), parsed from untrusted text without side effects."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ALLOWED", "COMMANDS", "HELP", "Command", "parse_command"]

# The permissions that may run commands and teach swarm (a 👎, a reply): write access.
ALLOWED = frozenset({"admin", "maintain", "write"})

COMMANDS = (
    "pr-review",
    "issue",
    "council",
    "ask",
    "describe",
    "help",
    "pause",
    "resume",
    "learn",
    "learnings",
)
_LEAD = re.compile(r"^\s*(/swarm|@swarm)\b[ \t]*(.*)$", re.IGNORECASE)
_MAX_TEXT = 4000
_NEEDS_TEXT = {
    "council": "`council` needs a question, e.g. `/swarm council should we use gRPC here?`",
    "ask": "`ask` needs a question, e.g. `/swarm ask why is the lock taken twice here?`",
    "learn": "`learn` needs a text, e.g. `/swarm learn --rule bandit/B101 asserts are fine in tests`",
}

HELP = """\
**swarm commands** (people with write access to this repository; `ask` needs read access):

| command | what it does |
|---|---|
| `/swarm pr-review [--council] [--full] [instructions]` | review what changed since the last review \
(`--full`: all of it; `--council`: adversarial lanes) |
| `/swarm issue [--trace] [--no-repro]` | analyse this issue: symptoms, likely fault, fix specification |
| `/swarm council <question>` or `@swarm council <question>` | several models answer, then a synthesis |
| `/swarm ask <question>` | answer a question about this pull request (on a diff line: about that line) |
| `/swarm describe` | post a walkthrough of the change: files by purpose, API changes, risks |
| `/swarm pause` / `/swarm resume` | stop / restart automatic reviews of this pull request |
| `/swarm learn [--path GLOB] [--rule ID] [--lane NAME] [--keep] <text>` | \
teach swarm what this team does not want flagged (`--keep`: does want) |
| `/swarm learnings` | list what swarm learned for this repository |
| `/swarm help` | this table |
"""


# Options that take a value (`--path src/**`), per command.
_VALUED = {"learn": frozenset({"--path", "--rule", "--lane"})}
_ALLOWED = {
    "pr-review": frozenset({"--council", "--full"}),
    "issue": frozenset({"--trace", "--no-repro"}),
    "learn": frozenset({"--keep"}),
}


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command. `text` is the rest of the line (instructions or a question), untrusted.

    `options` holds the valued options (`--path GLOB`) as (name, value) pairs, in order.
    """

    name: str
    flags: frozenset[str] = frozenset()
    text: str = ""
    error: str = ""
    options: tuple[tuple[str, str], ...] = ()

    def option(self, name: str) -> str:
        """The value of a valued option ("" when it was not given; the last one wins)."""
        return next((value for key, value in reversed(self.options) if key == name), "")


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
        valued = _VALUED.get(name, frozenset())
        flags, options, text = _flags(tail.strip(), valued)
        allowed = _ALLOWED.get(name, frozenset())
        unknown = sorted(flags - allowed)
        missing = [key for key, value in options if not value]
        if unknown or missing:
            error = f"unknown option {unknown[0]}" if unknown else f"option {missing[0]} needs a value"
            return Command(name, frozenset(flags & allowed), text[:_MAX_TEXT], error, tuple(options))
        if name in _NEEDS_TEXT and not text:
            return Command(name, error=_NEEDS_TEXT[name])
        return Command(name, frozenset(flags), text[:_MAX_TEXT], options=tuple(options))
    return None


def _flags(text: str, valued: frozenset[str] = frozenset()) -> tuple[set[str], list[tuple[str, str]], str]:
    """Leading `--options` (those in `valued` take the next word), then the free text (kept as written)."""
    flags: set[str] = set()
    options: list[tuple[str, str]] = []
    rest = text
    while rest.startswith("--"):
        token, _, rest = rest.partition(" ")
        rest = rest.lstrip()
        name = token.lower()
        if name in valued:
            value, _, rest = rest.partition(" ")
            options.append((name, "" if value.startswith("--") else value))
            rest = rest.lstrip() if not value.startswith("--") else f"{value} {rest}".strip()
        else:
            flags.add(name)
    return flags, options, rest.strip()
