"""What the tests signal leaves out: code excluded from coverage, tests folded into one, pytest hooks.

Each class is shaped like the real merged change that showed it (issue 14): httpcore
17409bb4 (an `except` widened under `# pragma: nocover`, a pragma moved onto a signature),
anyio 12d0aa7a (tests/test_deprecations.py folded into `test_deprecations` of a new test
file) and loguru 800b18a6 (pytest hooks deleted from conftest.py).
"""

from __future__ import annotations

import pytest

from swarm_core import codegraph
from swarm_core.analyzers.base import Parsed
from swarm_core.analyzers.change_signals import TestsSignalAnalyzer
from swarm_core.analyzers.no_cover import excluded_lines
from swarm_core.analyzers.project import COVERAGE_DEFAULT_EXCLUDE
from tests.helpers import review_repo, rules


def _rules(repo) -> list[str]:
    return [rule for _, _, rule in rules(review_repo(repo, analyzers=[TestsSignalAnalyzer()]))]


def _excluded(source: str, regexes: tuple[str, ...] = (COVERAGE_DEFAULT_EXCLUDE,)) -> list[int]:
    data = source.encode()
    return sorted(excluded_lines(Parsed("python", data, codegraph.parse(data, "python")), regexes))


# -- code excluded from coverage ----------------------------------------------------------------

_SYNC = "try:\n    import trio\nexcept ImportError:  # pragma: nocover\n    trio = None\n"
_SYNC_WIDER = (
    "try:\n    import trio\nexcept (ImportError, NotImplementedError):  # pragma: nocover\n    trio = None\n"
)
_BACKEND = (
    "class Backend:\n"
    "    async def connect(\n"
    "        self,\n"
    "        options=None,\n"
    "    ) -> object:{head}\n"
    "        if options is None:\n"
    "            options = []{inner}\n"
    "        return options\n"
)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (_SYNC, [3, 4]),  # an except clause: its whole block
        (_BACKEND.format(head="  # pragma: nocover", inner=""), [2, 3, 4, 5, 6, 7, 8]),  # a signature
        (_BACKEND.format(head="", inner="  # pragma: no cover"), [7]),  # one statement
        ("@register  # PRAGMA: NO COVER\ndef f():\n    return 1\n\n\ng = 2\n", [1, 2, 3]),  # a decorator
        ("x = call(\n    1,\n)  # pragma:no cover\ny = 2\n", [1, 2, 3]),  # a statement on three lines
        ("x = 1  # coverage: ignore\n", []),
    ],
)
def test_lines_excluded_as_coverage_py_excludes_them(source, expected):
    assert _excluded(source) == expected


def test_the_projects_own_exclusion_regexes_are_honoured():
    source = "def f():\n    raise NotImplementedError\n\n\ndef g():  # pragma: no cover\n    pass\n"
    assert _excluded(source, ("raise NotImplementedError",)) == [2]
    assert _excluded(source, ("[unclosed",)) == []


def test_a_change_confined_to_code_excluded_from_coverage_needs_no_test(make_repo):
    repo = make_repo()
    backend = _BACKEND.format(head="", inner="  # pragma: no cover")
    repo.commit(
        {"pkg/_sync.py": _SYNC, "pkg/backend.py": backend, "tests/test_x.py": "def test_x():\n    pass\n"}
    )
    repo.commit(
        {"pkg/_sync.py": _SYNC_WIDER, "pkg/backend.py": _BACKEND.format(head="  # pragma: nocover", inner="")}
    )
    assert _rules(repo) == []


def test_the_same_change_without_the_pragma_is_untested_behaviour(make_repo):
    repo = make_repo()
    repo.commit({"pkg/_sync.py": _SYNC.replace("  # pragma: nocover", "")})
    repo.commit({"pkg/_sync.py": _SYNC_WIDER.replace("  # pragma: nocover", "")})
    assert _rules(repo) == ["tests/no-test-change"]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        # exclude_lines replaces the default: the pragma no longer excludes anything.
        (
            {"pyproject.toml": '[tool.coverage.report]\nexclude_lines = ["if TYPE_CHECKING:"]\n'},
            ["tests/no-test-change"],
        ),
        # exclude_also adds to it.
        ({"pyproject.toml": '[tool.coverage.report]\nexclude_also = ["if TYPE_CHECKING:"]\n'}, []),
        ({".coveragerc": "[report]\nexclude_lines =\n    pragma: nocover\n"}, []),
        (
            {"setup.cfg": "[coverage:report]\nexclude_lines =\n    if TYPE_CHECKING:\n"},
            ["tests/no-test-change"],
        ),
    ],
)
def test_the_projects_coverage_config_decides_what_is_excluded(make_repo, config, expected):
    repo = make_repo()
    repo.commit({**config, "pkg/_sync.py": _SYNC})
    repo.commit({"pkg/_sync.py": _SYNC_WIDER})
    assert _rules(repo) == expected


