"""Where command output goes: stdout or an --output file, and one-line messages on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from swarm_core import Review


def err(message: str) -> None:
    """A `swarm: ...` line on stderr."""
    click.echo(f"swarm: {message}", err=True)


def stored_note(run_id: str | None) -> None:
    """Where a stored run can be seen again, on stderr (the report on stdout stays clean)."""
    if run_id:
        hint = f"`swarm runs show {run_id} --evidence` lists its model calls"
        click.echo(f"run {run_id} stored; {hint}", err=True)


def write(text: str, output: Path | None) -> None:
    """Text to stdout, or to the --output file."""
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def emit(review: Review, fmt: str, output: Path | None) -> None:
    """Write a review in a format to stdout or a file."""
    if fmt != "terminal":
        from swarm_core.render import render

        write(render(review, fmt), output)
        return
    from rich.console import Console

    from swarm_core.render import render_terminal

    if output is None:
        render_terminal(review, Console(highlight=False))
        return
    with output.open("w", encoding="utf-8") as fh:
        render_terminal(review, Console(file=fh, width=120, no_color=True, highlight=False))
