"""The `swarm` command line: pr-review, runs, config check.

This face reads the environment (SWARM_DATA_DIR, SWARM_MODEL) and passes plain values to
swarm_core. Exit codes: 0 clean, 1 a finding at or above --fail-on, 2 usage or config
error, 3 an internal error, 130 interrupted.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import click
from rich.console import Console

from swarm_core import __version__
from swarm_core.config import CONFIG_PATH, SwarmConfig, load_config, merge
from swarm_core.errors import ConfigError, StoreError, SwarmError
from swarm_core.models import Review, Severity
from swarm_core.orchestrator import Orchestrator
from swarm_core.render import FORMATS, render
from swarm_core.render.terminal import LiveProgress, render_terminal
from swarm_core.sources import ChangeSet, from_git, from_patch
from swarm_core.store import SqlRunStore, open_store, sqlite_url

__all__ = ["cli", "main"]

EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3

_FORMAT = click.Choice(FORMATS)
_FAIL_ON = click.Choice([*(s.value for s in Severity), "never"], case_sensitive=False)


def data_dir() -> Path:
    """SWARM_DATA_DIR, or the platform's user data directory for swarm."""
    env = os.environ.get("SWARM_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("swarm", appauthor=False))


def _store() -> SqlRunStore:
    return open_store(sqlite_url(data_dir()))


def _err(message: str) -> None:
    click.echo(f"swarm: {message}", err=True)


def _emit(review: Review, fmt: str, output: Path | None) -> None:
    """Write a review in a format to stdout or a file."""
    if fmt == "terminal":
        if output is None:
            render_terminal(review, Console(highlight=False))
            return
        with output.open("w", encoding="utf-8") as fh:
            render_terminal(review, Console(file=fh, width=120, no_color=True, highlight=False))
        return
    text = render(review, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def _read_limited(stream: IO[bytes], limit: int, what: str) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ConfigError(
            f"{what} is over the {limit / 1e6:.0f} MB limit; review a smaller range "
            "or raise limits.max_diff_bytes in the config"
        )
    return data


def _load_config(config_path: Path | None, repo: Path | None) -> tuple[SwarmConfig, str | None]:
    if config_path is not None:
        return load_config(config_path), str(config_path)
    if repo is not None:
        default = repo / CONFIG_PATH
        if default.is_file():
            return load_config(default), str(default)
    return SwarmConfig(), None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="swarm")
def cli() -> None:
    """swarm: verified, low-noise review of pull requests and local changes."""


@cli.command("pr-review")
@click.argument("source", required=False, metavar="[-]")
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False), help="Git repository (default: .).")
@click.option("--base", help="Base ref (default: merge base with the default branch).")
@click.option("--head", help="Head ref (default: HEAD).")
@click.option(
    "--patch",
    "patch_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Review a .patch/.diff file.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"Config file (default: REPO/{CONFIG_PATH}).",
)
@click.option("--format", "fmt", type=_FORMAT, default="terminal", show_default=True, help="Output format.")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report to a file instead of stdout.",
)
@click.option(
    "--fail-on",
    type=_FAIL_ON,
    help="Exit 1 when a finding is at or above this severity (default: config fail_on).",
)
@click.option("--no-store", is_flag=True, help="Do not record the run in the run store.")
def pr_review(
    source: str | None,
    repo: Path | None,
    base: str | None,
    head: str | None,
    patch_file: Path | None,
    config_path: Path | None,
    fmt: str,
    output: Path | None,
    fail_on: str | None,
    no_store: bool,
) -> int:
    """Review a change: a git range (default), a patch file (--patch), or a diff on stdin (-).

    \b
    Examples:
      swarm pr-review --patch examples/leaky-deploy.patch
      swarm pr-review --repo . --base main
      git diff main | swarm pr-review - --format json
    """
    if source not in (None, "-"):
        raise click.UsageError(f"unexpected argument {source!r}; use --patch FILE, or - for stdin")
    if source == "-" and patch_file is not None:
        raise click.UsageError("give either - (stdin) or --patch FILE, not both")
    config, _origin = _load_config(config_path, repo if repo is not None else Path())
    if fail_on is not None:
        config = merge(config, {"fail_on": fail_on.lower()})
    max_bytes = config.limits.max_diff_bytes
    change: ChangeSet
    if source == "-":
        data = _read_limited(sys.stdin.buffer, max_bytes, "the diff on stdin")
        change = from_patch(data, "stdin", repo_path=repo, base=base, max_diff_bytes=max_bytes)
    elif patch_file is not None:
        try:
            with patch_file.open("rb") as fh:
                data = _read_limited(fh, max_bytes, str(patch_file))
        except OSError as exc:
            raise ConfigError(f"cannot read {patch_file}: {exc.strerror or exc}") from None
        change = from_patch(data, str(patch_file), repo_path=repo, base=base, max_diff_bytes=max_bytes)
    else:
        change = from_git(
            repo or Path(),
            base,
            head,
            max_diff_bytes=max_bytes,
            max_file_bytes=config.limits.max_file_bytes,
        )
    model = os.environ.get("SWARM_MODEL") or None
    orchestrator = Orchestrator(config, model=model)
    err_console = Console(stderr=True)
    with LiveProgress(err_console) as progress:
        review = orchestrator.review_sync(change, on_event=progress)
    if not no_store:
        try:
            store = _store()
            try:
                review = review.with_run_id(store.save_review(review))
            finally:
                store.close()
        except StoreError as exc:
            _err(f"warning: run not stored: {exc}")
    _emit(review, fmt, output)
    return EXIT_FINDINGS if review.fails(config.fail_threshold) else 0


@cli.group()
def runs() -> None:
    """List and show stored runs (kept under SWARM_DATA_DIR)."""


@runs.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["terminal", "json"]),
    default="terminal",
    show_default=True,
)
def runs_list(limit: int, fmt: str) -> int:
    """The newest runs first."""
    store = _store()
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
@click.option("--format", "fmt", type=_FORMAT, default="terminal", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False))
def runs_show(run_id: str, fmt: str, output: Path | None) -> int:
    """One run's review, in any report format (RUN_ID may be a unique prefix)."""
    store = _store()
    try:
        stored = store.get_run(run_id)
    finally:
        store.close()
    _emit(stored.review, fmt, output)
    return 0


@cli.group("config")
def config_group() -> None:
    """Check the review configuration."""


@config_group.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False), default=Path(), show_default=True)
def config_check(path: Path | None, repo: Path) -> int:
    """Validate a config file (default: REPO/.github/swarm.yml) and print precise errors."""
    target = path if path is not None else repo / CONFIG_PATH
    if path is None and not target.is_file():
        click.echo(f"no config at {target}; the defaults apply")
        return 0
    load_config(target)
    click.echo(f"ok: {target} is valid")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `swarm` console script; never shows a traceback."""
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None, prog_name="swarm", standalone_mode=False
        )
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _err("interrupted")
        sys.exit(130)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            _err(f"config error: {line}")
        sys.exit(EXIT_USAGE)
    except SwarmError as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_USAGE)
    except Exception as exc:  # boundary: a user sees one line, not a traceback
        _err(f"internal error: {type(exc).__name__}: {exc} (please report this)")
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)
