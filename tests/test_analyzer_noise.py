"""The noise classes of issue 14, each on a small change shaped like the real merged change that showed it."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import pytest

from swarm_core.analyzers.base import AnalyzerContext
from swarm_core.analyzers.change_signals import TestsSignalAnalyzer
from swarm_core.analyzers.complexity import ComplexityAnalyzer
from swarm_core.analyzers.dependencies import DependencyAnalyzer
from swarm_core.analyzers.docs_drift import DocsDriftAnalyzer
from swarm_core.analyzers.lint import RuffAnalyzer
from swarm_core.analyzers.placeholders import PlaceholderAnalyzer
from swarm_core.analyzers.project import complexity_limits, ruff_config_files
from swarm_core.analyzers.regression import RegressionGuardAnalyzer
from swarm_core.analyzers.sast import BanditAnalyzer
from swarm_core.analyzers.syntax import SyntaxAnalyzer
from swarm_core.changeset import from_git, from_patch
from swarm_core.config import SwarmConfig
from swarm_core.history import GitHistory
from swarm_core.models import Severity, Side
from tests.conftest import git
from tests.helpers import review_repo, rules

# -- the project's own tool configuration --------------------------------------------------------


def test_ruff_honours_exclude_for_named_files_and_nested_configs(make_repo):
    repo = make_repo()
    repo.commit(
        {
            "pyproject.toml": '[tool.ruff]\nextend-exclude = ["tests/inputs"]\n',
            "pkg/ruff.toml": 'lint.select = ["T201"]\n',
            "pkg/m.py": "x = 1\n",
            "top.py": "x = 1\n",
        }
    )
    repo.commit(
        {
            # A deliberate bad input for the project's own tests: excluded by the project.
            "tests/inputs/bad.py": "import os\n",
            "pkg/m.py": "x = 1\nprint(x)\n",
            "top.py": "x = 1\nprint(x)\n",
        }
    )
    assert rules(review_repo(repo, analyzers=[RuffAnalyzer()])) == [("pkg/m.py", 2, "ruff/T201")]


def test_unused_noqa_is_not_reported_when_the_change_rewrote_the_ruff_config(make_repo):
    config = '[tool.ruff.lint]\nselect = ["F", "RUF100"]\n'
    tightened = config + 'extend-select = ["TC001"]\n'
    code = "from pkg.base import Base  # noqa: TC001\n\n\nclass C(Base):\n    pass\n"
    repo = make_repo()
    repo.commit({"pyproject.toml": config, "pkg/base.py": "class Base:\n    pass\n", "pkg/m.py": "X = 1\n"})
    repo.commit({"pyproject.toml": tightened, "pkg/m.py": code})
    assert rules(review_repo(repo, analyzers=[RuffAnalyzer()])) == []
    # Under an unchanged config the same noqa is unused, and said so.
    repo = make_repo()
    repo.commit({"pyproject.toml": config, "pkg/base.py": "class Base:\n    pass\n", "pkg/m.py": "X = 1\n"})
    repo.commit({"pkg/m.py": code})
    assert rules(review_repo(repo, analyzers=[RuffAnalyzer()])) == [("pkg/m.py", 1, "ruff/RUF100")]


def test_ruff_isort_knows_first_party_modules_the_change_did_not_touch(make_repo):
    repo = make_repo()
    imports = "import pytest\n\nfrom app.core import run\n"
    repo.commit(
        {
            "pyproject.toml": '[tool.ruff.lint]\nselect = ["I"]\n',
            "app/__init__.py": "",
            "app/core.py": "def run():\n    return 1\n",
            "tests/test_core.py": imports + "\n\ndef test_run():\n    assert run() == 1\n",
        }
    )
    repo.commit({"tests/test_core.py": imports + "\n\ndef test_run():\n    assert run() == 1 + 0\n"})
    assert rules(review_repo(repo, analyzers=[RuffAnalyzer()])) == []


def test_ruff_findings_are_new_by_meaning_not_by_line_text(make_repo):
    repo = make_repo()
    helper = "def compute():\n    return 1\n\n\n"
    repo.commit({"m.py": helper + "def f():\n    unused = compute()\n    return 1\n"})
    # The line was re-spaced and its variable renamed: the same F841, not a new one.
    repo.commit({"m.py": helper + "def f():\n    still_unused  =  compute()\n    return 1\n"})
    assert rules(review_repo(repo, analyzers=[RuffAnalyzer()])) == []
    repo.commit(
        {"m.py": helper + "def f():\n    still_unused = compute()\n    other = compute()\n    return 1\n"}
    )
    assert rules(review_repo(repo, analyzers=[RuffAnalyzer()])) == [("m.py", 7, "ruff/F841")]


_PEP_696 = "def first[T: (int, str) = int](items: list[T]) -> T:\n    return items[0]\n"


def test_syntax_is_judged_by_the_projects_target_python(make_repo):
    newer = make_repo()
    newer.commit({"pyproject.toml": '[project]\nrequires-python = ">=3.13"\n', "m.py": "x = 1\n"})
    newer.commit({"m.py": "x = 1\n" + _PEP_696})
    assert rules(review_repo(newer, analyzers=[SyntaxAnalyzer(), RuffAnalyzer()])) == []

    older = make_repo()
    older.commit({"pyproject.toml": '[project]\nrequires-python = ">=3.9"\n', "m.py": "x = 1\n"})
    older.commit({"m.py": "x = 1\n" + _PEP_696})
    review = review_repo(older, analyzers=[SyntaxAnalyzer(), RuffAnalyzer()])
    # One finding per place: ruff's invalid-syntax is not reported again by the lint gate.
    assert rules(review) == [("m.py", 2, "syntax/parse-error")]
    assert "Python 3.9" in review.findings[0].message


def test_bandit_honours_project_config_and_type_narrowing_asserts(make_repo):
    repo = make_repo()
    repo.commit({"src/a.py": "x = 1\n"})
    repo.commit(
        {
            "src/a.py": "def f(user, value):\n"
            "    assert value is not None\n"
            "    assert isinstance(value, int)\n"
            "    assert user.is_admin\n"
            "    return value\n"
        }
    )
    assert rules(review_repo(repo, analyzers=[BanditAnalyzer()])) == [("src/a.py", 4, "bandit/B101")]
    configured = make_repo()
    configured.commit({"pyproject.toml": '[tool.bandit]\nskips = ["B101"]\n', "src/a.py": "x = 1\n"})
    configured.commit({"src/a.py": "def f(user):\n    assert user.is_admin\n"})
    assert rules(review_repo(configured, analyzers=[BanditAnalyzer()])) == []


def test_bandit_findings_on_code_moved_between_files_are_not_new(make_repo):
    # typer 2ce37a72 moved vendored Click code from typer/_click/testing.py into typer/testing.py.
    moved = "def clean(env):\n    try:\n        del env['X']\n    except Exception:\n        pass\n"
    repo = make_repo()
    repo.commit({"pkg/_vendored.py": "import os\n\n\n" + moved, "pkg/api.py": "x = 1\n"})
    repo.commit({"pkg/_vendored.py": None, "pkg/api.py": "x = 1\n\n\n" + moved})
    assert rules(review_repo(repo, analyzers=[BanditAnalyzer()])) == []
    # Written anew (not taken out of another file), the same code is reported.
    fresh = make_repo()
    fresh.commit({"pkg/api.py": "x = 1\n"})
    fresh.commit({"pkg/api.py": "x = 1\n\n\n" + moved})
    assert rules(review_repo(fresh, analyzers=[BanditAnalyzer()])) == [("pkg/api.py", 7, "bandit/B110")]


def test_bandit_reports_files_it_cannot_parse(make_repo):
    repo = make_repo()
    repo.commit({"a.py": "x = 1\n"})
    repo.commit({"a.py": "x = 1\ndef (:\n"})
    (finding,) = review_repo(repo, analyzers=[BanditAnalyzer()]).findings
    assert (finding.rule, finding.path, finding.severity) == ("bandit/not-scanned", "a.py", Severity.LOW)


def test_gitattributes_generated_and_vendored_files_are_not_reviewed(make_repo):
    repo = make_repo()
    repo.commit({".gitattributes": "gen/** linguist-generated\n*.pb.py linguist-vendored=true\n"})
    stub = "def handler():\n    pass\n"
    repo.commit({"gen/api.py": stub, "x.pb.py": stub, "real.py": stub})
    assert rules(review_repo(repo, analyzers=[PlaceholderAnalyzer()])) == [
        ("real.py", 1, "placeholder/empty-body")
    ]


# -- signals that read the code ---------------------------------------------------------------


def test_docstring_and_comment_edits_change_no_behaviour(make_repo):
    repo = make_repo()
    repo.commit({"src/lib.py": 'def f(a, b):\n    """Old words."""\n    return g(a, b)  # why\n'})
    # Docstring rewritten, comment dropped, call re-wrapped by a formatter (parentheses, magic comma).
    repo.commit(
        {
            "src/lib.py": 'def f(a, b):\n    """New words.\n\n    More.\n    """\n    return (\n        g(\n            a,\n            b,\n        )\n    )\n'
        }
    )
    assert review_repo(repo, analyzers=[TestsSignalAnalyzer()]).findings == ()


def test_definitions_moved_between_modules_change_no_behaviour(make_repo):
    # httpx 6212e8fa moved two private helpers from httpx/_utils.py to httpx/_multipart.py.
    helper = "def _format(name, value):\n    return f'{name}={value}'\n"
    repo = make_repo()
    repo.commit({"pkg/_utils.py": "import os\n\n\n" + helper, "pkg/_multipart.py": "X = 1\n"})
    repo.commit(
        {
            "pkg/_utils.py": "import os\n",
            "pkg/_multipart.py": "import typing\n\nX = 1\n\n\n" + helper,
        }
    )
    assert rules(review_repo(repo, analyzers=[TestsSignalAnalyzer()])) == []
    # Changed on the way, it is new behaviour.
    edited = make_repo()
    edited.commit({"pkg/_utils.py": "import os\n\n\n" + helper, "pkg/_multipart.py": "X = 1\n"})
    edited.commit(
        {"pkg/_utils.py": "import os\n", "pkg/_multipart.py": "X = 1\n\n\n" + helper.replace("=", ":", 1)}
    )
    assert [r[2] for r in rules(review_repo(edited, analyzers=[TestsSignalAnalyzer()]))] == [
        "tests/no-test-change"
    ]


def test_examples_and_typing_examples_are_not_source(make_repo):
    repo = make_repo()
    repo.commit({"examples/app.py": "x = 1\n", "typing-examples/mypy.py": "y = 1\n"})
    repo.commit({"examples/app.py": "x = 2\n", "typing-examples/mypy.py": "y: int = 2\n"})
    assert review_repo(repo, analyzers=[TestsSignalAnalyzer(), DocsDriftAnalyzer()]).findings == ()


def test_renamed_and_rewritten_tests_are_not_removed(make_repo):
    repo = make_repo()
    body = "    result = parse('a=1')\n    assert result == {'a': 1}\n"
    repo.commit({"tests/test_parse.py": f"def test_parse_pairs():\n{body}"})
    repo.commit({"tests/test_parse.py": f"def test_parses_key_value_pairs():\n{body}"})
    assert review_repo(repo, analyzers=[TestsSignalAnalyzer()]).findings == ()
    repo.commit({"tests/test_parse.py": "def test_other():\n    assert 1\n"})
    assert rules(review_repo(repo, analyzers=[TestsSignalAnalyzer()])) == [
        ("tests/test_parse.py", None, "tests/tests-removed")
    ]


def test_assertions_moved_into_a_helper_are_counted(make_repo):
    repo = make_repo()
    inline = "    assert r.status == 200\n    assert r.body\n"
    repo.commit({"tests/test_http.py": f"def test_get(r):\n{inline}\n\ndef test_head(r):\n{inline}"})
    repo.commit(
        {
            "tests/test_http.py": f"def check_ok(r):\n{inline}\n\n"
            "def test_get(r):\n    check_ok(r)\n\n\ndef test_head(r):\n    check_ok(r)\n"
        }
    )
    assert review_repo(repo, analyzers=[TestsSignalAnalyzer()]).findings == ()


def test_docs_drift_skips_private_modules_and_annotation_only_changes(make_repo):
    repo = make_repo()
    repo.commit(
        {
            "pkg/_compat.py": "def shim(a):\n    return a\n",
            "pkg/api.py": "def get(url, timeout=5):\n    return url\n",
        }
    )
    repo.commit(
        {
            "pkg/_compat.py": "def shim(a, b):\n    return a\n\n\ndef more():\n    return 1\n",
            "pkg/api.py": "def get(url: str, timeout: float = 5) -> str:\n    return url\n",
        }
    )
    assert review_repo(repo, analyzers=[DocsDriftAnalyzer()]).findings == ()


def test_docs_drift_is_one_finding_per_change_and_a_removed_extending_override_is_no_removal(make_repo):
    # Shaped like uvicorn 52b3ec62: a setup hook replaced by a loop factory in four modules, and
    # the worker's override that only ran the hook before gunicorn's own init_process removed.
    repo = make_repo()
    repo.commit(
        {
            "srv/config.py": "class Config:\n    def setup_event_loop(self):\n        return None\n",
            "srv/loops/asyncio.py": "def asyncio_setup():\n    return None\n",
            "srv/loops/auto.py": "def auto_loop_setup():\n    return None\n",
            "srv/workers.py": "from gunicorn.workers.base import Worker\n\n\n"
            "class UvicornWorker(Worker):\n"
            "    def init_process(self):\n"
            "        self.config.setup_event_loop()\n"
            "        super().init_process()\n",
        }
    )
    repo.commit(
        {
            "srv/config.py": "class Config:\n    x = 1\n\n    def get_loop_factory(self):\n        return None\n",
            "srv/loops/asyncio.py": "def asyncio_loop_factory():\n    return None\n",
            "srv/loops/auto.py": "def auto_loop_factory():\n    return None\n",
            "srv/workers.py": "from gunicorn.workers.base import Worker\n\n\nclass UvicornWorker(Worker):\n    pass\n",
        }
    )
    (f,) = review_repo(repo, analyzers=[DocsDriftAnalyzer()]).findings
    assert (f.rule, f.path, f.line) == ("docs/public-api-drift", "srv/config.py", 4)
    assert f.message == (
        "srv/config.py: added Config.get_loop_factory; removed Config.setup_event_loop. "
        "srv/loops/asyncio.py: added asyncio_loop_factory; removed asyncio_setup. "
        "srv/loops/auto.py: added auto_loop_factory; removed auto_loop_setup. "
        "Update the docs or CHANGELOG so users learn of it."
    )


def test_a_removed_override_that_replaced_its_base_method_is_still_a_removal(make_repo):
    repo = make_repo()
    repo.commit({"w.py": "class W(Base):\n    def run(self):\n        return super().start()\n"})
    repo.commit({"w.py": "class W(Base):\n    pass\n"})
    (f,) = review_repo(repo, analyzers=[DocsDriftAnalyzer()]).findings
    assert f.message == "w.py: removed W.run. Update the docs or CHANGELOG so users learn of it."


def test_complexity_reports_crossings_and_steps_not_every_increment(make_repo):
    def fn(n):
        return (
            "def f(x):\n"
            + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(n))
            + "    return x\n"
        )

    repo = make_repo()
    ruff = '[tool.ruff.lint]\nextend-select = ["C90"]\n[tool.ruff.lint.mccabe]\nmax-complexity = 10\n'
    repo.commit({"pyproject.toml": ruff, "c.py": fn(13)})  # complexity 14, already past the limit of 10
    repo.commit({"c.py": fn(14)})  # +1
    assert review_repo(repo, analyzers=[ComplexityAnalyzer()]).findings == ()
    repo.commit({"c.py": fn(19)})  # +5: the configured step
    (f,) = review_repo(repo, analyzers=[ComplexityAnalyzer()]).findings
    assert f.title == "Complexity of f() grew from 15 to 20 (threshold 10)"
    assert f.message.startswith("The limit is set by ruff (pyproject.toml).")


def _branchy(name: str, n: int) -> str:
    return (
        f"def {name}(x):\n"
        + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(n))
        + "    return x\n"
    )


def test_complexity_is_not_reported_where_the_project_sets_no_limit(make_repo):
    # Shaped like jinja 6aeab5d1 and uvicorn b9606269: ruff configured, C90 not selected.
    repo = make_repo()
    repo.commit(
        {"pyproject.toml": '[tool.ruff.lint]\nselect = ["B", "E", "F", "I", "UP", "W"]\n', "p.py": ""}
    )
    repo.commit({"p.py": _branchy("parse_primary", 12)})
    review = review_repo(repo, analyzers=[ComplexityAnalyzer()])
    assert review.findings == ()
    assert [(r.name, r.status, r.reason) for r in review.analyzers] == [
        ("complexity", "skipped", "the project sets no complexity limit")
    ]
    # The user can still ask swarm for a limit of its own.
    explicit = {"analyzers": {"complexity": {"threshold": 10}}}
    assert rules(review_repo(repo, overrides=explicit, analyzers=[ComplexityAnalyzer()])) == [
        ("p.py", 1, "complexity/cyclomatic")
    ]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # ruff.toml, C901 selected through a prefix, its own limit.
        (
            {"ruff.toml": 'lint.select = ["C"]\nlint.mccabe.max-complexity = 15\n'},
            dict.fromkeys(["a.py", "sub/b.py"], (15, "ruff (ruff.toml)")),
        ),
        # Selected with no limit: ruff's default, 10; legacy top-level keys still read.
        (
            {".ruff.toml": 'select = ["ALL"]\n'},
            dict.fromkeys(["a.py", "sub/b.py"], (10, "ruff (.ruff.toml)")),
        ),
        # Selected, then ignored by a selector as specific: ruff does not enforce it.
        ({"pyproject.toml": '[tool.ruff.lint]\nselect = ["C90"]\nignore = ["C901"]\n'}, {}),
        # A nested ruff.toml is the nearer config for the files under it (ruff does not merge them).
        (
            {
                "pyproject.toml": '[tool.ruff.lint]\nselect = ["C901"]\nmccabe = {max-complexity = 12}\n',
                "sub/ruff.toml": 'lint.select = ["E"]\n',
            },
            {"a.py": (12, "ruff (pyproject.toml)")},
        ),
        # flake8 from setup.cfg, tox.ini or .flake8; a pyproject without [tool.ruff] is not ruff's.
        (
            {"setup.cfg": "[flake8]\nmax-complexity = 18\n", "pyproject.toml": "[project]\nname = 'p'\n"},
            {"a.py": (18, "flake8 (setup.cfg)"), "sub/b.py": (18, "flake8 (setup.cfg)")},
        ),
        ({"tox.ini": "[tox]\nenvlist = py312\n[flake8]\nmax-complexity = -1\n"}, {}),
        ({".flake8": "[flake8]\nmax-line-length = 100\n"}, {}),
        # A digit int() cannot read (a superscript) is no limit, not a crash.
        ({"setup.cfg": "[flake8]\nmax-complexity = \u00b2\n"}, {}),
    ],
)
def test_the_complexity_limit_comes_from_the_projects_ruff_or_flake8_config(
    make_repo, tmp_path, files, expected
):
    repo = make_repo()
    repo.commit({**files, "a.py": "", "sub/b.py": ""})
    repo.commit({"a.py": "x = 1\n", "sub/b.py": "x = 1\n"})
    change = from_git(repo.path, "HEAD~1", "HEAD")
    ctx = AnalyzerContext(change, change.diff.files, SwarmConfig(), tmp_path)
    assert complexity_limits(ctx, ["a.py", "sub/b.py", "web/app.js"]) == expected


def test_ruff_c901_is_left_to_the_complexity_analyzer(make_repo):
    ruff = '[tool.ruff.lint]\nselect = ["C901"]\n[tool.ruff.lint.mccabe]\nmax-complexity = 10\n'
    repo = make_repo()
    repo.commit({"pyproject.toml": ruff, "c.py": ""})
    repo.commit({"c.py": _branchy("f", 12)})
    assert rules(review_repo(repo, analyzers=[RuffAnalyzer(), ComplexityAnalyzer()])) == [
        ("c.py", 1, "complexity/cyclomatic")
    ]
    off = {"analyzers": {"complexity": {"enabled": False}}}
    assert rules(review_repo(repo, overrides=off, analyzers=[RuffAnalyzer()])) == [("c.py", 1, "ruff/C901")]


def test_placeholders_only_for_new_functions_that_are_not_protocol_or_overload(make_repo):
    repo = make_repo()
    repo.commit({"m.py": "class Base:\n    def on_start(self):\n        pass\n"})
    repo.commit(
        {
            "m.py": "import typing as t\n\n\n"
            "class Base:\n    def on_start(self, ctx=None):\n        pass\n\n"
            "    def __enter__(self):\n        pass\n\n\n"
            "class Reader(t.Protocol):\n    def read(self) -> bytes: ...\n\n\n"
            "@t.overload\ndef get(x: int) -> int: ...\n\n\n"
            "def todo_later(x):\n    pass\n"
        }
    )
    assert rules(review_repo(repo, analyzers=[PlaceholderAnalyzer()])) == [
        ("m.py", 20, "placeholder/empty-body")
    ]


def _dependency_findings(make_repo, before: str, after: str, *, describe: bool = False) -> list[tuple]:
    repo = make_repo()
    repo.commit({"pyproject.toml": before})
    repo.commit({"pyproject.toml": after})
    review = review_repo(repo, analyzers=[DependencyAnalyzer(describe=describe)])
    return sorted((f.line, f.rule, f.title) for f in review.findings)


def test_dependencies_per_group_with_normalised_names_and_floor_raises(make_repo):
    before = (
        '[project]\ndependencies = ["chardet>=3", "typing_extensions>=3.10.0", "anyio==3.7"]\n'
        '[dependency-groups]\ntypecheck = ["mypy==1.10"]\n'
    )
    after = (
        '[project]\ndependencies = ["chardet>=3", "typing-extensions>=4.10.0", "anyio==4.0"]\n'
        '[dependency-groups]\ntypecheck = ["mypy==1.11", "chardet"]\n'
    )
    # typing-extensions' floor raise (starlette 739ea492) is the change's own requirement.
    assert _dependency_findings(make_repo, before, after) == [
        (2, "deps/major-bump", "Dependency anyio: ==3.7 → ==4.0"),
    ]


# One runtime list and an extra, as anyio 3cc0f18e and cattrs 3d070824 write them.
_CONSTRAINTS = (
    '[project]\ndependencies = [\n    "idna >= 2.8",\n'
    "    \"typing_extensions >= {typing}; python_version < '{marker}'\",\n"
    '    "sniffio >= 1.1{sniffio}",\n    "attrs >= {attrs}",\n'
    '    "certifi {certifi} 2024.2.2",\n    "h11 >= 0.{h11}, < 0.{h11_next}",\n'
    ']\n[project.optional-dependencies]\nmsgspec = [\n    "msgspec>={msgspec}; implementation_name == \\"cpython\\"",\n]\n'
)


def test_constraints_tightened_are_quiet_loosened_ones_are_reported(make_repo):
    # A floor raised with its marker changed (anyio 3cc0f18e), an extra's floor raised (cattrs
    # 3d070824), a re-pin inside 0.x: quiet. The loosened ones are what a reviewer must check.
    moves = {
        "typing": ("4.5", "4.16.0"),
        "marker": ("3.13", "3.15"),
        "sniffio": (", < 2", ""),
        "attrs": ("23.1", "22.2"),
        "certifi": ("==", ">="),
        "h11": ("14", "16"),
        "h11_next": ("15", "17"),
        "msgspec": ("0.19.0", "0.21.1"),
    }
    before, after = (_CONSTRAINTS.format(**{k: v[side] for k, v in moves.items()}) for side in (0, 1))
    assert _dependency_findings(make_repo, before, after) == [
        (5, "deps/loosened", "Dependency sniffio: >= 1.1, < 2 → >= 1.1"),
        (6, "deps/loosened", "Dependency attrs: >= 23.1 → >= 22.2"),
        (7, "deps/loosened", "Dependency certifi: == 2024.2.2 → >= 2024.2.2"),
    ]
    described = _dependency_findings(make_repo, before, after, describe=True)
    assert [(line, rule) for line, rule, _ in described] == [
        (4, "deps/floor-raised"),
        (5, "deps/loosened"),
        (6, "deps/loosened"),
        (7, "deps/loosened"),
        (8, "deps/floor-raised"),
        (12, "deps/floor-raised"),
    ]


def test_code_moved_out_of_a_private_module_is_not_new(make_repo):
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12))
    cls = f"class Runner:\n    def isolation(self, x):\n{branches.replace('    ', '        ')}        return x\n"
    repo = make_repo()
    repo.commit({"pkg/_vendor/testing.py": cls, "pkg/testing.py": "from pkg._vendor.testing import Runner\n"})
    repo.commit({"pkg/_vendor/testing.py": None, "pkg/testing.py": cls})
    limit = {"analyzers": {"complexity": {"threshold": 10}}}
    review = review_repo(repo, overrides=limit, analyzers=[DocsDriftAnalyzer(), ComplexityAnalyzer()])
    assert review.findings == ()
    assert [r.status for r in review.analyzers] == ["ok", "ok"]


def test_pep_735_dependency_groups_are_dev_only_whatever_their_name(make_repo):
    repo = make_repo()
    repo.commit(
        {"pyproject.toml": '[project]\ndependencies = []\n[dependency-groups]\npyrefly = ["pyrefly"]\n'}
    )
    repo.commit(
        {"pyproject.toml": '[project]\ndependencies = []\n[dependency-groups]\npyrefly = ["pyrefly>=1.2"]\n'}
    )
    assert review_repo(repo, analyzers=[DependencyAnalyzer()]).findings == ()


def test_dev_only_dependencies_added_are_not_findings_runtime_ones_are(make_repo):
    # Shaped like jinja b002d9c6 (trio in requirements/tests.in) and uvicorn e5f36639
    # (pytest-xdist in a requirements.txt that installs the project itself).
    repo = make_repo()
    repo.commit(
        {
            "pyproject.toml": '[project]\ndependencies = ["markupsafe>=2"]\n'
            '[project.optional-dependencies]\ntest = ["pytest"]\n',
            "requirements/tests.in": "pytest\n",
            "requirements.txt": "-e .[standard]\npytest==8.0\n",
        }
    )
    repo.commit(
        {
            "pyproject.toml": '[project]\ndependencies = ["markupsafe>=2", "anyio>=4"]\n'
            '[project.optional-dependencies]\ntest = ["pytest", "trio"]\n',
            "requirements/tests.in": "pytest\ntrio\n",
            "requirements.txt": "-e .[standard]\npytest==8.0\npytest-xdist==3.6.0\n",
        }
    )
    review = review_repo(repo, analyzers=[DependencyAnalyzer()])
    assert [(f.path, f.line, f.rule, f.title) for f in review.findings] == [
        ("pyproject.toml", 2, "deps/added", "Dependency added: anyio >=4")
    ]
    # The walkthrough still names every addition.
    described = review_repo(repo, analyzers=[DependencyAnalyzer(describe=True)])
    assert sorted(f.title for f in described.findings) == [
        "Dependency added (dev-only dev environment): pytest-xdist ==3.6.0",
        "Dependency added (dev-only extra test): trio",
        "Dependency added (dev-only tests): trio",
        "Dependency added: anyio >=4",
    ]


def test_a_lockfile_refreshed_without_its_manifest_is_not_a_finding(make_repo):
    # Shaped like attrs 116681b6: `uv lock --upgrade` with pyproject.toml untouched.
    repo = make_repo()
    repo.commit({"pyproject.toml": '[project]\ndependencies = ["attrs"]\n', "uv.lock": "version = 1\n"})
    repo.commit({"uv.lock": "version = 1\n# refreshed\n"})
    review = review_repo(repo, analyzers=[DependencyAnalyzer()])
    assert review.findings == ()
    assert [(r.name, r.status, r.reason) for r in review.analyzers] == [
        ("dependencies", "skipped", "no dependency manifest changed")
    ]


# -- the regression guard ---------------------------------------------------------------------


def test_regression_guard_flags_a_change_that_puts_back_what_a_fix_replaced(make_repo):
    repo = make_repo()
    buggy = "def ratio(a, b):\n    return a / b\n"
    fixed = "def ratio(a, b):\n    if b == 0:\n        return 0.0\n    return a / b\n"
    repo.commit({"calc.py": buggy, "tests/test_calc.py": "def test_ratio():\n    assert True\n"})
    fix = repo.commit(
        {"calc.py": fixed, "tests/test_calc.py": "def test_zero():\n    assert ratio(1, 0) == 0.0\n"},
        message="Fix ZeroDivisionError in ratio() for empty input",
    )
    repo.commit({"calc.py": buggy}, message="Simplify ratio")
    (f,) = review_repo(repo, analyzers=[RegressionGuardAnalyzer()]).findings
    assert (f.rule, f.path, f.side, f.line, f.end_line) == (
        "regression/undoes-fix",
        "calc.py",
        Side.LEFT,
        2,
        3,
    )
    assert (
        f.title == f"This change undoes part of {fix[:10]} 'Fix ZeroDivisionError in ratio() for empty input'"
    )
    assert f.severity is Severity.MEDIUM  # the message says fix, and tests came with it


class _SlowHistory(GitHistory):
    """Git history whose first blame waits until released: an API that answers slowly."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.release = threading.Event()
        self.blamed: list[str] = []

    def blame(self, commit, path, lines):
        self.blamed.append(path)
        self.release.wait(10)
        return super().blame(commit, path, lines)


