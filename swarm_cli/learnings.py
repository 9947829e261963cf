"""`swarm learnings list|show|forget|promote`: the team's learnings in the App's database."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click

from swarm_cli import options
from swarm_cli.environment import open_app_database

if TYPE_CHECKING:
    from swarm_core.store import LearningStore

T = TypeVar("T")

_TERMINAL_OR_JSON = click.Choice(["terminal", "json"])
_STATUSES = click.Choice(["active", "quarantined", "forgotten"])


def _with_store(work: Callable[[LearningStore], T]) -> T:
    """Run `work` on the learnings of the App's database, then close it."""
    from swarm_core.store import LearningStore

    database = open_app_database()
    try:
        return work(LearningStore(database.engine))
    finally:
        database.close()


@click.group()
def learnings() -> None:
    """What swarm learned from the team's feedback (SWARM_DATABASE_URL, else SWARM_DATA_DIR).

    The App captures learnings from 👎 reactions on its review comments, replies such as
    "false positive" in its threads, and `/swarm learn <text>`; reviews suppress or
    downgrade the findings they cover.
    """


@learnings.command("list")
@click.option("--repo", default=None, help='Only this repository (owner/name; "" for the installation tier).')
@click.option("--installation", type=click.IntRange(1), default=None, help="Only this App installation.")
@click.option("--status", type=_STATUSES, default=None, help="Only learnings in this state.")
@options.format_option(_TERMINAL_OR_JSON)
def learnings_list(repo: str | None, installation: int | None, status: str | None, fmt: str) -> int:
    """The newest learnings first."""
    rows = _with_store(lambda s: s.list_learnings(installation_id=installation, repo=repo, status=status))
    if fmt == "json":
        click.echo(json.dumps([lr.to_dict() for lr in rows], indent=2, ensure_ascii=False))
        return 0
    if not rows:
        click.echo("no learnings yet; the App captures them from feedback on its reviews")
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for col in ("id", "tier", "repo", "status", "scope", "effect", "conf.", "used", "text"):
        table.add_column(col)
    for lr in rows:
        table.add_row(
            str(lr.id),
            lr.tier,
            lr.repo or "-",
            lr.status,
            escape(lr.scope.describe()),
            lr.effect,
            f"{lr.confidence:.2f}",
            str(lr.utility),
            escape(" ".join(lr.text.split())[:120]),
        )
    Console().print(table)
    return 0


@learnings.command("show")
@click.argument("learning_id", type=click.IntRange(1))
def learnings_show(learning_id: int) -> int:
    """One learning with its sources, as JSON."""
    learning = _with_store(lambda s: s.get(learning_id))
    click.echo(json.dumps(learning.to_dict(), indent=2, ensure_ascii=False))
    return 0


@learnings.command("forget")
@click.argument("learning_id", type=click.IntRange(1))
def learnings_forget(learning_id: int) -> int:
    """Stop using a learning (the feedback it came from is not captured again)."""
    learning = _with_store(lambda s: s.forget(learning_id))
    click.echo(f"forgot learning #{learning.id}")
    return 0


@learnings.command("promote")
@click.argument("learning_id", type=click.IntRange(1))
def learnings_promote(learning_id: int) -> int:
    """Move a learning to its installation's tier: every repository of the installation uses it."""
    learning = _with_store(lambda s: s.promote(learning_id))
    click.echo(f"learning #{learning.id} is on the installation tier now ({learning.status})")
    return 0
