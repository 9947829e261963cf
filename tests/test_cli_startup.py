"""`swarm --version` and the help pages stay light: no engine, no database, HTTP or parser libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import swarm_cli.options
from tests.conftest import ROOT

# The libraries issue 12 names, and the others only some commands need.
HEAVY = (
    "sqlalchemy",
    "github",
    "httpx",
    "tree_sitter",
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "yaml",
    "rich",
    "unidiff",
    "jwt",
    "cryptography",
    "redis",
    "psycopg",
    "platformdirs",
)
# The only engine modules the root command may load: the version (with the lazy namespace
# that defers the rest), the errors it maps to exit codes, and logging (--log-format), all
# standard library only.
LIGHT_CORE = {"swarm_core", "swarm_core._lazy", "swarm_core.errors", "swarm_core.logs"}

PROBE = """
import json, sys
from swarm_cli.main import main
try:
    main({args!r})
except SystemExit as exc:
    code = exc.code
print(json.dumps({{"code": code, "modules": sorted(sys.modules)}}))
"""


def _probe(*args: str) -> tuple[int, str, list[str]]:
    """Run the CLI in a fresh interpreter; its exit code, its output, and every module it loaded."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=list(args))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    output, _, last = result.stdout.rstrip("\n").rpartition("\n")
    report = json.loads(last)
    return report["code"], output, report["modules"]


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (["--version"], "swarm, version 0.1.0"),
        (["--help"], "Usage: swarm [OPTIONS] COMMAND [ARGS]..."),
        (["pr-review", "--help"], "Usage: swarm pr-review [OPTIONS] [-]"),
        (["runs", "show", "--help"], "Usage: swarm runs show [OPTIONS] RUN_ID"),
        (["learnings", "list", "--help"], "Usage: swarm learnings list [OPTIONS]"),
        (["eval", "--help"], "Usage: swarm eval [OPTIONS]"),
    ],
)
def test_root_command_imports_nothing_heavy(args: list[str], first_line: str) -> None:
    code, output, modules = _probe(*args)
    assert (code, output.splitlines()[0]) == (0, first_line)
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []
    core = {m for m in modules if m.split(".")[0] == "swarm_core"}
    assert core <= LIGHT_CORE


def test_version_as_users_run_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "swarm_cli", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "swarm, version 0.1.0\n", "")


def test_every_command_still_registered() -> None:
    _code, output, _modules = _probe("--help")
    listed = [line.split()[0] for line in output.split("Commands:\n", 1)[1].splitlines() if line.strip()]
    assert listed == [
        "action",
        "agents",
        "ask",
        "config",
        "council",
        "describe",
        "eval",
        "exec",
        "issue",
        "learnings",
        "mutation",
        "pr-review",
        "runs",
        "serve",
        "worker",
    ]


def test_option_choices_mirror_the_engine() -> None:
    from swarm_core.config import CONFIG_PATH
    from swarm_core.logs import LOG_FORMATS
    from swarm_core.models import Severity
    from swarm_core.render import FORMATS
    from swarm_core.store.runs import COST_GROUPS

    mirrored = (
        swarm_cli.options.SEVERITIES,
        swarm_cli.options.FORMATS,
        swarm_cli.options.COST_GROUPS,
        swarm_cli.options.CONFIG_PATH,
        swarm_cli.options.LOG_FORMATS,
    )
    assert mirrored == (tuple(s.value for s in Severity), FORMATS, COST_GROUPS, CONFIG_PATH, LOG_FORMATS)


def test_core_namespace_loads_on_first_use() -> None:
    code = (
        "import json, sys, swarm_core\n"
        "before = sorted(m for m in sys.modules if m.startswith('swarm_core'))\n"
        "from swarm_core import Orchestrator, Severity\n"
        "print(json.dumps([before, Orchestrator.__module__, Severity.__module__, 'sqlalchemy' in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == [
        ["swarm_core", "swarm_core._lazy"],
        "swarm_core.orchestrator",
        "swarm_core.models",
        False,  # the engine needs no database: SQL memory and the stores load when opened
    ]


def test_a_local_review_does_not_load_the_github_client() -> None:
    # PyGithub costs a review 0.4 s of start-up; only `--pr` reads a pull request through it.
    _code, output, modules = _probe(
        "pr-review", "--patch", "examples/leaky-deploy.patch", "--no-llm", "--no-store", "--format", "json"
    )
    assert json.loads(output)["verdict"] == "BLOCK"
    assert sorted(m for m in modules if m.split(".")[0] == "github") == []
    assert "swarm_core.github.client" not in modules