def test_regression_guard_asks_nothing_more_once_its_time_ran_out(make_repo, tmp_path):
    repo = make_repo()
    repo.commit({"a.py": "x = 1\ny = 2\n", "b.py": "x = 1\ny = 2\n"})
    repo.commit({"a.py": "x = 1\n", "b.py": "x = 1\n"})
    change = from_git(repo.path, "HEAD~1", "HEAD")
    history = _SlowHistory(change.history._repo)  # type: ignore[union-attr]
    change = dataclasses.replace(change, history=history)
    ctx = AnalyzerContext(change, change.diff.files, SwarmConfig(), tmp_path)

    async def timed_out() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(RegressionGuardAnalyzer().run(ctx), 0.2)
        history.release.set()  # the worker thread goes on after the timeout: it must not blame b.py

    asyncio.run(timed_out())  # waits for the worker thread to finish
    assert history.blamed == ["a.py"]
    assert ctx.notes("regression") == ("stopped reading history: the analyzer's time ran out",)


def test_regression_guard_ignores_rewrites_of_lines_no_fix_wrote_or_that_move_forward(make_repo):
    repo = make_repo()
    repo.commit({"calc.py": "def ratio(a, b):\n    return a / b\n"}, message="Add ratio")
    repo.commit(
        {"calc.py": "def ratio(a, b):\n    return a / b if b else 0.0\n"}, message="Fix ratio on zero"
    )
    # A later change rewrites the fixed line into something new: not a revert of the fix.
    repo.commit({"calc.py": "def ratio(a, b):\n    return 0.0 if not b else a / b  # guarded\n"})
    assert review_repo(repo, analyzers=[RegressionGuardAnalyzer()]).findings == ()


