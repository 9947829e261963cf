"""`swarm mutation`: the mutation gate on a local git range, run against the working tree's tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from swarm_cli import environment, options

EXIT_GATE = 1


@click.command("mutation")
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False), help="Git repository (default: .).")
@click.option("--base", help="Base ref (default: merge base with the default branch).")
@click.option("--head", help="Head ref (default: HEAD); the working tree must hold it.")
@options.config_option(f"Config file (default: REPO/{options.CONFIG_PATH}); its mutation: section.")
@click.option("--test-command", help="The tests to run (default: mutation.test_command).")
@click.option(
    "--max-mutants", type=click.IntRange(min=1), help="Mutants run at most (default: mutation.max_mutants)."
)
@click.option(
    "--workers", type=click.IntRange(min=1), help="Parallel copies of the checkout (default: CPUs)."
)
@click.option(
    "--fail", is_flag=True, help="Exit 1 on surviving mutants or uncovered lines, as fail_action FAIL."
)
def mutation_command(
    repo: Path | None,
    base: str | None,
    head: str | None,
    config_path: Path | None,
    test_command: str | None,
    max_mutants: int | None,
    workers: int | None,
    fail: bool,
) -> int:
    """Mutate the changed lines of a git range and run the tests against each mutant.

    Runs whatever `mutation.enabled` says (you asked for it); the tests run in copies of
    the repository with credentials removed from their environment.

    \b
    Examples:
      swarm mutation --base main
      swarm mutation --base HEAD~1 --test-command "python -m pytest -x -q tests/unit" --fail
    """
    from swarm_core import from_git, merge
    from swarm_core.mutation import gate_findings, gate_markdown, run_gate

    root = repo if repo is not None else Path()
    config = environment.find_config(config_path, root)
    overrides: dict[str, Any] = {}
    if test_command is not None:
        overrides["test_command"] = test_command
    if max_mutants is not None:
        overrides["max_mutants"] = max_mutants
    if fail:
        overrides["fail_action"] = "FAIL"
    if overrides:
        config = merge(config, {"mutation": overrides})
    change = from_git(root, base, head, max_diff_bytes=config.limits.max_diff_bytes)
    result = run_gate(change, config.mutation, root, event="local", environ=os.environ, workers=workers)
    click.echo(gate_markdown(result))
    failed = config.mutation.fails and bool(gate_findings(result, change))
    return EXIT_GATE if failed else 0
