"""`swarm pr-review`: review a git range, a patch file, a diff on stdin, or a GitHub pull request."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from swarm_cli import environment, options
from swarm_cli.github import PR_URL, parse_ref, token_client
from swarm_cli.output import emit, err
from swarm_core import ConfigError, StoreError

if TYPE_CHECKING:
    from swarm_core import ChangeSet, SwarmConfig
    from swarm_core.github import GitHubClient, PullRequest
    from swarm_core.store import SqlRunStore

EXIT_FINDINGS = 1
F = TypeVar("F", bound=Callable[..., Any])


def change_sources(f: F) -> F:
    """The options naming where a change comes from, shared by pr-review, ask and describe:
    --repo, --base, --head, --patch, --config and --pr."""
    for option in reversed(
        (
            click.option(
                "--repo",
                type=click.Path(path_type=Path, file_okay=False),
                help="Git repository (default: .).",
            ),
            click.option("--base", help="Base ref (default: merge base with the default branch)."),
            click.option("--head", help="Head ref (default: HEAD)."),
            click.option(
                "--patch",
                "patch_file",
                type=click.Path(path_type=Path, dir_okay=False),
                help="Read the change from a .patch/.diff file.",
            ),
            options.config_option(
                f"Config file (default: REPO/{options.CONFIG_PATH}, or the PR's default branch)."
            ),
            click.option(
                "--pr",
                "pr_ref",
                help="A GitHub pull request: URL or owner/repo#N (uses GITHUB_TOKEN, GITHUB_API_URL).",
            ),
        )
    ):
        f = option(f)
    return f


def load_change(
    *,
    repo: Path | None = None,
    base: str | None = None,
    head: str | None = None,
    patch_file: Path | None = None,
    pr_ref: str | None = None,
    config_path: Path | None = None,
    source: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[SwarmConfig, ChangeSet]:
    """The config and the change the `change_sources` options (and `-` for stdin) name."""
    from swarm_core import merge

    if pr_ref is not None and (source is not None or patch_file is not None or base or head):
        raise click.UsageError("--pr reads a pull request on GitHub; do not combine it with a local source")
    if source == "-" and patch_file is not None:
        raise click.UsageError("give either - (stdin) or --patch FILE, not both")
    github_pr = None
    if pr_ref is not None:
        github_pr, config = _github_pr(pr_ref, config_path)
    else:
        config = environment.find_config(config_path, repo if repo is not None else Path())
    if overrides:
        config = merge(config, overrides)
    return config, _change(source, repo, base, head, patch_file, github_pr, config)


@click.command("pr-review")
@click.argument("source", required=False, metavar="[-]")
@change_sources
@options.format_option(help="Output format.")
@options.output_option("Write the report to a file instead of stdout.")
@click.option(
    "--fail-on",
    type=options.FAIL_ON,
    help="Exit 1 when a finding is at or above this severity (default: config fail_on).",
)
@options.no_store_option()
@options.model_option("Default model for every lane, provider/model (default: SWARM_MODEL).")
@options.optimize_option("Let the router pick each lane's model by this goal (models.mode).")
@options.mode_option(help="How the model lanes run (default: llm.mode, parallel).")
@click.option("--council", is_flag=True, help="Adversarial lanes: each assumes the change is wrong.")
@options.max_cost_option()
@click.option("--no-llm", is_flag=True, help="Deterministic lanes only, even with a model configured.")
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
    import asyncio

    from rich.console import Console

    from swarm_core.providers import split_model
    from swarm_core.render import LiveProgress

    if source not in (None, "-"):
        raise click.UsageError(f"unexpected argument {source!r}; use --patch FILE, or - for stdin")
    overrides = _overrides(fail_on, optimize, mode, council, max_cost)
    config, change = load_change(
        repo=repo,
        base=base,
        head=head,
        patch_file=patch_file,
        pr_ref=pr_ref,
        config_path=config_path,
        source=source,
        overrides=overrides,
    )
    default_model = environment.default_model(model)
    if default_model:
        split_model(default_model)  # a typo is a usage error before any work is done
    store: SqlRunStore | None = None
    if not no_store:
        try:
            store = environment.open_run_store()
        except StoreError as exc:
            err(f"warning: run will not be stored: {exc}")
    engine = environment.engine(
        model,
        memory=None if no_llm else environment.memory(store),
        advisory_cache=environment.advisory_cache(store),
    )
    try:
        with LiveProgress(Console(stderr=True)) as progress:
            review = asyncio.run(engine.review(config, change, models=not no_llm, on_event=progress))
        if store is not None:
            try:
                review = review.with_run_id(store.save_review(review))
            except StoreError as exc:
                err(f"warning: run not stored: {exc}")
    finally:
        if store is not None:
            store.close()
    emit(review, fmt, output)
    return EXIT_FINDINGS if review.fails(config.fail_threshold) else 0


def _overrides(
    fail_on: str | None, optimize: str | None, mode: str | None, council: bool, max_cost: float | None
) -> dict[str, Any]:
    """The config the flags ask for, as a mapping to merge over the file's."""
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
    return overrides


def _change(
    source: str | None,
    repo: Path | None,
    base: str | None,
    head: str | None,
    patch_file: Path | None,
    github_pr: tuple[GitHubClient, PullRequest] | None,
    config: SwarmConfig,
) -> ChangeSet:
    """The change to review, from whichever source the arguments name."""
    from swarm_core import from_git, from_patch

    max_bytes = config.limits.max_diff_bytes
    if github_pr is not None:
        # Imported here only: the GitHub client (PyGithub) costs a local review 0.4 s of start-up.
        from swarm_core.github import change_from_pr

        client, pr = github_pr
        return change_from_pr(client, pr, config)
    if source == "-":
        data = _read_limited(sys.stdin.buffer, max_bytes, "the diff on stdin")
        return from_patch(data, "stdin", repo_path=repo, base=base, max_diff_bytes=max_bytes)
    if patch_file is not None:
        try:
            with patch_file.open("rb") as fh:
                data = _read_limited(fh, max_bytes, str(patch_file))
        except OSError as exc:
            raise ConfigError(f"cannot read {patch_file}: {exc.strerror or exc}") from None
        return from_patch(data, str(patch_file), repo_path=repo, base=base, max_diff_bytes=max_bytes)
    return from_git(
        repo or Path(),
        base,
        head,
        max_diff_bytes=max_bytes,
        max_file_bytes=config.limits.max_file_bytes,
    )


def _read_limited(stream: IO[bytes], limit: int, what: str) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ConfigError(
            f"{what} is over the {limit / 1e6:.0f} MB limit; review a smaller range "
            "or raise limits.max_diff_bytes in the config"
        )
    return data


def _github_pr(ref: str, config_path: Path | None) -> tuple[tuple[GitHubClient, PullRequest], SwarmConfig]:
    """The client and pull request for --pr, and the config (from the default branch unless --config)."""
    from swarm_core import load_config
    from swarm_core.github import repo_config

    repo, number = parse_ref(ref, PR_URL, "--pr", "a pull request")
    client = token_client("--pr")
    pr = client.pull_request(repo, number)
    if config_path is not None:
        return (client, pr), load_config(config_path)
    config, problem = repo_config(client, pr.repo, pr.default_branch)
    if problem:
        raise ConfigError(problem)
    return (client, pr), config
