"""The `swarm` command line: pr-review, runs, config check.

This face reads the environment and passes plain values to swarm_core: SWARM_DATA_DIR,
SWARM_MODEL, SWARM_MODELS_FILE (an operator's model table), SWARM_REDIS_URL (swarm
memory), SWARM_SECRETS_FILE (KEY=VALUE lines for provider keys) and the providers' own
variables (OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_API_KEY, ...). Exit codes: 0 clean,
1 a finding at or above --fail-on, 2 usage or config error, 3 an internal error,
130 interrupted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console

from swarm_core import __version__
from swarm_core.config import CONFIG_PATH, SwarmConfig, load_config, merge
from swarm_core.errors import ConfigError, StoreError, SwarmError
from swarm_core.github.client import GitHubClient, PullRequest
from swarm_core.github.source import change_from_pr, repo_config
from swarm_core.memory import MemoryBackend, SqlMemory, memory_engine, open_memory
from swarm_core.models import Exchange, Review, Severity, Usage
from swarm_core.orchestrator import Orchestrator
from swarm_core.providers import ProviderPool, endpoints_from_env, split_model
from swarm_core.render import FORMATS, render
from swarm_core.render.terminal import LiveProgress, render_terminal
from swarm_core.router import ModelTable, load_table
from swarm_core.sources import ChangeSet, from_git, from_patch
from swarm_core.store import SqlRunStore, open_store, sqlite_url
from swarm_core.store.runs import COST_GROUPS

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


def provider_env() -> dict[str, str]:
    """The environment, with provider keys from SWARM_SECRETS_FILE filled in where unset.

    Raises:
        ConfigError: the secrets file cannot be read.
    """
    env = dict(os.environ)
    path = env.get("SWARM_SECRETS_FILE")
    if not path:
        return env
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"SWARM_SECRETS_FILE {path}: cannot read: {exc.strerror or exc}") from None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise ConfigError(f"SWARM_SECRETS_FILE {path}:{n}: expected KEY=VALUE")
        env.setdefault(key.strip(), value.strip().strip("'\""))
    return env


def _model_table() -> ModelTable:
    path = os.environ.get("SWARM_MODELS_FILE")
    if not path:
        return load_table()
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"SWARM_MODELS_FILE {path}: cannot read: {exc.strerror or exc}") from None
    return load_table(text, path)


def _memory(store: SqlRunStore | None) -> MemoryBackend:
    redis_url = os.environ.get("SWARM_REDIS_URL")
    if redis_url:
        return open_memory(redis_url, None)
    if store is not None:
        return SqlMemory(store.engine)
    return SqlMemory(memory_engine())


def _err(message: str) -> None:
    click.echo(f"swarm: {message}", err=True)


def _write(text: str, output: Path | None) -> None:
    """Text to stdout, or to the --output file."""
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


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
    _write(text, output)


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
@click.option("--model", help="Default model for every lane, provider/model (default: SWARM_MODEL).")
@click.option(
    "--optimize",
    type=click.Choice(["cost", "quality", "balanced", "speed"]),
    help="Let the router pick each lane's model by this goal (models.mode).",
)
@click.option(
    "--mode",
    type=click.Choice(["parallel", "sequential", "hierarchical"]),
    help="How the model lanes run (default: llm.mode, parallel).",
)
@click.option("--council", is_flag=True, help="Adversarial lanes: each assumes the change is wrong.")
@click.option(
    "--max-cost", type=click.FloatRange(min=0, min_open=True), help="Cap the run's model spend (USD)."
)
@click.option("--no-llm", is_flag=True, help="Deterministic lanes only, even with a model configured.")
@click.option(
    "--pr",
    "pr_ref",
    help="Review a GitHub pull request: URL or owner/repo#N (uses GITHUB_TOKEN, GITHUB_API_URL).",
)
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
    model: str | None,
    optimize: str | None,
    mode: str | None,
    council: bool,
    max_cost: float | None,
    no_llm: bool,
    pr_ref: str | None,
) -> int:
    """Review a change: a git range (default), a patch file (--patch), or a diff on stdin (-).

    \b
    Examples:
      swarm pr-review --patch examples/leaky-deploy.patch
      swarm pr-review --repo . --base main
      git diff main | swarm pr-review - --format json
      swarm pr-review --pr https://github.com/owner/repo/pull/42
    """
    if pr_ref is not None and (source is not None or patch_file is not None or base or head):
        raise click.UsageError("--pr reviews a pull request on GitHub; do not combine it with a local source")
    if source not in (None, "-"):
        raise click.UsageError(f"unexpected argument {source!r}; use --patch FILE, or - for stdin")
    if source == "-" and patch_file is not None:
        raise click.UsageError("give either - (stdin) or --patch FILE, not both")
    github_pr = None
    if pr_ref is not None:
        github_pr, config = _github_pr(pr_ref, config_path)
    else:
        config, _origin = _load_config(config_path, repo if repo is not None else Path())
    overrides: dict[str, Any] = {}
    if fail_on is not None:
        overrides["fail_on"] = fail_on.lower()
    if optimize is not None:
        overrides.setdefault("models", {})["mode"] = optimize
    llm: dict[str, Any] = {}
    if mode is not None:
        llm["mode"] = mode
    if council:
        llm["council"] = True
    if max_cost is not None:
        llm["limits"] = {"max_cost_usd": max_cost}
    if llm:
        overrides["llm"] = llm
    if overrides:
        config = merge(config, overrides)
    max_bytes = config.limits.max_diff_bytes
    change: ChangeSet
    if github_pr is not None:
        client, pr = github_pr
        change = change_from_pr(client, pr, config)
    elif source == "-":
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
    default_model = model or os.environ.get("SWARM_MODEL") or None
    if default_model:
        split_model(default_model)  # a typo is a usage error before any work is done
    store: SqlRunStore | None = None
    if not no_store:
        try:
            store = _store()
        except StoreError as exc:
            _err(f"warning: run will not be stored: {exc}")
    providers = None if no_llm else ProviderPool(endpoints_from_env(provider_env()))
    orchestrator = Orchestrator(
        config,
        model=None if no_llm else default_model,
        providers=providers,
        table=_model_table(),
        memory=None if no_llm else _memory(store),
    )
    err_console = Console(stderr=True)
    try:
        with LiveProgress(err_console) as progress:
            review = orchestrator.review_sync(change, on_event=progress)
        if store is not None:
            try:
                review = review.with_run_id(store.save_review(review))
            except StoreError as exc:
                _err(f"warning: run not stored: {exc}")
    finally:
        if store is not None:
            store.close()
    _emit(review, fmt, output)
    return EXIT_FINDINGS if review.fails(config.fail_threshold) else 0


_PR_URL = re.compile(r"^https?://[^/]+/([\w.-]+/[\w.-]+)/pull/(\d+)/?$")
_PR_REF = re.compile(r"^([\w.-]+/[\w.-]+)#(\d+)$")


def _github_pr(ref: str, config_path: Path | None) -> tuple[tuple[GitHubClient, PullRequest], SwarmConfig]:
    """The client and pull request for --pr, and the config (from the default branch unless --config)."""
    m = _PR_URL.match(ref.strip()) or _PR_REF.match(ref.strip())
    if m is None:
        raise click.UsageError(f"--pr {ref!r}: give a pull request URL or owner/repo#N")
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    if not token:
        raise ConfigError("--pr needs GITHUB_TOKEN (a token that can read the repository)")
    api_url = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    client = GitHubClient.for_token(token, api_url)
    pr = client.pull_request(m.group(1), int(m.group(2)))
    if config_path is not None:
        return (client, pr), load_config(config_path)
    config, problem = repo_config(client, pr.repo, pr.default_branch)
    if problem:
        raise ConfigError(problem)
    return (client, pr), config


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
@click.option("--evidence", is_flag=True, help="Show the run's model exchanges instead of the review.")
@click.option("--full", is_flag=True, help="With --evidence: print each exchange's (redacted) texts.")
def runs_show(run_id: str, fmt: str, output: Path | None, evidence: bool, full: bool) -> int:
    """One run's review, in any report format (RUN_ID may be a unique prefix).

    With --evidence, every LLM exchange of the run: model, prompt hash, tokens, cost,
    latency, outcome (and with --full the redacted prompt tail and reply); --format json
    gives the same as data.
    """
    store = _store()
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
            _print_exec(stored.document, fmt, output)
        else:  # the App's council and issue runs keep their outcome as data
            text = json.dumps(stored.document, indent=2, ensure_ascii=False) + "\n"
            if fmt == "terminal":
                head = f"{kind} run {stored.summary.id}: {stored.summary.verdict} ({stored.summary.source})"
                text = f"{head}\n{text}"
            _write(text, output)
        return 0
    if not evidence:
        assert review is not None
        _emit(review, fmt, output)
        return 0
    usage = review.usage if review is not None else _usage_of(exchanges)
    if fmt == "json":
        data = {
            "run_id": stored.summary.id,
            "usage": usage.to_dict(),
            "memory": [{"key": k, "value": v} for k, v in review.memory] if review else [],
            "exchanges": [_exchange_dict(ex, full) for ex in exchanges],
        }
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        _write(text, output)
        return 0
    _print_evidence(stored.summary.id, usage, review.memory if review else (), exchanges, full)
    return 0


def _usage_of(exchanges: Sequence[Exchange]) -> Usage:
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
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if not exchanges:
        console.print(f"run {run_id} made no model calls")
    table = Table(title=f"evidence of run {run_id}", show_header=True, header_style="bold")
    for col in ("#", "kind", "lane", "model", "prompt", "in", "cached", "out", "cost", "latency", "outcome"):
        table.add_column(col)
    for n, ex in enumerate(exchanges):
        u = ex.usage
        table.add_row(
            str(n),
            ex.kind,
            ex.lane,
            escape(ex.model),
            ex.prompt_hash,
            f"{u.input_tokens:,}",
            f"{u.cached_tokens:,}",
            f"{u.output_tokens:,}",
            f"${u.cost_usd:.5f}",
            f"{ex.latency_s:.2f}s",
            escape(ex.outcome + (f": {ex.reason[:60]}" if ex.reason else "")),
        )
    console.print(table)
    console.print(f"total: {u.calls} call(s), {u.total_tokens:,} tokens, ${u.cost_usd:.4f}")
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
@click.option("--by", type=click.Choice(COST_GROUPS), default="lane", show_default=True)
@click.option("--last", type=click.IntRange(1, 1_000_000), help="Only the newest N runs.")
@click.option(
    "--format", "fmt", type=click.Choice(["terminal", "json"]), default="terminal", show_default=True
)
def runs_cost(by: str, last: int | None, fmt: str) -> int:
    """Model calls, tokens and cost of stored runs, grouped by run, repo, lane, model or kind."""
    store = _store()
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


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    "worker_count",
    default=1,
    show_default=True,
    type=click.IntRange(0, 64),
    help="In-process workers.",
)
def serve(host: str, port: int, worker_count: int) -> int:
    """Run the GitHub App: webhook receiver, HTTP API and in-process workers (a complete install).

    Settings come from the environment: GITHUB_APP_ID, GITHUB_PRIVATE_KEY or
    GITHUB_PRIVATE_KEY_PATH, GITHUB_WEBHOOK_SECRET, GITHUB_API_URL, SWARM_DATABASE_URL
    (default: SQLite under SWARM_DATA_DIR), SWARM_API_TOKEN.
    """
    import uvicorn

    from app.main import create_app
    from app.settings import load_settings

    settings = load_settings()
    settings.require_app()
    application = create_app(settings, workers=worker_count)
    click.echo(
        f"swarm {__version__}: serving on http://{host}:{port} with {worker_count} worker(s)", err=True
    )
    uvicorn.run(application, host=host, port=port, log_level="info", access_log=False)
    return 0


@cli.command()
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--poll", default=1.0, show_default=True, type=click.FloatRange(0.05, 60), help="Seconds between polls."
)
def worker(concurrency: int, poll: float) -> int:
    """Run workers only, against SWARM_DATABASE_URL; start as many as you like on as many machines."""
    import asyncio
    import signal

    from app.main import build_services, open_database
    from app.settings import load_settings
    from app.worker import worker_pool
    from swarm_core.store.queue import JobQueue

    settings = load_settings()
    settings.require_app()
    store = open_database(settings)
    queue = JobQueue(store.engine)
    services = build_services(settings, store, queue)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        pool = worker_pool(queue, services, settings, concurrency, poll_s=poll)
        click.echo(
            f"swarm {__version__}: {concurrency} worker(s) on {store.engine.url.render_as_string()}", err=True
        )
        await asyncio.gather(*(w.run(stop) for w in pool))

    try:
        asyncio.run(run())
    finally:
        store.close()
    return 0


@cli.command("issue")
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False), default=Path(), show_default=True)
@click.option("--ref", default="HEAD", show_default=True, help="Commit to analyse the repository at.")
@click.option(
    "--text",
    "text_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Issue text file (first line: title).",
)
@click.option("--issue", "issue_ref", help="A GitHub issue: URL or owner/repo#N (uses GITHUB_TOKEN).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["terminal", "markdown", "json"]),
    default="terminal",
    show_default=True,
)
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--model", help="Model for the fix specification (default: SWARM_MODEL; none: localization only)."
)
@click.option(
    "--trace", is_flag=True, help="Also propose a patch (checked with git apply --check and a parser)."
)
@click.option("--no-repro", is_flag=True, help="Do not propose a reproduction test.")
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
) -> int:
    """Analyse an issue: symptoms, stack frames, and where the fault most likely is (files, functions).

    \b
    Examples:
      swarm issue --repo . --text bug.md
      swarm issue --repo . --issue https://github.com/owner/repo/issues/7 --format json
    """
    from swarm_core.issue.index import RepoIndex
    from swarm_core.issue.intake import parse_issue
    from swarm_core.issue.localize import localize
    from swarm_core.issue.report import issue_to_dict, issue_to_markdown

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
    from swarm_core.sources import GitRepo

    top_dir = GitRepo(repo).check()
    try:
        index = RepoIndex.from_git(top_dir, ref)
    except subprocess.CalledProcessError:
        raise ConfigError(f"--ref {ref!r} is not a commit in {top_dir}") from None
    intake = parse_issue(title, body, comments)
    full = "\n".join((title, body, *comments))
    loc = localize(intake, full, index, top=top)
    default_model = model or os.environ.get("SWARM_MODEL") or None
    if trace and default_model is None:
        raise ConfigError("--trace needs a model: set SWARM_MODEL or pass --model")
    spec = None
    if default_model is not None:
        import asyncio

        from swarm_core.issue.spec import specify_with

        config, _origin = _load_config(None, top_dir)
        pool = ProviderPool(endpoints_from_env(provider_env()))
        spec = asyncio.run(
            specify_with(
                intake,
                full,
                loc,
                index,
                config,
                pool,
                model=default_model,
                table=_model_table(),
                trace=trace,
                repro=not no_repro,
            )
        )
    if fmt == "json":
        data = issue_to_dict(intake, loc, ref=ref, model=default_model, spec=spec)
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "markdown":
        text = issue_to_markdown(intake, loc, ref=ref, model=default_model, spec=spec)
    else:
        text = _issue_terminal(intake, loc)
        if spec is not None:
            text += "\n" + issue_to_markdown(intake, loc, spec=spec).split("### Root cause and fix", 1)[-1]
    _write(text, output)
    return 0


def _issue_terminal(intake: Any, loc: Any) -> str:
    from swarm_core.issue.report import NO_MODEL_NOTE

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


_ISSUE_URL = re.compile(r"^https?://[^/]+/([\w.-]+/[\w.-]+)/issues/(\d+)/?$")


def _github_issue(ref: str) -> tuple[str, str, tuple[str, ...]]:
    m = _ISSUE_URL.match(ref.strip()) or _PR_REF.match(ref.strip())
    if m is None:
        raise click.UsageError(f"--issue {ref!r}: give an issue URL or owner/repo#N")
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    if not token:
        raise ConfigError("--issue needs GITHUB_TOKEN (a token that can read the repository)")
    client = GitHubClient.for_token(token, os.environ.get("GITHUB_API_URL", "https://api.github.com"))
    repo, number = m.group(1), int(m.group(2))
    _, data = client.request("GET", f"/repos/{repo}/issues/{number}", what=f"reading {repo}#{number}")
    comments = tuple(
        str(c.get("body") or "") for c in client.paginate(f"/repos/{repo}/issues/{number}/comments", limit=50)
    )
    return str(data.get("title") or ""), str(data.get("body") or ""), comments


@cli.command("council")
@click.argument("question")
@click.option(
    "--context",
    "context_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A file of context (a design doc, a diff).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (members, models).",
)
@click.option("--model", help="Default model for the members (default: SWARM_MODEL).")
@click.option(
    "--pr-verdict", is_flag=True, help="Answer APPROVE / CONCERNS / REJECT instead of FOR / AGAINST / MIXED."
)
@click.option(
    "--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True
)
def council_command(
    question: str,
    context_file: Path | None,
    config_path: Path | None,
    model: str | None,
    pr_verdict: bool,
    fmt: str,
) -> int:
    """Ask the council: members answer independently, disagreements get a rebuttal, a moderator decides."""
    import asyncio

    from swarm_core.council import convene, council_to_dict, council_to_markdown

    config = load_config(config_path) if config_path else SwarmConfig()
    context = ""
    if context_file is not None:
        try:
            context = context_file.read_text(encoding="utf-8")[:20_000]
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {context_file}: {exc}") from None
    default = model or os.environ.get("SWARM_MODEL") or None
    pool = ProviderPool(endpoints_from_env(provider_env()))
    result = asyncio.run(
        convene(
            question,
            context,
            config,
            pool,
            model=default,
            table=_model_table(),
            kind="pr" if pr_verdict else "open",
        )
    )
    if fmt == "json":
        click.echo(json.dumps(council_to_dict(result), indent=2, ensure_ascii=False))
    else:
        click.echo(council_to_markdown(result), nl=False)
    return 0 if not result.error else 1


@cli.group()
def agents() -> None:
    """Agents: the built-in lanes and council members, and those defined under `agents:`."""


@agents.command("list")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format", "fmt", type=click.Choice(["terminal", "json"]), default="terminal", show_default=True
)
def agents_list(config_path: Path | None, fmt: str) -> int:
    """Each agent, its backend, and the model the router would pick, with the reason."""
    from swarm_core.agents import agent_table
    from swarm_core.router import Router

    config = load_config(config_path) if config_path else SwarmConfig()
    pool = ProviderPool(endpoints_from_env(provider_env()))
    router = Router(
        _model_table(), config.models, pool.available, default=os.environ.get("SWARM_MODEL") or None
    )
    rows = agent_table(config, router)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        click.echo(f"{r['name']:<26}{r['backend']:<10}{r['model']:<32}{r['reason']}")
    return 0


@cli.command("exec")
@click.option("--task", required=True, help="What the agents should do.")
@click.option("--agents", "agent_names", required=True, help="Comma-separated agent names.")
@click.option(
    "--mode",
    type=click.Choice(["parallel", "sequential", "hierarchical"]),
    default="parallel",
    show_default=True,
)
@click.option("--coordinator", help="The lead agent in hierarchical mode.")
@click.option("--optimize", type=click.Choice(["cost", "quality", "balanced", "speed"]))
@click.option(
    "--max-cost", type=click.FloatRange(min=0, min_open=True), help="Cap the run's model spend (USD)."
)
@click.option("--model", help="Default model (default: SWARM_MODEL).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format", "fmt", type=click.Choice(["terminal", "json"]), default="terminal", show_default=True
)
@click.option("--no-store", is_flag=True, help="Do not record the run in the run store.")
def exec_command(
    task: str,
    agent_names: str,
    mode: str,
    coordinator: str | None,
    optimize: str | None,
    max_cost: float | None,
    model: str | None,
    config_path: Path | None,
    fmt: str,
    no_store: bool,
) -> int:
    """Run a task on agents and print each one's result, status, time, tokens and cost.

    Progress (each agent's start, OpenCode's steps and tool calls, the end) goes to
    stderr in terminal format. The run is stored: `swarm runs show ID` prints it again,
    `--evidence` lists its model work, and `swarm runs cost` counts it.
    """
    import asyncio

    from swarm_core.agents import AgentEvent, ExecRun, OpenCode, run_agents

    config = load_config(config_path) if config_path else SwarmConfig()
    overrides: dict[str, Any] = {}
    if optimize:
        overrides["models"] = {"mode": optimize}
    if max_cost is not None:
        overrides["llm"] = {"limits": {"max_cost_usd": max_cost}}
    if os.environ.get("OPENCODE_URL"):
        overrides["opencode_url"] = os.environ["OPENCODE_URL"]
    if overrides:
        config = merge(config, overrides)
    names = [n.strip() for n in agent_names.split(",") if n.strip()]
    if mode == "hierarchical" and (not coordinator or coordinator not in names):
        raise click.UsageError("--mode hierarchical needs --coordinator NAME, one of --agents")
    pool = ProviderPool(endpoints_from_env(provider_env()))
    opencode = OpenCode(config.opencode_url, password=os.environ.get("OPENCODE_SERVER_PASSWORD") or None)
    err = Console(stderr=True, highlight=False)

    def progress(event: AgentEvent) -> None:
        if fmt == "terminal":
            err.print(f"[dim]· {event.agent}: {event.kind} {event.detail}[/]", markup=True)

    async def go() -> ExecRun:
        try:
            return await run_agents(
                task,
                names,
                config,
                pool,
                model=model or os.environ.get("SWARM_MODEL") or None,
                mode=mode,
                coordinator=coordinator,
                table=_model_table(),
                opencode=opencode,
                on_event=progress,
            )
        finally:
            await opencode.aclose()

    run = asyncio.run(go())
    if not no_store:
        try:
            store = _store()
            try:
                run.save(store, names)
            finally:
                store.close()
        except StoreError as exc:
            _err(f"warning: run not stored: {exc}")
    _print_exec(run.to_dict(), fmt, None)
    return 0 if run.status == "ok" else 1


def _print_exec(document: dict[str, Any], fmt: str, output: Path | None) -> None:
    """An agents run (fresh or stored) as JSON or as text."""
    if fmt == "json":
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        lines = []
        for r in document.get("results", []):
            u = r.get("usage", {})
            tokens = int(u.get("input_tokens", 0)) + int(u.get("output_tokens", 0))
            lines.append(
                f"== {r['name']} [{r['backend']}] {r['status']} in {r['duration_s']:.2f} s, "
                f"{tokens} tokens, ${float(u.get('cost_usd', 0.0)):.4f} {r.get('model', '')}"
            )
            lines.append(r["output"] if r["status"] == "ok" else f"   {r.get('error', '')}")
        total = document.get("usage", {})
        lines.append(
            f"run {document.get('run_id') or '(not stored)'}: {document.get('status')} "
            f"in {float(document.get('duration_s', 0.0)):.2f} s, ${float(total.get('cost_usd', 0.0)):.4f}"
        )
        text = "\n".join(lines) + "\n"
    _write(text, output)


@cli.command("action")
def action_command() -> int:
    """Run inside GitHub Actions (action.yml calls this): act on the workflow's event.

    Reads GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_TOKEN and the action's inputs
    (SWARM_INPUT_*); writes the job summary, step outputs, annotations and a SARIF file.
    Exit code: 1 when a finding reaches fail-on, 2 when the workflow must be fixed.
    """
    from action.env import ActionEnv
    from action.run import run_action

    return run_action(ActionEnv.from_environ(os.environ)).exit_code


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