# -- a test file folded into one test of another file -----------------------------------------

_DEPRECATION = (
    "import pytest\n\nimport anyio\n\n\n"
    "def test_broken_worker_interpreter_deprecation() -> None:\n"
    "    with pytest.warns(DeprecationWarning):\n"
    "        DeprecatedClass = anyio.BrokenWorkerIntepreter\n"
    "    assert DeprecatedClass is anyio.BrokenWorkerInterpreter\n"
)
_LAZY = (
    "import sys\n\nimport pytest\n\n"
    "DEPRECATIONS = {\n"
    '    "anyio.BrokenWorkerIntepreter": "anyio.BrokenWorkerInterpreter",\n'
    '    "anyio.abc.Event": "anyio.Event",\n'
    "}\n\n\n"
    "def test_deprecations() -> None:\n"
    "    for old_name, new_name in DEPRECATIONS.items():\n"
    '        module_name, attrname = old_name.rsplit(".", 1)\n'
    "        with pytest.warns(DeprecationWarning):\n"
    "            old_obj = getattr(sys.modules[module_name], attrname)\n"
    '        module_name, attrname = new_name.rsplit(".", 1)\n'
    "        assert getattr(sys.modules[module_name], attrname) is old_obj\n"
)


def test_a_test_file_folded_into_a_test_named_after_it_is_not_deleted_tests(make_repo):
    repo = make_repo()
    repo.commit({"tests/test_deprecations.py": _DEPRECATION})
    repo.commit({"tests/test_deprecations.py": None, "tests/test_lazyimport.py": _LAZY})
    assert _rules(repo) == []


def test_a_test_file_deleted_with_nothing_in_its_place_is_reported(make_repo):
    repo = make_repo()
    repo.commit({"tests/test_deprecations.py": _DEPRECATION, "tests/test_lazyimport.py": "import sys\n"})
    repo.commit(
        {
            "tests/test_deprecations.py": None,
            "tests/test_lazyimport.py": _LAZY.replace("test_dep", "test_other"),
        }
    )
    assert _rules(repo) == ["tests/file-deleted"]


# -- pytest hooks are not tests ------------------------------------------------------------------

_CONFTEST = (
    "import sys\n\nimport pytest\n\n\n"
    "def check_dir(path, size):\n    assert len(list(path.iterdir())) == size\n\n\n"
    "def _fix_builtins_uppercase(item):\n"
    "    for output in item.expected_output:\n"
    "        # Quite hacky, but should work for all tested cases.\n"
    "        output.message = output.message.capitalize()\n\n\n"
    "def pytest_collection_modifyitems(config, items):\n"
    "    for item in items:\n"
    "        assert item is not None\n"
    "        if sys.version_info < (3, 9):\n"
    "            _fix_builtins_uppercase(item)\n\n\n"
    "@pytest.fixture\ndef writer():\n    return []\n"
)
_KEPT = "import pytest\n\n\ndef check_dir(path, size):\n    assert len(list(path.iterdir())) == size\n\n\n@pytest.fixture\ndef writer():\n    return []\n"


def test_pytest_hooks_deleted_from_conftest_remove_no_assertion(make_repo):
    repo = make_repo()
    repo.commit(
        {
            "tests/conftest.py": _CONFTEST,
            "tests/test_a.py": "def test_a(tmp_path):\n    check_dir(tmp_path, 0)\n",
        }
    )
    repo.commit({"tests/conftest.py": _KEPT})
    assert _rules(repo) == []


def test_an_assertion_removed_from_a_conftest_helper_is_still_counted(make_repo):
    repo = make_repo()
    repo.commit(
        {
            "tests/conftest.py": _CONFTEST,
            "tests/test_a.py": "def test_a(tmp_path):\n    check_dir(tmp_path, 0)\n",
        }
    )
    repo.commit(
        {"tests/conftest.py": _KEPT.replace("    assert len(list(path.iterdir())) == size\n", "    pass\n")}
    )
    assert _rules(repo) == ["tests/assertions-removed"]
