"""Running an evaluation: each task replayed, scored and stored; K at a time; under one model budget.

Tasks run in worker threads (`jobs` at once), each with its own event loop; results are
stored from the calling thread as they finish, so an interrupted run keeps every finished
one and a re-run skips them. With `max_cost_usd`, what the finished tasks spent plus the
per-run caps of those in flight may never pass the budget (`budget.Budget`): each task's
own cap is lowered to what is left, and once nothing is left the rest are skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from swarm_core.budget import Budget
from swarm_core.config import SwarmConfig, merge
from swarm_core.engine import Engine, Reviewer
from swarm_core.errors import ConfigError, LimitReached, ProviderError, SwarmError
from swarm_core.evaluation.dataset import judge_case
from swarm_core.evaluation.findings import finding_items, lane_usage
from swarm_core.evaluation.plan import EvalSettings, Task, config_hash
from swarm_core.evaluation.replay import Replay, replay
from swarm_core.evaluation.results import ResultStore, result_key
from swarm_core.evaluation.scoring import LaterChanges, fix_hit, fix_lines, match_golden
from swarm_core.model_calls import ModelCaller
from swarm_core.models import Exchange, Lane
from swarm_core.router import load_table

__all__ = ["Runner", "engine_judge", "task_key", "with_lanes"]

JudgeFactory = Callable[[SwarmConfig], ModelCaller]
OnDone = Callable[[Task, dict[str, Any]], None]


def task_key(task: Task, config: SwarmConfig, settings: EvalSettings) -> str:
    """The run-store id of a task's result under a config, settings and model."""
    return result_key(task.repo, task.key, task.kind, config_hash(config, settings), settings.model)


def engine_judge(engine: Engine) -> JudgeFactory:
    """Model callers for the judge over an engine's provider keys and model table (one pool per case)."""
    table = engine.table or load_table()
    return lambda config: ModelCaller.for_config(engine.keys.pool(), table, config)


def with_lanes(config: SwarmConfig, lanes: Sequence[str]) -> SwarmConfig:
    """`config` with only `lanes` switched on (all of the config's when `lanes` is empty).

    Raises:
        ConfigError: a lane name is unknown.
    """
    if not lanes:
        return config
    known = {lane.value for lane in Lane}
    unknown = sorted(set(lanes) - known)
    if unknown:
        raise ConfigError(f"unknown lane(s) {', '.join(unknown)}; lanes are {', '.join(sorted(known))}")
    return merge(config, {"lanes": {lane: lane in lanes for lane in known}})


def _base(task: Task) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": task.kind,
        "repo": task.repo,
        "seconds": 0.0,
        "tokens": 0,
        "cost_usd": 0.0,
    }
    item["model_calls"], item["status"], item["error"], item["findings"] = 0, "done", None, []
    if task.kind == "case":
        item.update(id=task.key, base=task.base, head=task.head)
        item["golden"] = [
            {"path": g.path, "line": g.line, "severity": g.severity, "body": g.body} for g in task.golden
        ]
    else:
        item.update(sha=task.key, subject=task.subject, date=task.date, lines=task.lines)
    if task.kind == "regression":
        item["why_fix"] = task.why_fix
    return item


