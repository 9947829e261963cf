"""What the gate tells a reviewer: tests-lane findings, the review's note, the job summary, the verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from swarm_core.changeset import ChangeSet, split_lines
from swarm_core.config import SwarmConfig
from swarm_core.models import Finding, Lane, Review, Severity, Side
from swarm_core.mutation.operators import Mutant
from swarm_core.mutation.runner import GateResult
from swarm_core.render.sanitize import sanitize
from swarm_core.stages.verdict import verdict_for
from swarm_core.stages.verify import anchor, fingerprint

__all__ = ["MUTATION_RULES", "gate_fails", "gate_findings", "gate_markdown", "gate_note", "with_gate"]

SURVIVED = "tests/mutation-survived"
UNCOVERED = "tests/mutation-uncovered"
MUTATION_RULES = frozenset({SURVIVED, UNCOVERED})

_ADVICE = {
    "comparison": "Add a test at the boundary, where the two sides are equal (or the membership "
    "or identity flips): it passes with one operator and fails with the other.",
    "boolean": "Add a test where exactly one of the conditions holds, or where the negated "
    "condition is false, and assert what happens then.",
    "constant": "Add an assertion that depends on this exact value.",
    "return": "Assert on the value the function returns, not only that it runs.",
    "call": "Assert on what this call does (its side effect, or the state it changes).",
    "arithmetic": "Assert on the computed value, with operands that are not zero.",
}


def _ranges(lines: Sequence[int]) -> str:
    out: list[str] = []
    start = prev = lines[0]
    for n in [*lines[1:], -1]:
        if n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    return ", ".join(out)


def gate_findings(result: GateResult, change: ChangeSet) -> tuple[Finding, ...]:
    """One finding per line with surviving mutants, and one per file with unexecuted changed lines.

    Anchored to the diff and fingerprinted like every other finding, so a re-run does not
    post them twice.
    """
    if result.plan is None:
        return ()
    by_line: dict[tuple[str, int], list[Mutant]] = {}
    for outcome in result.survivors:
        by_line.setdefault((outcome.mutant.path, outcome.mutant.line), []).append(outcome.mutant)
    found: list[Finding] = []
    for (path, line), mutants in by_line.items():
        first = mutants[0]
        also = [m.description for m in mutants[1:]]
        message = (
            f"The tests still pass when {first.description} on this line, so no test checks "
            "this behaviour."
            + (f" They also pass when {'; when '.join(also)}." if also else "")
            + f"\n\n{_ADVICE[first.operator]}"
        )
        found.append(_finding(path, line, SURVIVED, f"Tests still pass when {first.plain} here", message))
    for path, lines in result.plan.uncovered.items():
        found.append(
            _finding(
                path,
                lines[0],
                UNCOVERED,
                f"{len(lines)} changed line(s) of {path} run in no test",
                f"No test executes line(s) {_ranges(lines)} of {path}, which this change adds or edits, "
                "so no test can notice a mistake there. Add a test that calls this code.",
            )
        )
    return tuple(_placed(f, change) for f in found)


def _finding(path: str, line: int, rule: str, title: str, message: str) -> Finding:
    return Finding(
        path=path,
        line=line,
        severity=Severity.MEDIUM,
        lane=Lane.TESTS,
        category="tests",
        rule=rule,
        title=title,
        message=message,
        source="mutation",
    )


def _placed(f: Finding, change: ChangeSet) -> Finding:
    data = change.contents.read(f.path, Side.RIGHT)
    code = split_lines(data)[f.line - 1 : f.line] if data is not None and f.line else ()
    return replace(anchor(f, change.diff), evidence="\n".join(code), fingerprint=fingerprint(f, code))


def gate_note(result: GateResult) -> str:
    """One line for the review's notes: the change's mutation score, or why there is none."""
    if result.status != "ran" or result.plan is None:
        return f"Mutation gate {result.status}: {result.reason.splitlines()[0] if result.reason else ''}"
    uncovered = sum(len(v) for v in result.plan.uncovered.values())
    score = f"{result.score:.0%}" if result.score is not None else "n/a (no executed mutant)"
    return (
        f"Mutation score of the change: {score} ({len(result.outcomes) - len(result.survivors)} of "
        f"{len(result.outcomes)} mutants killed, {len(result.survivors)} survived); "
        f"{uncovered} changed line(s) run in no test."
    )


def gate_markdown(result: GateResult, *, repo: str = "") -> str:
    """The job summary's section: the score, the counts, and exactly what was executed."""
    head = ["### 🧬 Mutation gate", ""]
    if result.status != "ran" or result.plan is None:
        reason = sanitize(result.reason, repo=repo)
        return "\n".join([*head, f"**{result.status}**: {reason}", *_notes(result, repo)])
    plan = result.plan
    uncovered = sum(len(v) for v in plan.uncovered.values())
    lines = [
        *head,
        gate_note(result),
        "",
        "| generated | run | killed | survived | timed out | uncovered lines | over cap | out of time |",
        "|---|---|---|---|---|---|---|---|",
        f"| {plan.generated} | {len(result.outcomes)} | {result.count('killed')} "
        f"| {result.count('survived')} | {result.count('timeout')} | {uncovered} | {plan.capped} "
        f"| {result.not_run} |",
        "",
        f"Executed: `{result.command}` once under `coverage run` ({result.coverage_seconds:.1f} s), "
        f"then once per mutant in {result.workers} parallel copies of the checkout "
        f"(timeout {result.mutant_timeout:.0f} s each, credentials removed from the environment); "
        f"{len(result.outcomes)} mutant(s), {result.seconds:.1f} s in all.",
    ]
    if result.survivors:
        lines += ["", "Surviving mutants:", ""]
        lines += [
            sanitize(f"- `{o.mutant.path}:{o.mutant.line}` {o.mutant.description}", repo=repo)
            for o in result.survivors[:100]
        ]
    if plan.uncovered:
        lines += ["", "Changed lines no test runs:", ""]
        lines += [sanitize(f"- `{path}`: {_ranges(ls)}", repo=repo) for path, ls in plan.uncovered.items()]
    if result.outcomes:
        lines += ["", f"<details><summary>Every mutant run ({len(result.outcomes)})</summary>", ""]
        lines += [
            sanitize(
                f"- `{o.mutant.path}:{o.mutant.line}` {o.mutant.description}: {o.status}, {o.seconds:.1f} s"
            )
            for o in result.outcomes[:300]
        ]
        lines += ["", "</details>"]
    return "\n".join(lines + _notes(result, repo))


def _notes(result: GateResult, repo: str) -> list[str]:
    return ["", *(f"> {sanitize(n, repo=repo)}" for n in result.notes)] if result.notes else []


def with_gate(review: Review, result: GateResult, change: ChangeSet) -> Review:
    """The review with the gate's findings in the tests lane, its note, and the verdict again."""
    found = gate_findings(result, change)
    findings = review.findings + found
    lanes = tuple(
        replace(lane, findings=lane.findings + found) if lane.lane is Lane.TESTS else lane
        for lane in review.lanes
    )
    return replace(
        review,
        findings=findings,
        lanes=lanes,
        verdict=verdict_for(findings),
        notes=(*review.notes, gate_note(result)),
    )


def gate_fails(review: Review, config: SwarmConfig) -> bool:
    """True when `mutation.fail_action` is FAIL and the review holds a surviving or uncovered finding."""
    return config.mutation.fails and any(f.rule in MUTATION_RULES for f in review.confirmed())
