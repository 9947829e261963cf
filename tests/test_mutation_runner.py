"""The mutation gate run for real on a tiny project written here: kills, survivors, timeouts, uncovered lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from swarm_core import MutationError, from_git
from swarm_core.config import MutationConfig
from tests.conftest import Repo

BASE = "def triple(a):\n    return a * 3\n"
HEAD = (
    "def clamp(x, lo, hi):\n"  # 1
    "    if x < lo:\n"  # 2: `<=` survives (no test at x == lo)
    "        return lo\n"  # 3: killed
    "    if x > hi:\n"  # 4: `>=` survives
    "        return hi\n"  # 5: killed
    "    return x\n"  # 6: killed
    "\n\n"
    "def count_to(n):\n"  # 9
    "    i = 0\n"  # 10: 0 -> 1 survives (count_to(3) is still 3)
    "    while i < n:\n"  # 11: `<=` killed
    "        i += 1\n"  # 12: `-=` and `+= 0` loop forever: timeouts
    "    return i\n"  # 13: killed
    "\n\n"
    "def triple(a):\n"
    "    return a * 3\n"
    "\n\n"
    "def double(a):\n"  # 20: new, never called
    "    return a + a\n"  # 21: uncovered
)
CHECK = """\
import json, os, sys
from pkg.calc import clamp, count_to

dump = os.environ.get("ENV_DUMP")
if dump:
    import pkg.calc
    with open(dump, "a") as fh:
        fh.write(json.dumps({"env": dict(os.environ), "module": pkg.calc.__file__}) + "\\n")
