"""`swarm config check`: validate a review configuration file and print precise errors."""

from __future__ import annotations

from pathlib import Path

import click

from swarm_cli.options import CONFIG_PATH


@click.group("config")
def config_group() -> None:
    """Check the review configuration."""


@config_group.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False), default=Path(), show_default=True)
def config_check(path: Path | None, repo: Path) -> int:
    """Validate a config file (default: REPO/.github/swarm.yml) and print precise errors."""
    from swarm_core import load_config

    target = path if path is not None else repo / CONFIG_PATH
    if path is None and not target.is_file():
        click.echo(f"no config at {target}; the defaults apply")
        return 0
    load_config(target)
    click.echo(f"ok: {target} is valid")
    return 0
