"""`swarm eval` as a user runs it: the report contract, a dry run, a local model, a judge, bad input."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fakes.llm import FakeLLM, Reply, lane_reply
from tests.test_evaluation import make_history

# Every field name of the report contract (the `swarm eval` issue's eval_schema.md).
TOP = {"schema", "repo", "generated_at", "swarm_version", "model", "lanes", "settings", "merged"}
TOP |= {"regressions", "dataset", "per_lane", "totals"}
SETTINGS = {"last", "since", "later_days", "window"}
CHANGE = {
    "sha",
    "subject",
    "date",
    "lines",
    "verdict",
    "seconds",
    "tokens",
    "cost_usd",
    "status",
    "error",
    "findings",
}
FINDING = {
    "id",
    "path",
    "line",
    "severity",
    "lane",
    "rule",
    "title",
    "body",
    "code",
    "later_changed",
    "verdict",
}
MERGED_SUMMARY = {"changes", "lines", "findings", "per_1000_lines", "blocked", "blocked_share"}
MERGED_SUMMARY |= {"later_changed", "later_changed_share"}
FIX = {"sha", "subject", "date", "why_fix", "fix_lines", "hit", "hit_by", "seconds", "tokens", "cost_usd"}
FIX |= {"status", "error", "findings"}
FIX_SUMMARY = {"fixes", "hit", "recall"}
DATASET = {"name", "cases", "summary"}
CASE = {"id", "repo", "base", "head", "golden", "findings"}
GOLDEN = {"path", "line", "severity", "body", "matched"}
DATASET_SUMMARY = {"golden", "matched", "findings", "precision", "recall", "f1"}
PER_LANE = {
    "lane",
    "findings",
    "later_changed",
    "precision_proxy",
    "regression_hits",
    "recall",
    "tokens",
    "cost_usd",
}
TOTALS = {"seconds", "tokens", "cost_usd", "model_calls"}
VERDICTS = {"APPROVE", "APPROVE_WITH_NOTES", "REQUEST_CHANGES", "BLOCK"}
SEVERITIES = {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"}


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    return make_history(tmp_path)


def swarm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swarm_cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def dataset_file(tmp_path: Path, shas: dict[str, str]) -> Path:
    case = {
        "id": "f2-none",
        "repo": "someone/proj",
        "base": shas["fix"],
        "head": shas["feature"],
        "golden": [{"path": "lib.py", "line": 10, "severity": "high", "body": "f2 crashes on None again"}],
    }
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(case) + "\n", encoding="utf-8")
    return path


def check_finding(f: dict[str, Any]) -> None:
    assert set(f) >= FINDING
    assert f["severity"] in SEVERITIES and f["verdict"] in {"confirmed", "unverified", "rejected"}


def test_json_report_keeps_the_contract(history: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, shas = history
    data = dataset_file(tmp_path, shas)
    result = swarm("eval", "--repo", str(root), "--last", "5", "--dataset", str(data), "--format", "json")
    assert (result.returncode, result.stderr) == (0, "")  # no progress bar when stderr is not a terminal
    report = json.loads(result.stdout)
    assert set(report) >= TOP and set(report["settings"]) >= SETTINGS and set(report["totals"]) >= TOTALS
    assert (report["schema"], report["repo"], report["model"]) == ("swarm-eval/1", "proj", None)
    assert report["generated_at"].endswith("Z") and report["lanes"][0] == "correctness"
    merged = report["merged"]
    assert set(merged["summary"]) >= MERGED_SUMMARY and merged["summary"]["changes"] == 5
    for change in merged["changes"]:
        assert set(change) >= CHANGE and change["verdict"] in VERDICTS and change["status"] == "done"
        for f in change["findings"]:
            check_finding(f)
    regressions = report["regressions"]
    assert set(regressions["summary"]) >= FIX_SUMMARY
    assert [(f["sha"], f["why_fix"]) for f in regressions["fixes"]] == [
        (shas["tested"], "test"),
        (shas["issue"], "issue"),
        (shas["fix"], "message"),
    ]
    for fix in regressions["fixes"]:
        assert set(fix) >= FIX
        for f in fix["findings"]:
            check_finding(f)
            assert isinstance(f["hit"], bool)
    dataset = report["dataset"]
    assert set(dataset) >= DATASET and set(dataset["summary"]) >= DATASET_SUMMARY
    (case,) = dataset["cases"]
    assert set(case) >= CASE and set(case["golden"][0]) >= GOLDEN
    assert case["golden"][0]["matched"] is True  # the guard's finding sits on line 10, the golden line
    assert all(isinstance(f["matched"], bool) for f in case["findings"])
    assert report["per_lane"] and all(set(row) >= PER_LANE for row in report["per_lane"])
    assert {row["lane"] for row in report["per_lane"]} == set(report["lanes"])
    assert report["totals"]["model_calls"] == 0


def test_dry_run_estimates_and_calls_no_model(history: tuple[Path, dict[str, str]]) -> None:
    root, _ = history
    with FakeLLM(key=None) as llm:
        env = {"LLAMACPP_BASE_URL": llm.url}
        result = swarm(
            "eval", "--repo", str(root), "--last", "2", "--model", "llamacpp/smollm2", "--dry-run", env=env
        )
        paid = swarm(
            "eval", "--repo", str(root), "--last", "2", "--model", "openai/gpt-4.1-mini", "--dry-run"
        )
        assert llm.requests == []
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        lines[0]
        == "swarm eval plan for proj: 2 merged changes, 2 bug fixes reviewed reversed, 0 dataset cases"
    )
    assert lines[1] == "already stored (skipped on resume): 0"
    assert lines[-1].startswith("model llamacpp/smollm2: ~48 calls, ") and lines[-1].endswith(": ~$0.0000")
    assert paid.returncode == 0 and paid.stdout.splitlines()[-1].endswith(tuple("0123456789"))
    assert "~$0.0" in paid.stdout.splitlines()[-1]


def test_a_local_model_reviews_and_a_rerun_resumes(
    history: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, shas = history
    data = dataset_file(tmp_path, shas)
    bug = {"path": "lib.py", "line": 10, "severity": "high", "category": "bug", "title": "f2 fails on None"}
    bug |= {"claim": "x + 2 raises TypeError for None", "evidence": "return x + 2", "confidence": 0.9}
    with FakeLLM(key=None) as llm:
        llm.default("lane", "correctness", lane_reply(bug))
        llm.default("other", "", Reply({"verdicts": [{"golden": 0, "finding": 0, "reason": "same bug"}]}))
        env = {"LLAMACPP_BASE_URL": llm.url}
        args = ["eval", "--repo", str(root), "--dataset", str(data), "--no-history", "--lanes", "correctness"]
        args += ["--model", "llamacpp/smollm2", "--judge", "llamacpp/smollm2", "--format", "json"]
        first = swarm(*args, env=env)
        assert first.returncode == 0, first.stderr
        asked = len(llm.requests)
        second = swarm(*args, env=env)
        assert second.returncode == 0, second.stderr
        assert len(llm.requests) == asked  # everything came from the run store
        plan = swarm(*args, "--dry-run", env=env)
        assert len(llm.requests) == asked
    report = json.loads(first.stdout)
    assert (report["model"], report["lanes"]) == ("llamacpp/smollm2", ["correctness"])
    (case,) = report["dataset"]["cases"]
    model_findings = [f for f in case["findings"] if f["source"].startswith("model:")]
    assert [(f["line"], f["title"], f["verdict"]) for f in model_findings] == [
        (10, "f2 fails on None", "confirmed")
    ]
    assert case["judge"]["model"] == "llamacpp/smollm2" and case["judge"]["error"] is None
    assert case["golden"][0]["matched"] is True
    assert report["totals"]["model_calls"] == asked and asked >= 2
    assert report["dataset"]["summary"]["recall"] == 1.0
    assert json.loads(second.stdout)["totals"]["resumed"] == 1
    assert plan.stdout.splitlines()[1:3] == ["already stored (skipped on resume): 1", "  case       f2-none"]
    assert plan.stdout.splitlines()[-1].startswith("model llamacpp/smollm2: ~0 calls, ")
    runs = swarm("runs", "list", "--format", "json")
    assert [r["kind"] for r in json.loads(runs.stdout)] == ["eval"]


def test_a_failed_judge_leaves_the_location_matches(
    history: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, shas = history
    data = dataset_file(tmp_path, shas)
    with FakeLLM(key=None) as llm:
        llm.default("other", "", Reply(text="I cannot answer in JSON"))
        llm.default("repair", "", Reply(text="still not JSON"))
        args = ["eval", "--repo", str(root), "--dataset", str(data), "--no-history", "--lanes", "correctness"]
        result = swarm(
            *args, "--judge", "llamacpp/smollm2", "--format", "json", env={"LLAMACPP_BASE_URL": llm.url}
        )
        assert len(llm.calls("other")) == 1 and len(llm.calls("repair")) == 1
    assert result.returncode == 0, result.stderr
    (case,) = json.loads(result.stdout)["dataset"]["cases"]
    assert case["judge"]["verdicts"] == [] and "llamacpp/smollm2" in case["judge"]["error"]
    assert case["golden"][0]["matched"] is True  # by location: the guard's finding on line 10


def commits(tmp_path: Path, *shas: str) -> Path:
    path = tmp_path / "commits.txt"
    path.write_text("# reviewed by hand\n" + "\n".join(shas) + "\n", encoding="utf-8")
    return path


def test_fix_signals_can_be_chosen(history: tuple[Path, dict[str, str]]) -> None:
    root, shas = history
    result = swarm("eval", "--repo", str(root), "--last", "5", "--fix-by", "issue,test", "--dry-run")
    assert result.returncode == 0, result.stderr
    fixes = [line.split()[1:3] for line in result.stdout.splitlines() if line.startswith("  regression")]
    assert fixes == [[shas["tested"][:12], "test"], [shas["issue"][:12], "issue"]]


def test_listed_commits_in_markdown(history: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, shas = history
    out = tmp_path / "eval.md"
    result = swarm(
        "eval",
        "--repo",
        str(root),
        "--commits",
        str(commits(tmp_path, shas["fix"])),
        "--format",
        "markdown",
        "-o",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith(
        "### swarm eval of proj (model: none, deterministic lanes)\n\n| measure | value |\n|---|---|\n"
    )
    assert "| merged changes reviewed | 1 (2 changed lines) |" in text
    assert "| fixes flagged at their lines (±3) | 1 = 100 % |" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--last", "3", "--since", "2024-01-01"], "give one of --last, --since and --commits"),
        (["--no-history"], "--no-history needs --dataset"),
        (["--lanes", "correctness,speed"], "unknown lane(s) speed"),
        (["--model", "nonsense"], "provider/model"),
        (["--fix-pattern", "(x"], "is not a regular expression"),
        (["--fix-by", "message,vibes"], "--fix-by takes message, issue and test, not vibes"),
        (["--fix-by", ","], "not nothing"),
        (["--commits", "/nonexistent/commits.txt"], "cannot read --commits file"),
        (["--dataset", "/nonexistent/d.jsonl"], "cannot read dataset"),
    ],
)
def test_bad_input_is_a_usage_error(
    history: tuple[Path, dict[str, str]], args: list[str], message: str
) -> None:
    root, _ = history
    result = swarm("eval", "--repo", str(root), *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_folder_without_git_history_is_an_error(tmp_path: Path) -> None:
    result = swarm("eval", "--repo", str(tmp_path), "--last", "2")
    assert result.returncode == 2
    assert (
        result.stderr
        == f"swarm: config error: {tmp_path} is not a git repository; swarm eval replays a clone's history\n"
    )


def test_a_case_without_a_clone_is_a_config_error(
    history: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, _ = history
    data = tmp_path / "d.jsonl"
    data.write_text(
        json.dumps({"id": "x", "repo": "o/elsewhere", "base": "a", "head": "b"}) + "\n", encoding="utf-8"
    )
    result = swarm("eval", "--repo", str(root), "--dataset", str(data), "--no-history")
    assert (result.returncode, result.stderr.strip()) == (
        2,
        f"swarm: config error: dataset case x: no clone of o/elsewhere; clone it to {root.parent / 'elsewhere'} or pass --repo",
    )


def test_html_is_written_by_the_html_report_when_it_is_there(history: tuple[Path, dict[str, str]]) -> None:
    root, _ = history
    result = swarm("eval", "--repo", str(root), "--last", "1", "--format", "html")
    if importlib.util.find_spec("swarm_core.evaluation.html") is None:
        assert result.returncode == 2
        assert "--format html needs the HTML report" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert "<html" in result.stdout.lower()
