"""What an evaluation will review (its tasks), under which settings, and what the model work may cost.

The estimate is made before any model call (`swarm eval --dry-run` prints it): each task's
diff is measured in tokens and sent, in the estimate, to every enabled lane with the lane's
instructions, and to the reviewer pass when it is on; the price is the model table's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarm_core.chunking import estimate_tokens
from swarm_core.config import SwarmConfig
from swarm_core.evaluation.dataset import Case
from swarm_core.evaluation.history import Change, Fix, FixPatterns, HistoryQuery, bug_fixes, merged_changes
from swarm_core.evaluation.scoring import Golden
from swarm_core.git import GitRepo
from swarm_core.models import Lane
from swarm_core.providers import KNOWN_PROVIDERS
from swarm_core.router import ModelTable

__all__ = ["KINDS", "Estimate", "EvalSettings", "Task", "estimate", "plan"]

KINDS = ("merged", "regression", "case")
# Per lane call: the lane's instructions and repository context besides the diff, and its reply.
_LANE_PROMPT_TOKENS = 3_000
_LANE_REPLY_TOKENS = 800
_REVIEWER_TOKENS = (2_000, 400)
_JUDGE_TOKENS = (2_500, 400)


@dataclass(frozen=True, slots=True)
class EvalSettings:
    """How an evaluation runs and scores (the report's `settings`).

    Args:
        query: which history (last N, since a date, listed commits).
        patterns: what makes a commit a bug fix.
        later_days: a finding's lines changed by a commit within this many days count as later changed.
        window: lines either side of a fix's line or a golden comment's line that still count.
        model: `provider/model` for the model lanes; None reviews with the deterministic lanes only.
        lanes: the lanes to run (empty: those the config enables).
        jobs: reviews run at once.
        max_cost_usd: the whole evaluation's model budget; None: only each run's own cap.
        judge: `provider/model` that judges dataset cases; None scores them by location only.
        merged: review merged changes.
        regressions: review bug fixes reversed.
    """

    query: HistoryQuery = field(default_factory=lambda: HistoryQuery(last=30))
    patterns: FixPatterns = field(default_factory=FixPatterns)
    later_days: int = 30
    window: int = 3
    model: str | None = None
    lanes: tuple[str, ...] = ()
    jobs: int = 1
    max_cost_usd: float | None = None
    judge: str | None = None
    merged: bool = True
    regressions: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The settings as the report shows them."""
        q, p = self.query, self.patterns
        return {
            "last": q.last,
            "since": q.since,
            "commits": list(q.commits),
            "later_days": self.later_days,
            "window": self.window,
            "min_lines": q.min_lines,
            "max_lines": q.max_lines,
            "fix_pattern": p.message,
            "fix_by_words": p.words,
            "fix_by_issue": p.issues,
            "fix_by_test": p.tests,
            "jobs": self.jobs,
            "max_cost_usd": self.max_cost_usd,
            "judge": self.judge,
        }

    def scoring_key(self) -> str:
        """What besides the review config changes a stored result: the scoring settings."""
        return json.dumps([self.later_days, self.window, self.judge, sorted(self.lanes)])


@dataclass(frozen=True, slots=True)
class Task:
    """One review to make: a merged change, a reversed fix, or a dataset case.

    `key` names the task in the run store: the head of a merged change, the fix's sha, the case id.
    """

    kind: str
    repo: str
    root: Path
    base: str
    head: str
    key: str
    subject: str = ""
    date: str = ""
    lines: int = 0
    why_fix: str = ""
    golden: tuple[Golden, ...] = field(default=())

    @classmethod
    def of_change(cls, root: Path, change: Change) -> Task:
        """A merged change reviewed as it was."""
        return cls(
            "merged",
            change.repo,
            root,
            change.base,
            change.head,
            change.head,
            change.subject,
            change.date,
            change.lines,
        )

    @classmethod
    def of_fix(cls, root: Path, fix: Fix) -> Task:
        """A fix reviewed reversed: from the fix back to its parent."""
        return cls(
            "regression",
            fix.repo,
            root,
            fix.sha,
            fix.parent,
            fix.sha,
            fix.subject,
            fix.date,
            fix.lines,
            fix.why_fix,
        )

    @classmethod
    def of_case(cls, root: Path, case: Case) -> Task:
        """A dataset case, reviewed in the clone at `root`."""
        return cls("case", case.repo, root, case.base, case.head, case.id, golden=case.golden)


def plan(root: Path, settings: EvalSettings, cases: Sequence[tuple[Path, Case]] = ()) -> list[Task]:
    """The tasks of an evaluation of the repository at `root`: merged changes, reversed fixes, cases.

    Raises:
        SourceError: not a repository, or a listed commit is unknown.
    """
    tasks: list[Task] = []
    if settings.merged:
        tasks += [Task.of_change(root, c) for c in merged_changes(root, settings.query)]
    if settings.regressions:
        q = settings.query
        scan = max(q.scan, 10 * (q.last or 0))
        wide = HistoryQuery(q.last, q.since, q.commits, q.min_lines, q.max_lines, scan, q.suffixes)
        tasks += [Task.of_fix(root, f) for f in bug_fixes(root, wide, settings.patterns)]
    tasks += [Task.of_case(clone, case) for clone, case in cases]
    return tasks


def config_hash(config: SwarmConfig, settings: EvalSettings) -> str:
    """A short hash of the review config and the scoring settings: part of a stored result's key."""
    text = config.model_dump_json(by_alias=True) + settings.scoring_key()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Estimate:
    """The model work an evaluation would do, before it does any."""

    tasks: int
    diff_tokens: int
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # None: the model is not in the table, so its price is unknown


def estimate(tasks: list[Task], config: SwarmConfig, settings: EvalSettings, table: ModelTable) -> Estimate:
    """Tokens and cost of the model work: each diff to each enabled lane (and the reviewer), at table prices.

    With no model the estimate is zero calls. Reads each task's diff from git (no model call).
    """
    lanes = [lane for lane in Lane if config.lanes.enabled(lane)] if settings.model is not None else []
    diff_tokens = calls = tokens_in = tokens_out = 0
    for task in tasks if lanes else ():
        size = estimate_tokens(GitRepo(task.root).diff(task.base, task.head).decode("utf-8", "replace"))
        passes = 2 if config.llm.reviewer else 1
        diff_tokens += size
        calls += passes * len(lanes)
        tokens_in += len(lanes) * (size + _LANE_PROMPT_TOKENS + (passes - 1) * _REVIEWER_TOKENS[0])
        tokens_out += len(lanes) * (_LANE_REPLY_TOKENS + (passes - 1) * _REVIEWER_TOKENS[1])
    cost = _price(table, settings.model, tokens_in, tokens_out)
    if settings.judge is not None:
        cases = sum(1 for t in tasks if t.kind == "case")
        judged = (cases * _JUDGE_TOKENS[0], cases * _JUDGE_TOKENS[1])
        calls += cases
        tokens_in, tokens_out = tokens_in + judged[0], tokens_out + judged[1]
        judge_cost = _price(table, settings.judge, *judged)
        cost = None if cost is None or judge_cost is None else cost + judge_cost
    return Estimate(len(tasks), diff_tokens, calls, tokens_in, tokens_out, cost)


def _price(table: ModelTable, model: str | None, tokens_in: int, tokens_out: int) -> float | None:
    if model is None or not tokens_in:
        return 0.0
    info = table.get(model)
    if info is not None:
        return info.cost(tokens_in, tokens_out)
    known = KNOWN_PROVIDERS.get(model.partition("/")[0])
    return 0.0 if known is not None and known.local else None  # a model on this machine costs nothing
