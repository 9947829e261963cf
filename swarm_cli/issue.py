"""`swarm issue`: an issue's symptoms, where the fault most likely is, and (with a model) a fix spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from swarm_cli import environment, options
from swarm_cli.github import ISSUE_URL, parse_ref, token_client
from swarm_cli.output import stored_note, write
from swarm_core import ConfigError

if TYPE_CHECKING:
    from swarm_core.issue import Intake, Localization


@click.command("issue")
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False), default=Path(), show_default=True)
@click.option("--ref", default="HEAD", show_default=True, help="Commit to analyse the repository at.")
@click.option(
    "--text",
    "text_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Issue text file (first line: title).",
)
@click.option("--issue", "issue_ref", help="A GitHub issue: URL or owner/repo#N (uses GITHUB_TOKEN).")
@options.format_option(click.Choice(["terminal", "markdown", "json"]))
@options.output_option()
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 100))
@options.model_option("Model for the fix specification (default: SWARM_MODEL; none: localization only).")
@click.option(
    "--trace", is_flag=True, help="Also propose a patch (checked with git apply --check and a parser)."
)
@click.option("--no-repro", is_flag=True, help="Do not propose a reproduction test.")
@options.no_store_option()
def issue_command(
    repo: Path,
    ref: str,
    text_file: Path | None,
    issue_ref: str | None,
    fmt: str,
    output: Path | None,
    top: int,
    model: str | None,
    trace: bool,
    no_repro: bool,
    no_store: bool,
) -> int:
    """Analyse an issue: symptoms, stack frames, and where the fault most likely is (files, functions).

    The run is stored with the model's calls: `swarm runs show ID --evidence` lists them.

    \b
    Examples:
      swarm issue --repo . --text bug.md
      swarm issue --repo . --issue https://github.com/owner/repo/issues/7 --format json
    """
    import subprocess
    import time

    from swarm_core import GitRepo
    from swarm_core.issue import RepoIndex, issue_to_dict, issue_to_markdown, localize, parse_issue

    if (text_file is None) == (issue_ref is None):
        raise click.UsageError("give exactly one of --text FILE or --issue URL|owner/repo#N")
    comments: tuple[str, ...] = ()
    if text_file is not None:
        try:
            raw = text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {text_file}: {exc}") from None
        title, _, body = raw.partition("\n")
    else:
        title, body, comments = _github_issue(str(issue_ref))
    top_dir = GitRepo(repo).check()
    try:
        index = RepoIndex.from_git(top_dir, ref)
    except subprocess.CalledProcessError:
        raise ConfigError(f"--ref {ref!r} is not a commit in {top_dir}") from None
    intake = parse_issue(title, body, comments)
    full = "\n".join((title, body, *comments))
    loc = localize(intake, full, index, top=top)
    default_model = environment.default_model(model)
    if trace and default_model is None:
        raise ConfigError("--trace needs a model: set SWARM_MODEL or pass --model")
    spec = None
    started = time.perf_counter()
    if default_model is not None:
        import asyncio

        engine = environment.engine(default_model)
        config = environment.find_config(None, top_dir)
        spec = asyncio.run(engine.specify(intake, full, loc, index, config, trace, not no_repro))
    data = issue_to_dict(intake, loc, ref=ref, model=default_model, spec=spec)
    run_id = None
    if not no_store:
        status = "failed" if spec is not None and spec.error else "ok"
        evidence = {**data, "exchanges": spec.exchanges if spec is not None else ()}
        source = f"issue: {title.strip()[:200]}"
        run_id = environment.store_document("issue", source, status, started, evidence)
    if fmt == "json":
        text = json.dumps({**data, "run_id": run_id}, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "markdown":
        text = issue_to_markdown(intake, loc, ref=ref, model=default_model, spec=spec)
    else:
        text = _issue_terminal(intake, loc)
        if spec is not None:
            text += "\n" + issue_to_markdown(intake, loc, spec=spec).split("### Root cause and fix", 1)[-1]
    write(text, output)
    if fmt != "json":
        stored_note(run_id)
    return 0


def _issue_terminal(intake: Intake, loc: Localization) -> str:
    from swarm_core.issue import NO_MODEL_NOTE

    lines = [f"swarm issue: {intake.title}", ""]
    for label in ("observed", "expected", "reproduction", "environment"):
        value = getattr(intake, label)
        lines.append(f"  {label:<13}{value.splitlines()[0][:100] if value else '(not stated)'}")
    lines += ["", "most likely files:"]
    for n, f in enumerate(loc.files, 1):
        lines.append(f"  {n:>2}. {f.path}  [{f.confidence:.2f}]  {'; '.join(f.evidence[:2])}")
    if loc.functions:
        lines += ["", "most likely functions:"]
        for n, fn in enumerate(loc.functions[:10], 1):
            lines.append(f"  {n:>2}. {fn.path}::{fn.name} (lines {fn.start}-{fn.end})")
    lines += ["", NO_MODEL_NOTE]
    return "\n".join(lines) + "\n"


def _github_issue(ref: str) -> tuple[str, str, tuple[str, ...]]:
    """The title, body and first 50 comments of a GitHub issue."""
    repo, number = parse_ref(ref, ISSUE_URL, "--issue", "an issue")
    client = token_client("--issue")
    _, data = client.request("GET", f"/repos/{repo}/issues/{number}", what=f"reading {repo}#{number}")
    comments = tuple(
        str(c.get("body") or "") for c in client.paginate(f"/repos/{repo}/issues/{number}/comments", limit=50)
    )
    return str(data.get("title") or ""), str(data.get("body") or ""), comments
