"""Evaluation: how good swarm would have been on a repository's own history (`swarm eval`).

history.py   merged changes and bug-fix commits of a repository
plan.py      the tasks of an evaluation, its settings, and the cost estimate
replay.py    a change reviewed as it was, a fix reviewed reversed
runner.py    tasks run K at a time, under one model budget, stored as they finish
results.py   each task's result in the run store, so a re-run resumes
findings.py  a review's findings as report rows
scoring.py   hits at a fix's lines, later-changed lines, golden-comment matches
dataset.py   the JSON-lines dataset format and the optional LLM judge
report.py    the `swarm-eval/1` report, its terminal and markdown tables

html.py      the report as one self-contained HTML page with charts (`render_html`)
"""

from __future__ import annotations

from swarm_core.evaluation.dataset import Case, load_dataset
from swarm_core.evaluation.history import (
    Change,
    Fix,
    FixPatterns,
    HistoryQuery,
    bug_fixes,
    merged_changes,
    read_commits,
)
from swarm_core.evaluation.html import render_html
from swarm_core.evaluation.plan import Estimate, EvalSettings, Task, estimate, plan
from swarm_core.evaluation.replay import repo_config
from swarm_core.evaluation.report import SCHEMA, build_report, render_json, render_text
from swarm_core.evaluation.results import ResultStore
from swarm_core.evaluation.runner import Runner, engine_judge, task_key, with_lanes

__all__ = [
    "SCHEMA",
    "Case",
    "Change",
    "Estimate",
    "EvalSettings",
    "Fix",
    "FixPatterns",
    "HistoryQuery",
    "ResultStore",
    "Runner",
    "Task",
    "bug_fixes",
    "build_report",
    "engine_judge",
    "estimate",
    "load_dataset",
    "merged_changes",
    "plan",
    "read_commits",
    "render_html",
    "render_json",
    "render_text",
    "repo_config",
    "task_key",
    "with_lanes",
]
