"""`swarm ask` and `swarm describe`: a question about a change, and its walkthrough (pr-review's sources)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from swarm_cli import environment, options
from swarm_cli.output import err, write
from swarm_cli.review import change_sources, load_change
from swarm_core import StoreError

if TYPE_CHECKING:
    from swarm_core import Exchange

# pr-review's formats but SARIF, which holds findings: the terminal gets the markdown text.
FORMAT = click.Choice(["terminal", "markdown", "json"])


def _site(at: str | None) -> Any:
    """--at FILE:LINE as the site a question is about."""
    from swarm_core import Site

    if at is None:
        return None
    path, sep, line = at.rpartition(":")
    if not sep or not path or not line.isdigit() or int(line) < 1:
        raise click.BadParameter(f"{at!r}: expected FILE:LINE, e.g. svc.py:9", param_hint="--at")
    return Site(path, int(line))


def _store(
    kind: str, source: str, status: str, document: dict[str, Any], exchanges: tuple[Exchange, ...]
) -> None:
    """Keep the run's model calls in the run store (`swarm runs`), as pr-review does."""
    if not exchanges:
        return
    try:
        store = environment.open_run_store()
    except StoreError as exc:
        err(f"warning: run will not be stored: {exc}")
        return
    try:
        store.save_document(
            kind,
            source=source,
            status=status,
            duration_s=0.0,
            document=document,
            exchanges=exchanges,
            counts={},
        )
    except StoreError as exc:
        err(f"warning: run not stored: {exc}")
    finally:
        store.close()


@click.command("ask")
@click.argument("question")
@change_sources
@click.option("--at", help="The line the question is about, FILE:LINE (head version).")
@options.model_option("The model that answers, provider/model (default: SWARM_MODEL).")
@options.format_option(FORMAT, default="terminal", help="Output format.")
@options.output_option("Write the answer to a file instead of stdout.")
@options.no_store_option()
def ask_command(
    question: str,
    at: str | None,
    model: str | None,
    fmt: str,
    output: Path | None,
    no_store: bool,
    **sources: Any,
) -> int:
    """Ask a question about a change (a git range, a patch file, or a pull request).

    \b
    Examples:
      swarm ask --repo . --base main "what does this change break for callers of restart()?"
      swarm ask --patch fix.patch --at svc.py:9 "is this quoting safe?"
      swarm ask --pr owner/repo#42 "why is the lock taken twice?"
    """
    import asyncio

    from swarm_core import Question, answer_to_dict, answer_to_markdown

    site = _site(at)
    config, change = load_change(**sources)
    answer = asyncio.run(environment.engine(model).ask(config, Question(question, site), change))
    document = answer_to_dict(answer)
    if not no_store:
        _store("ask", change.label, "failed" if answer.error else "ok", document, answer.exchanges)
    text = (
        json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if fmt == "json"
        else answer_to_markdown(answer)
    )
    write(text, output)
    return 1 if answer.error else 0


@click.command("describe")
@change_sources
@options.model_option("The model that writes the summary, provider/model (default: SWARM_MODEL).")
@click.option("--no-llm", is_flag=True, help="The deterministic part only, even with a model configured.")
@options.format_option(FORMAT, default="terminal", help="Output format.")
@options.output_option("Write the walkthrough to a file instead of stdout.")
@options.no_store_option()
def describe_command(
    model: str | None,
    no_llm: bool,
    fmt: str,
    output: Path | None,
    no_store: bool,
    **sources: Any,
) -> int:
    """Walk through a change: files by purpose, public API and dependency changes, tests; with a
    model also what it does and why, per-file notes, risks and a sequence diagram.

    \b
    Examples:
      swarm describe --repo . --base main
      swarm describe --patch fix.patch --format json --no-llm
    """
    import asyncio

    from swarm_core import walkthrough_to_dict, walkthrough_to_markdown

    config, change = load_change(**sources)
    walkthrough = asyncio.run(environment.engine(model).describe(config, change, models=not no_llm))
    document = walkthrough_to_dict(walkthrough)
    if not no_store:
        _store("describe", change.label, "ok", document, walkthrough.exchanges)
    if fmt == "json":
        write(json.dumps(document, indent=2, ensure_ascii=False) + "\n", output)
    else:
        write(walkthrough_to_markdown(walkthrough), output)
    return 0
