"""`swarm eval`: how swarm would have reviewed a repository's own history, and a dataset's cases."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from swarm_cli import environment, options
from swarm_cli.output import err, write
from swarm_core import ConfigError, StoreError

if TYPE_CHECKING:
    from swarm_core import SwarmConfig
    from swarm_core.evaluation import Case, EvalSettings, FixPatterns, ResultStore, Task

_FORMATS = click.Choice(["terminal", "markdown", "json", "html"])
_HTML_MODULE = "swarm_core.evaluation.html"


@click.command("eval")
@click.option(
    "--repo",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=Path(),
    help="Git repository.",
)
@click.option(
    "--last", type=click.IntRange(1), help="The last N merged changes (default 30) and up to N fixes."
)
@click.option(
    "--since", help="Changes and fixes since this date (any date git reads: 2025-01-31, '3 months ago')."
)
@click.option(
    "--commits",
    "commits_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Review these commits (one sha per line).",
)
@click.option(
    "--dataset",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also review a dataset's cases (JSON lines).",
)
@click.option("--no-history", is_flag=True, help="Review only the --dataset, not the repository's history.")
@options.model_option(
    "Model for the model lanes, provider/model (default: SWARM_MODEL; none: deterministic lanes only)."
)
@click.option(
    "--judge", help="Model that judges dataset cases, provider/model (default: location matching only)."
)
@click.option("--lanes", help="Comma-separated lanes to run (default: those the config enables).")
@options.config_option(f"Config file (default: REPO/{options.CONFIG_PATH}).")
@options.format_option(_FORMATS, help="Report format.")
@options.output_option("Write the report to a file instead of stdout.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 64), help="Reviews run at once.")
@click.option(
    "--dry-run", is_flag=True, help="Print the plan and a cost estimate; make no review and no model call."
)
@click.option(
    "--resume/--fresh", default=True, show_default=True, help="Reuse results stored by an earlier run."
)
@click.option(
    "--later-days",
    default=30,
    show_default=True,
    type=click.IntRange(1),
    help="Window of the later-changed proxy.",
)
@click.option(
    "--window",
    default=3,
    show_default=True,
    type=click.IntRange(0),
    help="Lines of slack for a hit or a match.",
)
@click.option(
    "--fix-pattern", help="Regular expression a bug fix's subject matches (default: fix, bug, crash, ...)."
)
@click.option(
    "--fix-by",
    default="message,issue,test",
    show_default=True,
    help="What marks a bug fix: its message, a linked issue (fixes #12), an added test; comma-separated.",
)
@options.max_cost_option()
def eval_command(
    repo: Path,
    last: int | None,
    since: str | None,
    commits_file: Path | None,
    dataset: Path | None,
    no_history: bool,
    model: str | None,
    judge: str | None,
    lanes: str | None,
    config_path: Path | None,
    fmt: str,
    output: Path | None,
    jobs: int,
    dry_run: bool,
    resume: bool,
    later_days: int,
    window: int,
    fix_pattern: str | None,
    fix_by: str,
    max_cost: float | None,
) -> int:
    """Would swarm help this repository? Review its merged changes and its bug fixes reversed.

    Merged changes are reviewed as they were: findings per 1,000 lines, the share that
    would be blocked, and how many findings sit on lines the team changed again within
    --later-days. Bug fixes are reviewed reversed (the change that puts the bug back): a
    fix counts as caught when a finding lands within --window lines of its lines. Results
    are stored per change, so an interrupted run resumes.

    \b
    Examples:
      swarm eval --repo . --last 30
      swarm eval --repo . --since 2025-01-01 --model llamacpp/smollm2 --jobs 2 --dry-run
      swarm eval --repo . --format json --output eval.json
    """
    from swarm_core.evaluation import EvalSettings, HistoryQuery, read_commits, with_lanes
    from swarm_core.providers import split_model

    if sum(x is not None for x in (last, since, commits_file)) > 1:
        raise click.UsageError("give one of --last, --since and --commits")
    if no_history and dataset is None:
        raise click.UsageError("--no-history needs --dataset")
    model = environment.default_model(model)
    for name in (model, judge):
        if name:
            split_model(name)  # a typo is a usage error before any work is done
    root = _toplevel(repo)
    config = environment.find_config(config_path, root)
    chosen = tuple(x.strip() for x in (lanes or "").split(",") if x.strip())
    config = with_lanes(config, chosen)
    commits = read_commits(commits_file) if commits_file else ()
    settings = EvalSettings(
        query=HistoryQuery(last=last if last or since or commits else 30, since=since, commits=commits),
        patterns=_patterns(fix_pattern, fix_by),
        later_days=later_days,
        window=window,
        model=model,
        lanes=chosen,
        jobs=jobs,
        max_cost_usd=max_cost,
        judge=judge,
        merged=not no_history,
        regressions=not no_history,
    )
    render = _renderer(fmt)
    tasks = _tasks(root, settings, dataset)
    results = _results(fresh=not resume)
    try:
        if dry_run:
            write(_dry_run(root, tasks, config, settings, results), output)
            return 0
        report = _run(root, tasks, config, settings, results, dataset)
    finally:
        if results.store is not None:
            results.store.close()
    write(render(report), output)
    return 0


def _patterns(fix_pattern: str | None, fix_by: str) -> FixPatterns:
    from swarm_core.evaluation import FixPatterns

    signals = {x.strip() for x in fix_by.split(",") if x.strip()}
    unknown = sorted(signals - {"message", "issue", "test"})
    if unknown or not signals:
        raise click.UsageError(
            f"--fix-by takes message, issue and test, not {', '.join(unknown) or 'nothing'}"
        )
    return FixPatterns(fix_pattern, "message" in signals, "issue" in signals, "test" in signals)


def _toplevel(repo: Path) -> Path:
    """The top folder of the clone at --repo (its name names the report)."""
    from swarm_core import GitRepo, SourceError

    try:
        return GitRepo(repo.resolve()).check()
    except SourceError:
        raise ConfigError(f"{repo} is not a git repository; swarm eval replays a clone's history") from None


def _tasks(root: Path, settings: EvalSettings, dataset: Path | None) -> list[Task]:
    from swarm_core.evaluation import load_dataset, plan

    cases = [(_clone_for(root, case), case) for case in load_dataset(dataset)] if dataset else []
    return plan(root, settings, cases)


def _clone_for(root: Path, case: Case) -> Path:
    """Where a case's repository is: --repo when its name matches, else a sibling folder of that name."""
    name = case.repo.rstrip("/").rsplit("/", 1)[-1]
    if name == root.name:
        return root
    sibling = root.parent / name
    if (sibling / ".git").exists():
        return sibling
    raise ConfigError(
        f"dataset case {case.id}: no clone of {case.repo}; clone it to {sibling} or pass --repo"
    )


