"""`swarm runs list|show|cost|failed`: stored runs and the App's dead letters, as tables or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from swarm_cli import options
from swarm_cli.agents import print_exec
from swarm_cli.environment import open_app_database, open_run_store
from swarm_cli.output import emit, write

if TYPE_CHECKING:
    from swarm_core import Exchange, Usage

_TERMINAL_OR_JSON = click.Choice(["terminal", "json"])


@click.group()
def runs() -> None:
    """List and show stored runs (kept under SWARM_DATA_DIR)."""


@runs.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@options.format_option(_TERMINAL_OR_JSON)
def runs_list(limit: int, fmt: str) -> int:
    """The newest runs first."""
    store = open_run_store()
    try:
        rows = store.list_runs(limit)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return 0
    if not rows:
        click.echo("no runs yet; run `swarm pr-review`")
        return 0
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for col in ("id", "when (UTC)", "kind", "verdict", "findings", "time", "source"):
        table.add_column(col)
    for r in rows:
        when = datetime.fromtimestamp(r.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(r.id, when, r.kind, r.verdict, str(r.findings), f"{r.duration_s:.2f}s", r.source)
    Console().print(table)
    return 0


@runs.command("show")
@click.argument("run_id")
@options.format_option()
@options.output_option()
@click.option("--evidence", is_flag=True, help="Show the run's model exchanges instead of the review.")
@click.option("--full", is_flag=True, help="With --evidence: print each exchange's (redacted) texts.")
def runs_show(run_id: str, fmt: str, output: Path | None, evidence: bool, full: bool) -> int:
    """One run's review, in any report format (RUN_ID may be a unique prefix).

    With --evidence, every LLM exchange of the run: model, prompt hash, tokens, cost,
    latency, outcome (and with --full the redacted prompt tail and reply); --format json
    gives the same as data.
    """
    store = open_run_store()
    try:
        stored = store.get_run(run_id)
        exchanges = store.get_evidence(stored.summary.id) if evidence else []
    finally:
        store.close()
    review = stored.review
    if review is None and not evidence:  # an agents run (`swarm exec`), a council, an issue analysis
        kind = stored.summary.kind
        if fmt not in ("json", "terminal"):
            raise click.UsageError(f"run {stored.summary.id} is a {kind} run: use --format terminal or json")
        if kind == "exec":
            print_exec(stored.document, fmt, output)
        else:  # the App's council and issue runs keep their outcome as data
            text = json.dumps(stored.document, indent=2, ensure_ascii=False) + "\n"
            if fmt == "terminal":
                head = f"{kind} run {stored.summary.id}: {stored.summary.verdict} ({stored.summary.source})"
                text = f"{head}\n{text}"
            write(text, output)
        return 0
    if not evidence:
        assert review is not None
        emit(review, fmt, output)
        return 0
    usage = review.usage if review is not None else _usage_of(exchanges)
    if fmt == "json":
        data = {
            "run_id": stored.summary.id,
            "usage": usage.to_dict(),
            "memory": [{"key": k, "value": v} for k, v in review.memory] if review else [],
            "exchanges": [_exchange_dict(ex, full) for ex in exchanges],
        }
        write(json.dumps(data, indent=2, ensure_ascii=False) + "\n", output)
        return 0
    _print_evidence(stored.summary.id, usage, review.memory if review else (), exchanges, full)
    return 0


def _usage_of(exchanges: Sequence[Exchange]) -> Usage:
    from swarm_core import Usage

    total = Usage()
    for ex in exchanges:
        total = total + ex.usage
    return total


def _exchange_dict(ex: Exchange, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": ex.kind,
        "lane": ex.lane,
        "model": ex.model,
        "prompt_hash": ex.prompt_hash,
        "usage": ex.usage.to_dict(),
        "latency_s": ex.latency_s,
        "outcome": ex.outcome,
        "reason": ex.reason,
    }
    if full:
        out["request"] = ex.request
        out["response"] = ex.response
    return out


def _print_evidence(
    run_id: str,
    u: Usage,
    memory: Sequence[tuple[str, str]],
    exchanges: Sequence[Exchange],
    full: bool,
) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from swarm_core import request_counts
    from swarm_core.providers import summarize

    console = Console()
    if not exchanges:
        console.print(f"run {run_id} made no model calls")
    table = Table(title=f"evidence of run {run_id}", show_header=True, header_style="bold")
    for col in ("#", "kind", "lane", "model", "prompt", "in", "cached", "out", "cost", "latency", "outcome"):
        table.add_column(col)
    for n, ex in enumerate(exchanges):
        row = ex.usage
        table.add_row(
            str(n),
            ex.kind,
            ex.lane,
            escape(ex.model),
            ex.prompt_hash,
            f"{row.input_tokens:,}",
            f"{row.cached_tokens:,}",
            f"{row.output_tokens:,}",
            f"${row.cost_usd:.5f}",
            f"{ex.latency_s:.2f}s",
            escape(ex.outcome + (f": {summarize(ex.reason, 60)}" if ex.reason else "")),
        )
    console.print(table)
    sent, answered = request_counts(exchanges)
    console.print(
        f"total: {sent} request(s), {answered} answered, {u.total_tokens:,} tokens, ${u.cost_usd:.4f}"
    )
    if memory:
        console.print("[bold]swarm memory at the end of the run[/]")
        for key, value in memory:
            console.print(f"  {escape(key)} = {escape(value[:200])}")
    if full:
        for n, ex in enumerate(exchanges):
            console.rule(f"#{n} {ex.kind} {ex.lane} {ex.model}")
            if ex.request:
                console.print(escape(ex.request), markup=False, highlight=False)
            if ex.response:
                console.print("[bold]reply[/]")
                console.print(escape(ex.response), markup=False, highlight=False)


@runs.command("cost")
@click.option("--by", type=click.Choice(options.COST_GROUPS), default="lane", show_default=True)
@click.option("--last", type=click.IntRange(1, 1_000_000), help="Only the newest N runs.")
@options.format_option(_TERMINAL_OR_JSON)
def runs_cost(by: str, last: int | None, fmt: str) -> int:
    """Model calls, tokens and cost of stored runs, grouped by run, repo, lane, model or kind."""
    store = open_run_store()
    try:
        rows = store.cost_summary(by, last)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return 0
    if not rows:
        click.echo("no model calls recorded yet")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for col in (by, "runs", "calls", "input", "cached", "output", "cost"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r[by]),
            str(r["runs"]),
            str(r["calls"]),
            f"{r['input_tokens']:,}",
            f"{r['cached_tokens']:,}",
            f"{r['output_tokens']:,}",
            f"${r['cost_usd']:.4f}",
        )
    Console().print(table)
    return 0


@runs.command("failed")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@options.format_option(_TERMINAL_OR_JSON)
def runs_failed(limit: int, fmt: str) -> int:
    """The App's jobs that failed for good (the dead letters), newest first, with the reason.

    Reads the App's database: SWARM_DATABASE_URL, else the SQLite file under SWARM_DATA_DIR
    that `swarm serve` uses without one.
    """
    from swarm_core.store.queue import JobQueue

    store = open_app_database()
    try:
        rows = [job.dead_letter() for job in JobQueue(store.engine).failed_jobs(limit)]
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        click.echo("no job has failed for good")
        return 0
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for col in ("job", "failed (UTC)", "kind", "key", "attempts", "reason"):
        table.add_column(col)
    for r in rows:
        when = datetime.fromtimestamp(r["failed_at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
        attempts = f"{r['attempts']}/{r['max_attempts']}"
        table.add_row(r["id"], when, r["kind"], escape(r["key"]), attempts, escape(r["reason"]))
    Console().print(table)
    return 0
