"""The options several commands share, each defined once with its choices and help.

Choices that the engine also owns (severities, report formats, cost groupings, the config
path) are spelled here rather than imported: importing `swarm_core.render` or
`swarm_core.store` to build a `--help` page would load the renderers and SQLAlchemy, and
`swarm --version` would pay for every command's choices. A test keeps the spellings equal.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# Mirrors of swarm_core.models.Severity's values, swarm_core.render.FORMATS,
# swarm_core.store.runs.COST_GROUPS, swarm_core.config.CONFIG_PATH and swarm_core.logs.LOG_FORMATS
# (tests/test_cli_startup.py checks they match).
SEVERITIES = ("critical", "high", "medium", "low")
FORMATS = ("terminal", "markdown", "json", "sarif")
COST_GROUPS = ("run", "repo", "lane", "model", "kind")
CONFIG_PATH = ".github/swarm.yml"
# swarm_core.logs.LOG_FORMATS.
LOG_FORMATS = ("text", "json")

FORMAT = click.Choice(FORMATS)
FAIL_ON = click.Choice([*SEVERITIES, "never"], case_sensitive=False)
_MODES = click.Choice(["parallel", "sequential", "hierarchical"])
_GOALS = click.Choice(["cost", "quality", "balanced", "speed"])
_FILE = click.Path(path_type=Path, dir_okay=False)


def format_option(
    choices: click.Choice[str] = FORMAT, default: str = "terminal", help: str | None = None
) -> Callable[[F], F]:
    """--format, stored as `fmt`."""
    return click.option("--format", "fmt", type=choices, default=default, show_default=True, help=help)


def output_option(help: str | None = None) -> Callable[[F], F]:
    """--output/-o: a file to write instead of stdout."""
    return click.option("--output", "-o", type=_FILE, help=help)


def config_option(help: str | None = None) -> Callable[[F], F]:
    """--config: a config file, stored as `config_path`."""
    return click.option("--config", "config_path", type=_FILE, help=help)


def model_option(help: str) -> Callable[[F], F]:
    """--model: the default provider/model (SWARM_MODEL when absent)."""
    return click.option("--model", help=help)


def no_store_option() -> Callable[[F], F]:
    """--no-store: keep the run out of the run store."""
    return click.option("--no-store", is_flag=True, help="Do not record the run in the run store.")


def mode_option(default: str | None = None, help: str | None = None) -> Callable[[F], F]:
    """--mode: how model lanes or agents run together."""
    return click.option("--mode", type=_MODES, default=default, show_default=default is not None, help=help)


def optimize_option(help: str | None = None) -> Callable[[F], F]:
    """--optimize: the router's goal (models.mode)."""
    return click.option("--optimize", type=_GOALS, help=help)


def max_cost_option() -> Callable[[F], F]:
    """--max-cost: a cap on the run's model spend."""
    return click.option(
        "--max-cost", type=click.FloatRange(min=0, min_open=True), help="Cap the run's model spend (USD)."
    )
