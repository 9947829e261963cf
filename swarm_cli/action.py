"""`swarm action`: the entry point action.yml calls inside a GitHub Actions job."""

from __future__ import annotations

import os

import click


@click.command("action")
def action_command() -> int:
    """Run inside GitHub Actions (action.yml calls this): act on the workflow's event.

    Reads GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_TOKEN and the action's inputs
    (SWARM_INPUT_*); writes the job summary, step outputs, annotations and a SARIF file.
    Exit code: 1 when a finding reaches fail-on, 2 when the workflow must be fixed.
    """
    from action.env import ActionEnv
    from action.run import run_action

    return run_action(ActionEnv.from_environ(os.environ)).exit_code
