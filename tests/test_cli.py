"""The `swarm` command as a user runs it: README commands, formats, exit codes, and bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def swarm(*args: str, cwd: Path = ROOT, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "swarm_cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=False,
    )
    return subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert needle in result.stderr
    assert result.stderr.startswith("swarm: ")


def _blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_opens_with_install_and_test_commands():
    first = _blocks(README)[0].strip().splitlines()
    assert first == ['pip install -e ".[dev]"', "python -m pytest"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install -e ".[dev]"' in ci and "python -m pytest" in ci


def test_readme_first_example_runs_a_real_review():
    command = _blocks(README)[1].strip()
    assert command.startswith("swarm pr-review")
    result = swarm(*command.split()[1:])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "BLOCK" in out and "CRITICAL (2)" in out
    for rule in (
        "secrets/aws-access-key",
        "bandit/B602",
        "syntax/parse-error",
        "placeholder/not-implemented",
    ):
        assert rule in out
    assert "AKIAQWERTYUIOPASDFGH" not in out + result.stderr


def test_json_to_file_and_fail_on(tmp_path):
    out = tmp_path / "r.json"
    result = swarm(
        "pr-review",
        "--patch",
        "examples/leaky-deploy.patch",
        "--format",
        "json",
        "-o",
        str(out),
        "--fail-on",
        "HIGH",
    )
    assert result.returncode == 1 and result.stdout == ""
    data = json.loads(out.read_text())
    assert data["verdict"] == "BLOCK" and data["run_id"]
    assert (
        swarm(
            "pr-review", "--patch", "examples/leaky-deploy.patch", "--fail-on", "never", "--format", "json"
        ).returncode
        == 0
    )


def test_stdin_diff_and_runs_commands():
    patch = (ROOT / "examples" / "leaky-deploy.patch").read_bytes()
    result = swarm("pr-review", "-", "--format", "sarif", stdin=patch)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["version"] == "2.1.0"
    listed = json.loads(swarm("runs", "list", "--format", "json").stdout)
    assert listed[0]["source"] == "stdin" and listed[0]["verdict"] == "BLOCK"
    shown = swarm("runs", "show", listed[0]["id"][:8], "--format", "markdown")
    assert shown.returncode == 0 and "swarm review: ⛔ BLOCK" in shown.stdout
    assert "app/deploy.py:15" in swarm("runs", "show", listed[0]["id"]).stdout
    assert_one_line_error(swarm("runs", "show", "nope"), "no run 'nope'")


def test_git_review_of_a_branch(make_repo):
    repo = make_repo()
    repo.commit({"app.py": "def f():\n    return 1\n"})
    repo.branch("feature")
    repo.commit({"app.py": "import os\n\n\ndef f(cmd):\n    return os.system(cmd)\n"})
    result = swarm("pr-review", "--repo", str(repo.path), "--format", "json", "--no-store")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["run_id"] is None
    assert {f["rule"] for f in data["findings"]} >= {"bandit/B605"}


def test_not_a_git_repository(tmp_path):
    assert_one_line_error(swarm("pr-review", "--repo", str(tmp_path)), "not a git repository")


def test_unknown_ref(make_repo):
    repo = make_repo()
    repo.commit({"a": "1\n"})
    assert_one_line_error(swarm("pr-review", "--repo", str(repo.path), "--base", "v9"), "unknown ref 'v9'")


def test_corrupt_and_binary_diffs(tmp_path):
    bad = tmp_path / "bad.patch"
    bad.write_text("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,5 +1,5 @@\n a\n")
    assert_one_line_error(swarm("pr-review", "--patch", str(bad)), "corrupt diff")
    assert_one_line_error(swarm("pr-review", "-", stdin=bytes(range(256)) * 64), "not a unified diff")
    assert_one_line_error(swarm("pr-review", "--patch", str(tmp_path / "missing.patch")), "cannot read")


def test_a_50_mb_diff_gets_an_actionable_error():
    line = "+" + "x" * 99 + "\n"
    body = (
        "diff --git a/big.txt b/big.txt\n--- /dev/null\n+++ b/big.txt\n@@ -0,0 +1,500000 @@\n"
        + line * 500_000
    )
    result = swarm("pr-review", "-", stdin=body.encode())
    assert_one_line_error(result, "over the 17 MB limit")
    assert "limits.max_diff_bytes" in result.stderr


def test_binary_files_and_non_utf8_sources_are_handled(make_repo):
    repo = make_repo()
    repo.commit({"a.txt": "x\n"})
    repo.branch("feature")
    repo.commit(
        {"logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\xff", "latin.py": "s = 'caf\xe9'\n".encode("latin-1")}
    )
    result = swarm("pr-review", "--repo", str(repo.path), "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"path": "logo.png", "reason": "binary file"} in data["skipped_files"]


def test_invalid_config_is_a_usage_error(make_repo):
    repo = make_repo()
    repo.commit({".github/swarm.yml": "lanes:\n  securty: false\n", "a": "1\n"})
    result = swarm("pr-review", "--repo", str(repo.path), "--base", "HEAD")
    assert_one_line_error(result, ".github/swarm.yml:2: lanes.securty: unknown key")
    check = swarm("config", "check", "--repo", str(repo.path))
    assert_one_line_error(check, "config error:")
    repo.commit({".github/swarm.yml": "fail_on: high\n"})
    assert swarm("config", "check", "--repo", str(repo.path)).stdout.startswith("ok: ")


def test_usage_errors():
    assert swarm("pr-review", "extra").returncode == 2
    assert swarm("pr-review", "--format", "html").returncode == 2
    assert swarm("pr-review", "-", "--patch", "x").returncode == 2
    assert swarm("--version").stdout.startswith("swarm, version ")
    assert "pr-review" in swarm("--help").stdout


@pytest.mark.parametrize("fmt", ["terminal", "markdown", "json", "sarif"])
def test_every_format_writes_to_a_file(tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    result = swarm(
        "pr-review", "--patch", "examples/leaky-deploy.patch", "--format", fmt, "--output", str(out)
    )
    assert result.returncode == 0 and out.read_text().strip()
