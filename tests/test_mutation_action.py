"""The mutation gate in `swarm action`: two opt-ins, fail_action on the check run, refused on pull_request_target."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub, Pull
from tests.test_action import TOKEN, action, opened
from tests.test_app import REPO, diff_of
from tests.test_mutation_runner import BASE, CHECK, HEAD

BASE_FILES = {"pkg/__init__.py": "", "pkg/calc.py": BASE, "check.py": CHECK}
HEAD_FILES = {**BASE_FILES, "pkg/calc.py": HEAD}


def _config(fail_action: str = "FAIL", enabled: bool = True) -> str:
    return (
        "fail_on: never\n"
        "mutation:\n"
        f"  enabled: {str(enabled).lower()}\n"
        f"  fail_action: {fail_action}\n"
        f"  test_command: {sys.executable} check.py\n"
        "  mutant_timeout_seconds: 3\n"
    )


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repo(REPO, files={".github/swarm.yml": _config()})
        fake.static_tokens.add(TOKEN)
        head_sha = opened()["pull_request"]["head"]["sha"]
        fake.add_pull(
            REPO,
            Pull(
                number=2,
                title="Clamp and count",
                body="Adds clamp() and count_to().",
                diff=diff_of(tmp_path / "r", BASE_FILES, HEAD_FILES),
                base_files=BASE_FILES,
                head_files=HEAD_FILES,
                head_sha=head_sha,
                base_sha="b" * 40,
            ),
        )
        yield fake
    assert fake.violations == []


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pull request's head checked out, as actions/checkout leaves it; the tests log their environment."""
    root = tmp_path / "workspace"
    for name, text in HEAD_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.setenv("ENV_DUMP", str(tmp_path / "env.jsonl"))
    monkeypatch.setenv("DEPLOY_SECRET", "s3cret")
    return root


def _runs(tmp_path: Path) -> list[dict[str, dict[str, str]]]:
    dump = tmp_path / "env.jsonl"
    return [json.loads(line) for line in dump.read_text().splitlines()] if dump.exists() else []


def _gate_rows(summary: str) -> list[str]:
    """The summary table's rows of the gate's findings."""
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "| tests |" in line]
    return [r for r in rows if "Tests still pass when" in r or "run in no test" in r]


def test_fail_action_fail_fails_the_check_on_survivors(
    github: FakeGitHub, tmp_path: Path, workspace: Path
) -> None:
    result, summary, outputs = action(
        tmp_path, github, "pull_request", opened(), workspace=workspace, mutation="true"
    )
    assert result.returncode == 1, result.stderr  # fail_on never: the gate's FAIL alone
    assert github.check_runs[0]["conclusion"] == "failure"
    assert "### 🧬 Mutation gate" in summary
    assert "Mutation score of the change: 70% (7 of 10 mutants killed, 3 survived)" in summary
    assert f"Executed: `{sys.executable} check.py` once under `coverage run`" in summary
    assert "- `pkg/calc.py:2` `<` becomes `<=`" in summary and "- `pkg/calc.py`: 21" in summary
    inline = {
        (c["path"], c["line"]): c["body"] for c in github.review_comments if "tests/mutation-" in c["body"]
    }
    assert set(inline) == {("pkg/calc.py", 2), ("pkg/calc.py", 4), ("pkg/calc.py", 10), ("pkg/calc.py", 21)}
    assert 'Tests still pass when "&lt;" becomes "&lt;=" here' in inline[("pkg/calc.py", 2)]
    assert "Add a test at the boundary" in inline[("pkg/calc.py", 2)]
    # Three lines with survivors, one file with an unexecuted line, beside the analyzers' findings.
    assert len(_gate_rows(summary)) == 4 and int(outputs["findings"]) > 4
    runs = _runs(tmp_path)
    assert len(runs) == 11
    for run in runs:
        assert {"GITHUB_TOKEN", "DEPLOY_SECRET", "SWARM_INPUT_MUTATION"}.isdisjoint(run["env"])
        assert TOKEN not in run["env"].values()


def test_fail_action_warn_reports_without_failing(
    github: FakeGitHub, tmp_path: Path, workspace: Path
) -> None:
    github.repos[REPO]["files"]["main"][".github/swarm.yml"] = _config("WARN")
    result, summary, _ = action(
        tmp_path, github, "pull_request", opened(), workspace=workspace, mutation="true"
    )
    assert result.returncode == 0, result.stderr
    assert github.check_runs[0]["conclusion"] == "success"
    assert len(_gate_rows(summary)) == 4 and "Mutation score of the change: 70%" in summary


def test_pull_request_target_is_refused_and_runs_nothing(
    github: FakeGitHub, tmp_path: Path, workspace: Path
) -> None:
    result, summary, _ = action(
        tmp_path, github, "pull_request_target", opened(), workspace=workspace, mutation="true"
    )
    assert result.returncode == 0, result.stderr
    assert "**refused**: the mutation gate does not run on `pull_request_target`" in summary
    assert _runs(tmp_path) == [] and github.check_runs[0]["conclusion"] == "success"


def test_both_opt_ins_are_needed(github: FakeGitHub, tmp_path: Path, workspace: Path) -> None:
    result, summary, _ = action(tmp_path, github, "pull_request", opened(), workspace=workspace)
    assert result.returncode == 0 and _runs(tmp_path) == []
    assert "the workflow does not set the `mutation: true` input" in summary
    github.repos[REPO]["files"]["main"][".github/swarm.yml"] = _config(enabled=False)
    result, summary, _ = action(
        tmp_path, github, "pull_request", opened(), workspace=workspace, mutation="true"
    )
    assert result.returncode == 0 and _runs(tmp_path) == []
    assert "the config's mutation.enabled is false" in summary
    bad, _, _ = action(tmp_path, github, "pull_request", opened(), workspace=workspace, mutation="yes")
    assert bad.returncode == 2 and "input mutation: 'yes' is not true or false" in bad.stderr