def _results(*, fresh: bool) -> ResultStore:
    from swarm_core.evaluation import ResultStore

    try:
        return ResultStore(environment.open_run_store(), fresh=fresh)
    except StoreError as exc:
        err(f"warning: results will not be stored, and this run cannot be resumed: {exc}")
        return ResultStore(None)


def _dry_run(
    root: Path, tasks: list[Task], config: SwarmConfig, settings: EvalSettings, results: ResultStore
) -> str:
    from swarm_core.evaluation import estimate, task_key

    counts = {k: sum(1 for t in tasks if t.kind == k) for k in ("merged", "regression", "case")}
    todo = [t for t in tasks if results.get(task_key(t, config, settings)) is None]
    stored = len(tasks) - len(todo)
    est = estimate(todo, config, settings, environment.model_table())
    lines = [
        f"swarm eval plan for {root.name}: {counts['merged']} merged changes, "
        f"{counts['regression']} bug fixes reviewed reversed, {counts['case']} dataset cases",
        f"already stored (skipped on resume): {stored}",
    ]
    lines += [
        f"  {t.kind:<10} {t.key[:12]:<12} {t.why_fix or '':<7} {t.subject[:70]}".rstrip() for t in tasks
    ]
    if settings.model is None:
        lines.append("model: none, deterministic lanes only: no model calls, no cost")
    else:
        price = (
            "price unknown (model not in the model table)"
            if est.cost_usd is None
            else f"~${est.cost_usd:.4f}"
        )
        lines.append(
            f"model {settings.model}: ~{est.calls} calls, ~{est.input_tokens:,} input and "
            f"~{est.output_tokens:,} output tokens ({est.diff_tokens:,} diff tokens): {price}"
        )
        if settings.max_cost_usd is not None:
            lines.append(f"budget: ${settings.max_cost_usd:.2f}; tasks past it are skipped")
    return "\n".join(lines) + "\n"


def _run(
    root: Path,
    tasks: list[Task],
    config: SwarmConfig,
    settings: EvalSettings,
    results: ResultStore,
    dataset: Path | None,
) -> dict[str, Any]:
    from swarm_core import Lane
    from swarm_core.evaluation import Runner, build_report, engine_judge

    engine = environment.engine(settings.model)
    judge = engine_judge(engine) if settings.judge else None
    runner = Runner(engine.review, config, settings, results, judge)
    start = time.perf_counter()
    if sys.stderr.isatty() and tasks:
        with click.progressbar(length=len(tasks), label="swarm eval", file=sys.stderr) as bar:
            items = runner.run(tasks, lambda _t, _i: bar.update(1))
    else:
        items = runner.run(tasks)
    lanes = [lane.value for lane in Lane if config.lanes.enabled(lane)]
    name = dataset.stem if dataset else None
    return build_report(root.name, settings, lanes, items, seconds=time.perf_counter() - start, dataset=name)


def _renderer(fmt: str) -> Callable[[dict[str, Any]], str]:
    """The report's renderer, found before any review (a missing HTML report fails fast)."""
    from swarm_core.evaluation import render_json, render_text

    if fmt == "json":
        return render_json
    if fmt != "html":
        return lambda report: render_text(report, fmt)
    import importlib

    try:
        html = importlib.import_module(_HTML_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != _HTML_MODULE:
            raise
        raise ConfigError(
            "--format html needs the HTML report (swarm_core/evaluation/html.py), which this build does not "
            "have yet; use --format json or markdown"
        ) from None
    render: Callable[[dict[str, Any]], str] = html.render_html
    return render
