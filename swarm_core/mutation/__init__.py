"""The mutation gate: do the tests notice small changes to the lines a pull request changed?

operators  the AST operator set: mutants as source edits (pure)
plan       the changed files, the mutants on executed changed lines, capped evenly (pure)
sandbox    the scrubbed environment of the tests, and the events the gate refuses (pure)
coverage   the test command under `coverage run`, and its report read back
runner     coverage once, then each mutant's tests in parallel copies of the checkout (I/O)
report     tests-lane findings, the score note, the job summary and the check's conclusion

Only the Action (with `mutation: true`) and `swarm mutation` run it; the App never does.
"""

from __future__ import annotations

from swarm_core.mutation.operators import OPERATORS, Mutant, apply, mutants_in
from swarm_core.mutation.plan import ChangedFile, Plan, changed_files, plan, spread
from swarm_core.mutation.report import (
    MUTATION_RULES,
    gate_fails,
    gate_findings,
    gate_markdown,
    gate_note,
    with_gate,
)
from swarm_core.mutation.runner import GateResult, Outcome, run_gate, run_process
from swarm_core.mutation.sandbox import REFUSED_EVENTS, refusal, scrubbed_environment

__all__ = [
    "MUTATION_RULES",
    "OPERATORS",
    "REFUSED_EVENTS",
    "ChangedFile",
    "GateResult",
    "Mutant",
    "Outcome",
    "Plan",
    "apply",
    "changed_files",
    "gate_fails",
    "gate_findings",
    "gate_markdown",
    "gate_note",
    "mutants_in",
    "plan",
    "refusal",
    "run_gate",
    "run_process",
    "scrubbed_environment",
    "spread",
    "with_gate",
]