def test_bandit_scans_shipped_code_not_test_modules(make_repo):
    repo = make_repo()
    repo.commit({"app/run.py": "x = 1\n", "tests/test_run.py": "x = 1\n"})
    call = "import pickle\nimport subprocess\n\n\ndef go(c, b):\n    subprocess.call(c, shell=True)\n    return pickle.loads(b)\n"
    repo.commit({"app/run.py": call, "tests/test_run.py": call})
    assert {path for path, _, _ in rules(review_repo(repo, analyzers=[BanditAnalyzer()]))} == {"app/run.py"}


def test_bandit_findings_are_new_by_meaning(make_repo):
    repo = make_repo()
    repo.commit(
        {"app/run.py": "import subprocess\n\n\ndef go(cmd):\n    return subprocess.call(cmd, shell=True)\n"}
    )
    # A rename touches the line: the same B602 as before, not a new one.
    repo.commit(
        {
            "app/run.py": "import subprocess\n\n\ndef go(command):\n    return subprocess.call(command, shell=True)\n"
        }
    )
    assert rules(review_repo(repo, analyzers=[BanditAnalyzer()])) == []


def test_ruff_configs_are_found_without_a_tree_listing(make_repo, tmp_path):
    repo = make_repo()
    repo.commit({"pyproject.toml": "[tool.ruff]\n", "pkg/ruff.toml": "", "pkg/sub/m.py": "x = 1\n"})
    repo.write({"pkg/sub/m.py": "x = 2\n"})
    patch = git(repo.path, "diff").encode()
    change = from_patch(patch, "p.diff", repo_path=repo.path)  # a patch: contents without a listing
    ctx = AnalyzerContext(change, change.diff.files, SwarmConfig(), tmp_path)
    assert ctx.paths(Side.LEFT) is None
    assert ruff_config_files(ctx, ["pkg/sub/m.py"]) == ["pyproject.toml", "pkg/ruff.toml"]


