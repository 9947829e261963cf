"""Which mutants a change gets: those on its changed lines, minus unexecuted lines, capped evenly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from swarm_core.changeset import ChangeSet
from swarm_core.config import MutationConfig, paths_match
from swarm_core.diff import FileStatus
from swarm_core.models import Side
from swarm_core.mutation.operators import Mutant, mutants_in

__all__ = ["ChangedFile", "Plan", "changed_files", "plan", "spread"]


@dataclass(frozen=True, slots=True)
class ChangedFile:
    """A Python file of the change: its head text and the line numbers the change added."""

    path: str
    source: str
    lines: frozenset[int]


@dataclass(frozen=True, slots=True)
class Plan:
    """The mutants to run, and what was left out and why.

    `uncovered` maps a path to the changed lines with mutants that no test executed;
    `capped` counts executed mutants left out by `max_mutants`.
    """

    mutants: tuple[Mutant, ...]
    generated: int
    uncovered: Mapping[str, tuple[int, ...]]
    capped: int

    @property
    def uncovered_mutants(self) -> int:
        """How many generated mutants sit on unexecuted lines (never run)."""
        return self.generated - len(self.mutants) - self.capped


def changed_files(change: ChangeSet, config: MutationConfig) -> list[ChangedFile]:
    """The Python files the change adds lines to, filtered by `mutation.paths`, in diff order."""
    out = []
    for fd in change.diff.files:
        if fd.status == FileStatus.DELETED or fd.binary or not fd.path.endswith(".py") or not fd.added:
            continue
        if not paths_match(config.paths.include, fd.path) or paths_match(config.paths.exclude, fd.path):
            continue
        data = change.contents.read(fd.path, Side.RIGHT)
        if data is None:
            continue
        out.append(ChangedFile(fd.path, data.decode("utf-8", "replace"), frozenset(fd.added)))
    return out


def plan(files: Sequence[ChangedFile], executed: Mapping[str, frozenset[int]], max_mutants: int) -> Plan:
    """The mutants of the changed lines that tests execute, at most `max_mutants`, spread over lines.

    `executed` maps a path to the lines a coverage run of the tests executed; a path it
    lacks was never imported, so all its lines count as unexecuted.
    """
    generated = [m for f in files for m in mutants_in(f.path, f.source, f.lines)]
    run = [m for m in generated if m.line in executed.get(m.path, frozenset())]
    uncovered: dict[str, set[int]] = {}
    for m in generated:
        if m.line not in executed.get(m.path, frozenset()):
            uncovered.setdefault(m.path, set()).add(m.line)
    chosen = spread(run, max_mutants)
    return Plan(
        mutants=tuple(chosen),
        generated=len(generated),
        uncovered={path: tuple(sorted(lines)) for path, lines in uncovered.items()},
        capped=len(run) - len(chosen),
    )


def spread(mutants: Iterable[Mutant], cap: int) -> list[Mutant]:
    """At most `cap` mutants, taken in rounds of one per line so every line gets its share.

    When a round has more lines than the cap left, the lines taken are evenly spaced
    through the change, not its first ones. The result keeps source order.
    """
    by_line: dict[tuple[str, int], list[Mutant]] = {}
    for m in mutants:
        by_line.setdefault((m.path, m.line), []).append(m)
    queues = list(by_line.values())
    chosen: list[Mutant] = []
    depth = 0
    while len(chosen) < cap:
        round_ = [q[depth] for q in queues if depth < len(q)]
        if not round_:
            break
        room = cap - len(chosen)
        if len(round_) > room:
            round_ = [round_[i * len(round_) // room] for i in range(room)]
        chosen.extend(round_)
        depth += 1
    kept = {id(m) for m in chosen}
    return [m for q in queues for m in q if id(m) in kept]