class Runner:
    """Runs an evaluation's tasks and scores each as it finishes.

    Args:
        reviewer: the engine's review.
        config: the review config (the repository's, with --lanes applied).
        settings: the evaluation's settings.
        results: where finished results are kept and found again.
        judge: makes the judge's model caller for a case (None: no judge).
    """

    def __init__(
        self,
        reviewer: Reviewer,
        config: SwarmConfig,
        settings: EvalSettings,
        results: ResultStore,
        judge: JudgeFactory | None = None,
    ) -> None:
        self.reviewer = reviewer
        self.config = config
        self.settings = settings
        self.results = results
        self.judge = judge
        self.spent_usd = 0.0

    def key(self, task: Task) -> str:
        """The run-store id of a task's result."""
        return task_key(task, self.config, self.settings)

    def run(self, tasks: Sequence[Task], on_done: OnDone | None = None) -> list[dict[str, Any]]:
        """Every task's result, in task order; stored ones are reused unless the store is fresh.

        Raises:
            StoreError: the run store cannot be read or written.
            KeyboardInterrupt: the run was interrupted (finished results are already stored).
        """
        out: dict[int, dict[str, Any]] = {}
        inflight: dict[Future[tuple[dict[str, Any], tuple[Exchange, ...]]], tuple[int, float]] = {}
        queue = iter(enumerate(tasks))

        def finish(index: int, item: dict[str, Any]) -> None:
            out[index] = item
            if on_done is not None:
                on_done(tasks[index], item)

        with ThreadPoolExecutor(max_workers=max(1, self.settings.jobs)) as pool:
            while True:
                while len(inflight) < max(1, self.settings.jobs):
                    nxt = next(queue, None)
                    if nxt is None:
                        break
                    index, task = nxt
                    stored = self.results.get(self.key(task))
                    if stored is not None:
                        finish(index, {**stored, "resumed": True})
                        continue
                    config = self._allowed(sum(hold for _, hold in inflight.values()))
                    if config is None:
                        spent = f"${self.spent_usd:.2f} of ${self.settings.max_cost_usd:.2f}"
                        finish(
                            index,
                            {
                                **_base(task),
                                "status": "skipped",
                                "error": f"the model budget is spent ({spent})",
                            },
                        )
                        continue
                    hold = config.llm.limits.max_cost_usd if self.settings.model else 0.0
                    inflight[pool.submit(self._execute, task, config)] = (index, hold)
                if not inflight:
                    break
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for future in done:
                    index, _ = inflight.pop(future)
                    item, exchanges = future.result()
                    self.spent_usd += float(item["cost_usd"])
                    if item["status"] == "done":
                        self.results.put(self.key(tasks[index]), item, exchanges, tasks[index].repo)
                    finish(index, item)
        return [out[i] for i in range(len(tasks))]

    def _allowed(self, held: float) -> SwarmConfig | None:
        """The config for the next task under the budget, or None when the budget is spent."""
        if self.settings.max_cost_usd is None or self.settings.model is None:
            return self.config
        allowance = Budget(self.settings.max_cost_usd).allowance(self.spent_usd + held)
        if allowance.exhausted:
            return None
        return allowance.cap(self.config)[0]

    def _execute(self, task: Task, config: SwarmConfig) -> tuple[dict[str, Any], tuple[Exchange, ...]]:
        """One task, in a worker thread: replay, score. A task's failure is its result, not the run's."""
        item = _base(task)
        models = self.settings.model is not None
        try:
            replayed = asyncio.run(
                replay(self.reviewer, config, task.root, task.base, task.head, models=models)
            )
            exchanges = self._score(task, replayed, item, config)
        except SwarmError as exc:
            return {**item, "status": "failed", "error": str(exc)}, ()
        except Exception as exc:  # boundary: one task (a job) fails, the evaluation goes on
            return {**item, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}, ()
        return item, exchanges

    def _score(
        self, task: Task, replayed: Replay, item: dict[str, Any], config: SwarmConfig
    ) -> tuple[Exchange, ...]:
        review, window = replayed.review, self.settings.window
        usage = review.usage
        item.update(
            seconds=round(replayed.seconds, 3), verdict=review.verdict.value, lanes=lane_usage(review)
        )
        item.update(tokens=usage.total_tokens, cost_usd=round(usage.cost_usd, 6), model_calls=usage.calls)
        item["findings"] = findings = finding_items(task.root, task.base, task.head, review.findings)
        if task.kind == "merged":
            item["lines"] = review.additions + review.deletions
            later = LaterChanges(task.root, self.settings.later_days)
            for row, f in zip(findings, review.findings, strict=True):
                row["later_changed"] = later.changed(task.head, f)
        elif task.kind == "regression":
            diff = replayed.change.diff
            item["fix_lines"] = fix_lines(diff)
            for row, f in zip(findings, review.findings, strict=True):
                row["hit"] = fix_hit(f, diff, window)
            hit_by = {name for row in findings if row["hit"] for name in (row["lane"], row["source"])}
            item["hit"], item["hit_by"] = bool(hit_by), sorted(hit_by)
        else:
            return review.exchanges + self._match(task, item, review.findings, config)
        return review.exchanges

    def _match(
        self, task: Task, item: dict[str, Any], found: Sequence[Any], config: SwarmConfig
    ) -> tuple[Exchange, ...]:
        """Score a case by location, or by the judge when one is set (its exchanges are the evidence)."""
        by_finding, by_golden = match_golden(found, task.golden, self.settings.window)
        exchanges: tuple[Exchange, ...] = ()
        if self.judge is not None and self.settings.judge is not None:
            caller = self.judge(config)
            try:
                by_finding, by_golden, verdicts = asyncio.run(
                    _judged(caller, self.settings.judge, task, found)
                )
                item["judge"] = {"model": self.settings.judge, "verdicts": verdicts, "error": None}
            except (LimitReached, ProviderError) as exc:
                item["judge"] = {"model": self.settings.judge, "verdicts": [], "error": str(exc)}
            exchanges = tuple(caller.exchanges)
            spent = sum(e.usage.cost_usd for e in exchanges)
            item["cost_usd"] = round(item["cost_usd"] + spent, 6)
            item["tokens"] += sum(e.usage.total_tokens for e in exchanges)
            item["model_calls"] += len(exchanges)
        for row, hit in zip(item["findings"], by_finding, strict=True):
            row["matched"] = hit
        for row, hit in zip(item["golden"], by_golden, strict=True):
            row["matched"] = hit
        return exchanges


async def _judged(
    caller: ModelCaller, model: str, task: Task, found: Sequence[Any]
) -> tuple[list[bool], list[bool], list[dict[str, Any]]]:
    try:
        return await judge_case(caller, model, task.golden, found)
    finally:
        await caller.pool.aclose()