def test_a_loose_match_never_takes_the_base_twin_a_strict_match_needs() -> None:
    from swarm_core.analyzers.meaning import Issue, MatchPass, already_in_base

    base = [Issue.of("a.py", "B101", "assert x")]
    # The first head issue matches only once names are blanked; the second matches exactly.
    # Strictest pass first over all of them: the exact twin keeps the base issue.
    head = [Issue.of("a.py", "B101", "assert y"), Issue.of("a.py", "B101", "assert  x")]
    passes = (MatchPass(True, "compact"), MatchPass(True, "blanked"))
    assert already_in_base(base, head, passes) == [False, True]
    # Other files count only in a pass that asks for them, and never by another rule.
    moved = [Issue.of("b.py", "B101", "assert x"), Issue.of("a.py", "B102", "assert x")]
    assert already_in_base(base, moved, passes) == [False, False]
    assert already_in_base(base, moved, (MatchPass(False, "compact"),)) == [True, False]


_TYPING_OLD_STYLE = (
    "import os\nfrom typing import List\n\n\ndef f(x: List[int]) -> List[int]:\n    return x\n"
)


def test_ruff_checks_only_its_classic_rules_where_the_project_does_not_configure_it(make_repo):
    # Newer ruff releases select pyupgrade and more by default: in a project that never chose
    # them (a Poetry project supporting 3.8, no ruff config), `List[int]` is its style, not a
    # finding; an unused import still is.
    repo = make_repo()
    repo.commit({"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.8"\n', "m.py": "x = 1\n"})
    repo.commit({"m.py": _TYPING_OLD_STYLE})
    assert rules(review_repo(repo, analyzers=[RuffAnalyzer()])) == [("m.py", 1, "ruff/F401")]

    chosen = make_repo()
    chosen.commit({"pyproject.toml": '[tool.ruff.lint]\nselect = ["UP006"]\n', "m.py": "x = 1\n"})
    chosen.commit({"m.py": _TYPING_OLD_STYLE})
    assert {r for _, _, r in rules(review_repo(chosen, analyzers=[RuffAnalyzer()]))} == {"ruff/UP006"}


@pytest.mark.parametrize(
    ("files", "target"),
    [
        (
            {
                "pyproject.toml": '[tool.ruff]\ntarget-version = "py310"\n[project]\nrequires-python = ">=3.8"\n'
            },
            (3, 10),
        ),
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.9"\n'}, (3, 9)),
        ({"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.8"\n'}, (3, 8)),
        ({"setup.cfg": "[options]\npython_requires = >=3.7\n"}, (3, 7)),
        ({"setup.py": "setup()\n"}, None),
    ],
)
def test_the_projects_oldest_python_is_read_from_every_place_projects_declare_it(
    make_repo, tmp_path, files, target
):
    from swarm_core.analyzers.project import python_target

    repo = make_repo()
    repo.commit({**files, "m.py": "x = 1\n"})
    repo.commit({"m.py": "x = 2\n"})
    change = from_git(repo.path, "HEAD~1", "HEAD")
    ctx = AnalyzerContext(change, change.diff.files, SwarmConfig(), tmp_path)
    assert python_target(ctx) == target


def test_typing_a_module_is_not_a_behaviour_change_unless_something_reads_its_annotations(make_repo):
    plain = "def f(x, items=None):\n    return [x, *(items or [])]\n"
    typed = (
        "from typing import ClassVar, Sequence\n\n\n"
        "def f(x: int, items: Sequence[int] | None = None) -> list[int]:\n    return [x, *(items or [])]\n"
    )
    repo = make_repo()
    repo.commit({"pkg/m.py": plain, "tests/test_m.py": "def test_f():\n    assert f(1)\n"})
    repo.commit({"pkg/m.py": typed})
    assert rules(review_repo(repo, analyzers=[TestsSignalAnalyzer()])) == []

    # pydantic reads annotations: there the same edit changes what is accepted.
    model = "from pydantic import BaseModel\n\n\nclass M(BaseModel):\n    x: int\n"
    repo = make_repo()
    repo.commit({"pkg/m.py": model, "tests/test_m.py": "def test_m():\n    assert M(x=1)\n"})
    repo.commit({"pkg/m.py": model.replace("x: int", "x: str")})
    assert [r for _, _, r in rules(review_repo(repo, analyzers=[TestsSignalAnalyzer()]))] == [
        "tests/no-test-change"
    ]


def test_a_reworded_or_moved_todo_is_not_a_new_one(make_repo):
    repo = make_repo()
    repo.commit({"pkg/m.py": "def f():\n    # TODO: investigate why this is flaky on M1\n    return 1\n"})
    repo.commit(
        {
            "pkg/m.py": "def f():\n    # TODO: investigate why this is flaky on macOS\n    return 1\n\n\n"
            "def g():\n    # FIXME: handle the empty case\n    return 2\n"
        }
    )
    # The TODO was reworded; the FIXME is new.
    assert rules(review_repo(repo, analyzers=[PlaceholderAnalyzer()])) == [
        ("pkg/m.py", 7, "placeholder/todo-comment")
    ]


def test_a_marker_opens_its_comment_a_word_inside_a_sentence_marks_nothing(make_repo):
    repo = make_repo()
    repo.commit({"pkg/m.py": "X = 1\n"})
    repo.commit(
        {
            "pkg/m.py": "X = 1\n"
            "# U+1806 MONGOLIAN TODO SOFT HYPHEN is default-ignorable\n"
            "Y = 2  # keeps the TODO list short\n"
            "# TODO(ann): drop after 2.0\n"
            "Z = 3  # FIXME handle None\n"
            "#XXX: racy\n"
        }
    )
    assert [line for _, line, _ in rules(review_repo(repo, analyzers=[PlaceholderAnalyzer()]))] == [4, 5, 6]


def test_a_requirements_file_compiled_by_pip_compile_is_a_lockfile_not_a_manifest(make_repo):
    header = "#\n# This file is autogenerated by pip-compile with Python 3.12\n#\n"
    repo = make_repo()
    repo.commit(
        {
            "requirements/tests.in": "pytest\n",
            "requirements/tests.txt": header + "pytest==8.0.0\npluggy==1.4.0\n",
            "requirements/docs.txt": header + "sphinx==7.0.0\n",
        }
    )
    repo.commit(
        {
            "requirements/tests.in": "pytest\ntrio\n",
            "requirements/tests.txt": header
            + "attrs==23.2.0\noutcome==1.3.0\npytest==8.0.0\npluggy==1.5.0\ntrio==0.25.0\n",
            "requirements/docs.txt": header + "sphinx==7.1.0\n",
        }
    )
    # The project chose trio (in the .in file); the transitive pins are pip-compile's.
    found = [(p, r) for p, _, r in rules(review_repo(repo, analyzers=[DependencyAnalyzer(describe=True)]))]
    assert found == [("requirements/tests.in", "deps/added")]
