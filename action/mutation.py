"""The Action's side of the mutation gate: whether it may run here, running it, and what it adds.

The gate executes the pull request's code (its tests), so it needs two opt-ins: the
repository's `mutation.enabled: true` and the workflow owner's `mutation: true` input. It
never runs on `pull_request_target`, and the tests never see the job's credentials.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from action.env import ActionEnv
from swarm_core import ChangeSet, MutationError, Review, SwarmConfig
from swarm_core.mutation import GateResult, gate_markdown, refusal, run_gate, with_gate

__all__ = ["mutation_gate"]

log = logging.getLogger("swarm.action")


def mutation_gate(
    env: ActionEnv, config: SwarmConfig, change: ChangeSet, review: Review
) -> tuple[Review, str, str | None]:
    """The review with the gate's findings, the job summary's section ("" when it did not
    run), and a note for the review when one of the opt-ins is missing or the event is refused."""
    wanted, enabled = env.mutation, config.mutation.enabled
    if not wanted and not enabled:
        return review, "", None
    if not wanted:
        return (
            review,
            "",
            (
                "mutation.enabled is true in the config, but the workflow does not set the `mutation: true` "
                "input, so the mutation gate did not run (it executes the pull request's tests)"
            ),
        )
    if not enabled:
        return (
            review,
            "",
            (
                "the workflow sets `mutation: true`, but the config's mutation.enabled is false, so the "
                "mutation gate did not run"
            ),
        )
    why = refusal(env.event_name)
    if why is not None:
        log.warning("mutation gate refused: %s", why)
        result = GateResult("refused", config.mutation.test_command, why)
        return with_gate(review, result, change), gate_markdown(result, repo=change.repo), None
    root = env.workspace or Path()
    try:
        result = run_gate(
            change,
            config.mutation,
            root,
            event=env.event_name,
            environ=env.environ,
            secrets=env.secrets(),
            workers=os.cpu_count(),
        )
    except (MutationError, OSError) as exc:  # a command that is not Python; no room for the copies
        result = GateResult("broken", config.mutation.test_command, str(exc))
    log.info("mutation gate %s in %.1f s", result.status, result.seconds)
    return with_gate(review, result, change), gate_markdown(result, repo=change.repo), None