assert clamp(-1, 0, 10) == 0
assert clamp(20, 0, 10) == 10
assert clamp(5, 0, 10) == 5
assert count_to(3) == 3
"""


def _project(tmp_path: Path, check: str = CHECK) -> Path:
    (tmp_path / "proj").mkdir()
    repo = Repo(tmp_path / "proj")
    repo.commit({"pkg/__init__.py": "", "pkg/calc.py": BASE, "check.py": check})
    repo.commit({"pkg/calc.py": HEAD})
    return repo.path


def _config(**extra: object) -> MutationConfig:
    return MutationConfig.model_validate(
        {"enabled": True, "test_command": f"{sys.executable} check.py", "mutant_timeout_seconds": 3, **extra}
    )


def _environ(dump: Path | None = None) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "SYSTEMROOT"}}
    return {**env, "ENV_DUMP": str(dump)} if dump else env


def test_the_gate_kills_survives_times_out_and_reports_uncovered_lines(tmp_path: Path) -> None:
    from swarm_core.mutation import run_gate

    root = _project(tmp_path)
    dump = tmp_path / "env.jsonl"
    environ = {
        **_environ(dump),
        "GITHUB_TOKEN": "ghs_secret",
        "ACTIONS_RUNTIME_TOKEN": "runtime",
        "OPENAI_API_KEY": "sk-x",
        "HARMLESS": "marker-value",
    }
    change = from_git(root, "HEAD~1", "HEAD")
    result = run_gate(
        change, _config(), root, event="pull_request", environ=environ, secrets=["marker-value"], workers=2
    )
    assert result.status == "ran", result.reason
    outcomes = [(o.mutant.line, o.mutant.original, o.mutant.replacement, o.status) for o in result.outcomes]
    assert outcomes == [
        (2, "<", "<=", "survived"),
        (3, "lo", "None", "killed"),
        (4, ">", ">=", "survived"),
        (5, "hi", "None", "killed"),
        (6, "x", "None", "killed"),
        (10, "0", "1", "survived"),
        (11, "<", "<=", "killed"),
        (12, "+=", "-=", "timeout"),
        (12, "1", "0", "timeout"),
        (13, "i", "None", "killed"),
    ]
    assert result.plan is not None and result.plan.uncovered == {"pkg/calc.py": (21,)}
    assert result.plan.generated == 12 and result.count("timeout") == 2 and result.workers == 2
    assert result.score == pytest.approx(0.7)
    assert result.mutant_timeout == 3
    # The tests ran in copies, importing the copy's module, without a credential in sight.
    runs = [json.loads(line) for line in dump.read_text().splitlines()]
    assert len(runs) == 11  # the coverage run and every mutant but the two killed by the clock
    for run in runs:
        assert not Path(run["module"]).is_relative_to(root)
        assert Path(run["module"]).parent.parent == Path(run["env"]["PYTHONPATH"].split(":")[0])
        assert {"GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "OPENAI_API_KEY", "HARMLESS"}.isdisjoint(run["env"])
        assert run["env"]["PYTHONDONTWRITEBYTECODE"] == "1"
    # The checkout is as it was.
    assert (root / "pkg/calc.py").read_text() == HEAD
    assert not (root / "pkg/__pycache__").exists() and not (root / ".coverage").exists()


def test_the_cap_limits_what_runs(tmp_path: Path) -> None:
    from swarm_core.mutation import run_gate

    root = _project(tmp_path)
    change = from_git(root, "HEAD~1", "HEAD")
    result = run_gate(change, _config(max_mutants=3), root, event="local", environ=_environ(), workers=1)
    assert [o.mutant.line for o in result.outcomes] == [2, 5, 11]  # spread over the change's 8 lines
    assert result.plan is not None and result.plan.capped == 7


def test_a_failing_suite_is_broken_not_a_score(tmp_path: Path) -> None:
    from swarm_core.mutation import gate_markdown, run_gate

    root = _project(tmp_path, CHECK + "assert clamp(0, 1, 2) == 99\n")
    change = from_git(root, "HEAD~1", "HEAD")
    result = run_gate(change, _config(), root, event="local", environ=_environ(), workers=1)
    assert result.status == "broken" and result.outcomes == ()
    assert result.reason.startswith("the tests fail without any mutation (exited 1)")
    assert "AssertionError" in result.reason
    assert "**broken**: the tests fail without any mutation" in gate_markdown(result)


def test_pull_request_target_runs_nothing(tmp_path: Path) -> None:
    from swarm_core.mutation import run_gate

    calls: list[list[str]] = []

    def runner(argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float) -> tuple[str, int, str]:
        calls.append(argv)
        return "ok", 0, ""

    root = _project(tmp_path)
    change = from_git(root, "HEAD~1", "HEAD")
    result = run_gate(change, _config(), root, event="pull_request_target", environ=_environ(), runner=runner)
    assert (result.status, calls) == ("refused", [])
    assert "pull_request_target" in result.reason


def test_nothing_to_mutate_and_a_checkout_that_is_not_the_head(tmp_path: Path) -> None:
    from swarm_core.mutation import run_gate

    root = _project(tmp_path)
    change = from_git(root, "HEAD~1", "HEAD")
    only_tests = _config(paths={"include": ["tests/**"]})
    result = run_gate(change, only_tests, root, event="local", environ=_environ())
    assert (result.status, result.reason) == ("skipped", "no changed lines of Python source to mutate")
    (root / "pkg/calc.py").write_text(HEAD + "# edited after the commit\n")
    result = run_gate(change, _config(), root, event="local", environ=_environ())
    assert result.status == "skipped"
    assert result.notes == (
        "pkg/calc.py was not mutated: the checkout's copy is not the change's head "
        "(check out the pull request's head commit)",
    )


def test_a_command_that_does_not_run_python_is_an_error(tmp_path: Path) -> None:
    from swarm_core.mutation import run_gate

    root = _project(tmp_path)
    change = from_git(root, "HEAD~1", "HEAD")
    with pytest.raises(MutationError, match="is not a Python script on PATH"):
        run_gate(
            change, _config(test_command="make test"), root, event="local", environ={"PATH": "/nonexistent"}
        )


def test_the_gate_stops_at_its_time_limit(tmp_path: Path) -> None:
    import time

    from swarm_core.mutation import run_gate, run_process

    def slow(argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float) -> tuple[str, int, str]:
        if "coverage" not in argv:
            time.sleep(4)  # each mutant: a quarter of the gate's time
        return run_process(argv, cwd, env, timeout)

    root = _project(tmp_path)
    change = from_git(root, "HEAD~1", "HEAD")
    config = _config(timeout_minutes=0.25)  # 15 s: the coverage run, then a few mutants
    result = run_gate(change, config, root, event="local", environ=_environ(), workers=1, runner=slow)
    assert result.status == "ran", result.reason
    assert 0 < len(result.outcomes) < 10 and result.not_run == 10 - len(result.outcomes)
    assert result.notes == (f"{result.not_run} mutant(s) were not run: the gate reached timeout_minutes",)


def test_swarm_mutation_runs_the_gate_on_a_local_range(tmp_path: Path) -> None:
    import subprocess

    from tests.conftest import ROOT

    root = _project(tmp_path)
    config = tmp_path / "swarm.yml"
    config.write_text("mutation:\n  mutant_timeout_seconds: 3\n  max_mutants: 4\n")
    argv = [sys.executable, "-m", "swarm_cli", "mutation", "--repo", str(root), "--base", "HEAD~1"]
    argv += ["--config", str(config), "--test-command", f"{sys.executable} check.py"]
    env = {**_environ(), "PYTHONPATH": str(ROOT)}
    warn = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    assert warn.returncode == 0, warn.stderr
    assert "Mutation score of the change: 50% (2 of 4 mutants killed, 2 survived)" in warn.stdout
    failed = subprocess.run([*argv, "--fail"], capture_output=True, text=True, check=False, env=env)
    assert failed.returncode == 1 and "- `pkg/calc.py:2` `<` becomes `<=`" in failed.stdout
    bad = subprocess.run([*argv[:-2], "--test-command", "make test"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "is not a Python script on PATH" in bad.stderr


def test_the_readme_mutation_config_is_valid() -> None:
    import re

    from swarm_core import parse_config
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, flags=re.S) if b.startswith("mutation:")]
    config = parse_config(block, "README.md").mutation
    assert config.enabled and config.max_mutants == 60 and config.paths.include == ("src/**",)


def test_a_python_that_is_not_there_or_a_module_never_imported(tmp_path: Path) -> None:
    from swarm_core.mutation import run_gate

    root = _project(tmp_path)
    change = from_git(root, "HEAD~1", "HEAD")
    missing = _config(test_command="python9.99 check.py")
    result = run_gate(change, missing, root, event="local", environ=_environ(), workers=1)
    assert (
        result.status == "broken"
        and "exited 127" in result.reason
        and "cannot start 'python9.99'" in result.reason
    )
    # Tests that never import the changed module: coverage has no data, every line is unexecuted.
    (root / "check.py").write_text("print('no tests here')\n")
    result = run_gate(change, _config(), root, event="local", environ=_environ(), workers=1)
    assert result.status == "ran" and result.outcomes == () and result.score is None
    assert result.plan is not None and result.plan.uncovered == {
        "pkg/calc.py": (2, 3, 4, 5, 6, 10, 11, 12, 13, 21)
    }


def test_a_coverage_report_that_cannot_be_written_breaks_the_gate(tmp_path: Path) -> None:
    from swarm_core.mutation import run_gate, run_process

    def no_report(argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float) -> tuple[str, int, str]:
        return (
            ("ok", 1, "Couldn't write the report") if "json" in argv else run_process(argv, cwd, env, timeout)
        )

    root = _project(tmp_path)
    change = from_git(root, "HEAD~1", "HEAD")
    result = run_gate(change, _config(), root, event="local", environ=_environ(), runner=no_report)
    assert (result.status, result.reason) == (
        "broken",
        "coverage could not write its report:\nCouldn't write the report",
    )
    (root / "pkg/calc.py").unlink()
    result = run_gate(change, _config(), root, event="local", environ=_environ())
    assert result.status == "skipped" and result.notes[0].startswith("pkg/calc.py was not mutated")
