"""`swarm council`: a question put to several models, answered with a moderated verdict."""

from __future__ import annotations

import json
from pathlib import Path

import click

from swarm_cli import environment, options
from swarm_cli.output import stored_note
from swarm_core import ConfigError


@click.command("council")
@click.argument("question")
@click.option(
    "--context",
    "context_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A file of context (a design doc, a diff).",
)
@options.config_option("Config file (members, models).")
@options.model_option("Default model for the members (default: SWARM_MODEL).")
@click.option(
    "--pr-verdict", is_flag=True, help="Answer APPROVE / CONCERNS / REJECT instead of FOR / AGAINST / MIXED."
)
@options.format_option(click.Choice(["markdown", "json"]), default="markdown")
@options.no_store_option()
def council_command(
    question: str,
    context_file: Path | None,
    config_path: Path | None,
    model: str | None,
    pr_verdict: bool,
    fmt: str,
    no_store: bool,
) -> int:
    """Ask the council: members answer independently, disagreements get a rebuttal, a moderator decides.

    The run is stored with its model calls: `swarm runs show ID --evidence` lists them.
    """
    import asyncio
    import time

    from swarm_core import council_to_dict, council_to_markdown

    config = environment.find_config(config_path)
    context = ""
    if context_file is not None:
        try:
            context = context_file.read_text(encoding="utf-8")[:20_000]
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {context_file}: {exc}") from None
    engine = environment.engine(model)
    started = time.perf_counter()
    result = asyncio.run(engine.council(config, question, context, "pr" if pr_verdict else "open"))
    document = council_to_dict(result)
    run_id = None
    if not no_store:
        status = result.verdict or "failed"
        evidence = {**document, "exchanges": result.exchanges}
        source = f"council: {question[:200]}"
        run_id = environment.store_document("council", source, status, started, evidence)
    if fmt == "json":
        click.echo(json.dumps({**document, "run_id": run_id}, indent=2, ensure_ascii=False))
    else:
        click.echo(council_to_markdown(result), nl=False)
        stored_note(run_id)
    return 0 if not result.error else 1
