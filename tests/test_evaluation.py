"""`swarm eval`'s engine: history, scoring windows, the later-changed proxy, datasets, resume, budget."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from swarm_core import ConfigError, ProviderKeys, build_engine
from swarm_core.changeset import ChangeSet
from swarm_core.config import SwarmConfig
from swarm_core.diff import parse_diff
from swarm_core.evaluation import (
    EvalSettings,
    FixPatterns,
    HistoryQuery,
    ResultStore,
    Runner,
    bug_fixes,
    build_report,
    load_dataset,
    merged_changes,
    plan,
)
from swarm_core.evaluation.scoring import Golden, LaterChanges, fix_hit, match_golden, within
from swarm_core.models import Finding, Lane, Review, Severity, Side, Usage
from swarm_core.store import SqlRunStore, open_store, sqlite_url

DAY = 86_400
T0 = 1_700_000_000

LIB = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(8))


def commit(root: Path, files: dict[str, str], message: str, day: float) -> str:
    """Commit files at a fixed date (days after T0), so windows in days are exact."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    stamp = f"@{int(T0 + day * DAY)} +0000"
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    ident = ["-c", "user.name=swarm-test", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), *ident, "commit", "-q", "-m", message], check=True, env=env)
    out = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    return make_history(tmp_path)


def make_history(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project whose history holds a feature, three kinds of fix and a chore."""
    root = tmp_path / "proj"
    root.mkdir()
    subprocess.run(["git", "-C", str(root), "init", "-q", "-b", "main"], check=True)
    shas = {"init": commit(root, {"lib.py": LIB}, "Initial import", 0)}
    shas["feature"] = commit(root, {"lib.py": LIB + "def g(x):\n    return [x] * 3\n"}, "Add g", 1)
    fixed = LIB.replace("return x + 2", "return x + 2 if x else 0")
    shas["fix"] = commit(
        root, {"lib.py": fixed + "def g(x):\n    return [x] * 3\n"}, "Fix crash in f2 on None", 2
    )
    shas["chore"] = commit(root, {"README.md": "typo fixed\n" * 12}, "Fix typo in docs", 3)
    linked = fixed.replace("return x + 5", "return x + 5 or 1")
    shas["issue"] = commit(
        root, {"lib.py": linked + "def g(x):\n    return [x] * 3\n"}, "Guard f5\n\nCloses #12", 4
    )
    tested = linked.replace("return x + 7", "return abs(x) + 7")
    shas["tested"] = commit(
        root,
        {
            "lib.py": tested + "def g(x):\n    return [x] * 3\n",
            "tests/test_lib.py": "def test_f7():\n    assert True\n",
        },
        "Make f7 take negatives",
        5,
    )
    return root, shas


def test_merged_changes_are_first_parent_commits_in_the_size_window(
    history: tuple[Path, dict[str, str]],
) -> None:
    root, shas = history
    got = merged_changes(root, HistoryQuery(last=10, min_lines=1, max_lines=2000))
    assert [(c.head, c.base, c.lines) for c in got] == [
        (shas["tested"], shas["issue"], 4),
        (shas["issue"], shas["chore"], 2),
        (shas["chore"], shas["fix"], 12),
        (shas["fix"], shas["feature"], 2),
        (shas["feature"], shas["init"], 2),
    ]
    py_only = merged_changes(root, HistoryQuery(last=2, min_lines=1, suffixes=(".py",)))
    assert [c.subject for c in py_only] == ["Make f7 take negatives", "Guard f5"]
    recent = merged_changes(root, HistoryQuery(since="2023-11-17T12:00:00Z"))  # T0 is 2023-11-14 22:13 UTC
    assert [c.head for c in recent] == [shas["tested"], shas["issue"], shas["chore"]]
    listed = merged_changes(root, HistoryQuery(commits=(shas["chore"][:10],)))
    assert [c.head for c in listed] == [shas["chore"]]


def test_bug_fixes_by_message_linked_issue_and_added_test(history: tuple[Path, dict[str, str]]) -> None:
    root, shas = history
    got = bug_fixes(root, HistoryQuery(last=10), FixPatterns())
    assert [(f.sha, f.parent, f.why_fix) for f in got] == [
        (shas["tested"], shas["issue"], "test"),
        (shas["issue"], shas["chore"], "issue"),
        (shas["fix"], shas["feature"], "message"),
    ]  # the docs typo is a chore, the feature is no fix
    only_words = bug_fixes(root, HistoryQuery(last=10), FixPatterns(issues=False, tests=False))
    assert [f.subject for f in only_words] == ["Fix crash in f2 on None"]
    own = bug_fixes(root, HistoryQuery(last=10), FixPatterns(message=r"^guard", issues=False, tests=False))
    assert [f.subject for f in own] == ["Guard f5"]
    no_words = bug_fixes(root, HistoryQuery(last=10), FixPatterns(words=False, tests=False))
    assert [f.subject for f in no_words] == ["Guard f5"]
    with pytest.raises(ConfigError, match="not a regular expression"):
        FixPatterns(message="(unclosed")


REVERSED_FIX = "\n".join(
    [
        "diff --git a/lib.py b/lib.py",
        "--- a/lib.py",
        "+++ b/lib.py",
        "@@ -10,3 +10,3 @@ def f2(x):",
        " def f2(x):",
        "-    return x + 2 if x else 0",
        "+    return x + 2",
        " ",
        "",
    ]
)


def finding(
    line: int | None, side: Side = Side.RIGHT, end: int | None = None, path: str = "lib.py"
) -> Finding:
    return Finding(path, line, Severity.MEDIUM, Lane.CORRECTNESS, "c", "r/x", "t", end_line=end, side=side)


def test_a_fix_is_hit_within_the_window_on_its_own_side() -> None:
    diff = parse_diff(REVERSED_FIX)
    assert [fix_hit(finding(11, Side.LEFT), diff, 0), fix_hit(finding(13, Side.LEFT), diff, 0)] == [
        True,
        False,
    ]
    assert [fix_hit(finding(13, Side.LEFT), diff, 2), fix_hit(finding(14, Side.LEFT), diff, 2)] == [
        True,
        False,
    ]
    assert fix_hit(finding(11, Side.RIGHT), diff, 0)  # the line the reversal puts back
    assert not fix_hit(finding(11, Side.LEFT, path="other.py"), diff, 3)
    assert not fix_hit(finding(None), diff, 3)
    assert within(finding(5, end=9), {12}, 3) and not within(finding(5, end=8), {12}, 3)


def test_later_changed_counts_lines_rewritten_within_the_window(tmp_path: Path) -> None:
    root = tmp_path / "later"
    root.mkdir()
    subprocess.run(["git", "-C", str(root), "init", "-q", "-b", "main"], check=True)
    lines = [f"line{i}\n" for i in range(1, 11)]
    commit(root, {"a.py": "".join(lines)}, "base", 0)
    head = commit(root, {"a.py": "".join(lines) + "line11\n", "b.py": "x\n"}, "the change", 1)
    lines[2] = "changed3\n"
    commit(root, {"a.py": "".join(lines) + "line11\n"}, "soon after", 5)
    lines[7] = "changed8\n"
    commit(root, {"a.py": "".join(lines) + "line11\n"}, "much later", 60)
    month, quarter = LaterChanges(root, 30), LaterChanges(root, 90)
    assert [month.changed(head, finding(n, path="a.py")) for n in (3, 5, 8)] == [True, False, False]
    assert [quarter.changed(head, finding(n, path="a.py")) for n in (3, 5, 8)] == [True, False, True]
    assert month.changed(head, finding(2, end=4, path="a.py"))
    assert month.changed(head, finding(None, path="a.py"))  # file-level: its file was touched
    assert not month.changed(head, finding(None, path="b.py"))
    assert not month.changed(head, finding(3, Side.LEFT, path="a.py"))  # a deleted line
    newest = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    assert not month.changed(newest.stdout.strip(), finding(8, path="a.py"))  # nothing came after


def write_lines(path: Path, rows: list[Any]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_dataset_cases_parse_and_bad_ones_name_their_line(tmp_path: Path) -> None:
    good = {
        "id": "c1",
        "repo": "o/proj",
        "base": "a",
        "head": "b",
        "golden": [{"path": "x.py", "line": 3, "severity": "high", "body": "off by one", "url": "u"}],
    }
    cases = load_dataset(
        write_lines(tmp_path / "d.jsonl", [good, "", {"repo": "o/p", "base": "c", "head": "d"}])
    )
    assert [(c.id, c.repo, c.base, c.head, len(c.golden)) for c in cases] == [
        ("c1", "o/proj", "a", "b", 1),
        ("case-2", "o/p", "c", "d", 0),
    ]
    assert cases[0].golden[0] == Golden("x.py", 3, "high", "off by one", {"url": "u"})
    bad = [
        (["{not json"], "d.jsonl:1: not JSON"),
        ([good, {"repo": "r", "head": "h"}], "d.jsonl:2: missing 'base'"),
        ([{**good, "golden": [{"line": 2}]}], "needs a path"),
        ([{**good, "golden": [{"path": "x", "line": 0}]}], "positive integer"),
        ([{**good, "golden": "x"}], "must be a list"),
        ([good, good], "case ids repeat: c1"),
        ([], "has no cases"),
        (["[1]"], "expected a JSON object"),
    ]
    for rows, message in bad:
        with pytest.raises(ConfigError, match=message):
            load_dataset(write_lines(tmp_path / "d.jsonl", rows))
    with pytest.raises(ConfigError, match="cannot read dataset"):
        load_dataset(tmp_path / "missing.jsonl")


def test_golden_comments_match_one_finding_each_nearest_first() -> None:
    found = [
        finding(10, path="a.py"),
        finding(12, path="a.py"),
        finding(40, path="a.py"),
        finding(None, path="b.py"),
    ]
    golden = [
        Golden("a.py", 12),
        Golden("./a.py", 11),
        Golden("a.py", 30),
        Golden("b.py", None),
        Golden("c.py", 1),
    ]
    by_finding, by_golden = match_golden(found, golden, 3)
    assert (by_finding, by_golden) == ([True, True, False, True], [True, True, False, True, False])
    assert match_golden(found, [Golden("a.py", 30)], 10) == ([False, False, True, False], [True])


def counting_reviewer(calls: list[str], stop_at: int | None = None) -> Any:
    engine = build_engine(ProviderKeys())

    async def review(config: SwarmConfig, change: ChangeSet, *, models: bool = True) -> Review:
        calls.append(str(change.head))
        if stop_at is not None and len(calls) == stop_at:
            raise KeyboardInterrupt
        return await engine.review(config, change, models=models)

    return review


def test_an_interrupted_run_resumes_where_it_stopped(
    history: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, _ = history
    settings = EvalSettings(query=HistoryQuery(last=4, min_lines=1), regressions=False)
    tasks = plan(root, settings)
    store = open_store(sqlite_url(tmp_path / "store"))
    try:
        calls: list[str] = []
        with pytest.raises(KeyboardInterrupt):
            Runner(counting_reviewer(calls, stop_at=3), SwarmConfig(), settings, ResultStore(store)).run(
                tasks
            )
        assert len(calls) == 3
        again: list[str] = []
        items = Runner(counting_reviewer(again), SwarmConfig(), settings, ResultStore(store)).run(tasks)
        assert again == [t.head for t in tasks[2:]]  # the two finished before the interruption are reused
        assert [bool(i.get("resumed")) for i in items] == [True, True, False, False]
        assert [i["sha"] for i in items] == [t.key for t in tasks] and {i["status"] for i in items} == {
            "done"
        }
        fresh: list[str] = []
        Runner(counting_reviewer(fresh), SwarmConfig(), settings, ResultStore(store, fresh=True)).run(tasks)
        assert len(fresh) == 4
        other = EvalSettings(query=settings.query, regressions=False, window=5)  # another config hash
        assert (
            Runner(counting_reviewer([]), SwarmConfig(), other, ResultStore(store))
            .run(tasks[:1])[0]
            .get("resumed")
            is None
        )
    finally:
        store.close()


def test_a_failed_task_is_reported_and_not_stored(
    history: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, shas = history
    settings = EvalSettings(query=HistoryQuery(commits=(shas["fix"],)), regressions=False)
    tasks = plan(root, settings)
    broken = [t.__class__(t.kind, t.repo, t.root, "0" * 40, t.head, t.key) for t in tasks]
    store = SqlRunStore.create(sqlite_url(tmp_path / "store"))
    try:
        items = Runner(counting_reviewer([]), SwarmConfig(), settings, ResultStore(store)).run(broken)
        assert [(i["status"], "unknown ref" in i["error"]) for i in items] == [("failed", True)]
        assert store.list_runs() == []
    finally:
        store.close()


def test_the_budget_skips_model_work_once_spent(history: tuple[Path, dict[str, str]]) -> None:
    root, _ = history
    settings = EvalSettings(
        query=HistoryQuery(last=3, min_lines=1), regressions=False, model="openai/x", max_cost_usd=0.01
    )
    runner = Runner(counting_reviewer([]), SwarmConfig(), settings, ResultStore(None))
    runner.spent_usd = 0.01
    items = runner.run(plan(root, settings))
    assert [(i["status"], i["error"]) for i in items] == [
        ("skipped", "the model budget is spent ($0.01 of $0.01)")
    ] * 3
    report = build_report("proj", settings, [], items, seconds=0.0)
    assert (report["merged"]["summary"]["skipped"], report["merged"]["summary"]["changes"]) == (3, 0)


def test_each_review_is_capped_at_what_is_left_of_the_budget(history: tuple[Path, dict[str, str]]) -> None:
    root, _ = history
    engine = build_engine(ProviderKeys())
    caps: list[float] = []

    async def spends(config: SwarmConfig, change: ChangeSet, *, models: bool = True) -> Review:
        caps.append(config.llm.limits.max_cost_usd)
        review = await engine.review(config, change, models=False)
        return replace(review, usage=Usage(calls=1, input_tokens=10, cost_usd=0.6))

    settings = EvalSettings(query=HistoryQuery(last=3), regressions=False, model="openai/x", max_cost_usd=1.0)
    items = Runner(spends, SwarmConfig(), settings, ResultStore(None)).run(plan(root, settings))
    assert caps == [1.0, pytest.approx(0.4)]
    assert [(i["status"], i["cost_usd"]) for i in items] == [("done", 0.6), ("done", 0.6), ("skipped", 0.0)]
    report = build_report("proj", settings, [], items, seconds=1.0)
    assert report["totals"] == {"seconds": 1.0, "tokens": 20, "cost_usd": 1.2, "model_calls": 2, "resumed": 0}


def test_a_regression_result_names_who_hit_the_fix(history: tuple[Path, dict[str, str]]) -> None:
    root, shas = history
    settings = EvalSettings(query=HistoryQuery(commits=(shas["fix"],)), merged=False)
    items = Runner(counting_reviewer([]), SwarmConfig(), settings, ResultStore(None)).run(
        plan(root, settings)
    )
    assert [(i["kind"], i["sha"], i["why_fix"], i["fix_lines"]) for i in items] == [
        ("regression", shas["fix"], "message", [{"path": "lib.py", "lines": [10]}])
    ]
    guard = [f for f in items[0]["findings"] if f["rule"] == "regression/undoes-fix"]
    assert [(f["line"], f["side"], f["hit"]) for f in guard] == [(10, "LEFT", True)]
    assert items[0]["hit"] and {"correctness", "regression"} <= set(items[0]["hit_by"])
    assert "10> " in guard[0]["code"]


def test_parallel_jobs_give_the_results_in_task_order(history: tuple[Path, dict[str, str]]) -> None:
    root, _ = history
    serial = EvalSettings(query=HistoryQuery(last=5))
    parallel = EvalSettings(query=HistoryQuery(last=5), jobs=3)
    tasks = plan(root, serial)
    one = Runner(counting_reviewer([]), SwarmConfig(), serial, ResultStore(None)).run(tasks)
    seen: list[str] = []
    three = Runner(counting_reviewer([]), SwarmConfig(), parallel, ResultStore(None)).run(
        tasks, lambda task, _item: seen.append(task.key)
    )
    assert sorted(seen) == sorted(t.key for t in tasks)

    def strip(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in i.items() if k != "seconds"} for i in items]

    assert strip(three) == strip(one)
