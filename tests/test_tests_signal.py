"""The tests signal reads the change: dead version-guarded tests, moved-and-renamed helpers, typing modernised.

Each class is shaped like the real merged change that showed it (issue 14): attrs 9b98a730
(drop Python 3.9 and its 3.9-only test), httpx 6212e8fa (private helpers moved to the module
that uses them, renamed with a leading underscore) and jinja 49c48a0b (annotations and aliases
modernised, `zip(..., strict=False)`).
"""

from __future__ import annotations

import pytest

from swarm_core import codegraph
from swarm_core.analyzers.change_signals import TestsSignalAnalyzer
from swarm_core.analyzers.meaning import code_tokens
from swarm_core.analyzers.moves import find_moves
from swarm_core.analyzers.version_guards import dead_test, flags_of, holds
from tests.helpers import review_repo, rules


def _rules(repo) -> list[str]:
    return [rule for _, _, rule in rules(review_repo(repo, analyzers=[TestsSignalAnalyzer()]))]


# -- version guards: conditions read, never run ------------------------------------------------


def _condition(expr: str) -> object:
    tree = codegraph.parse(f"if {expr}:\n    pass\n".encode(), "python")
    return tree.root_node.children[0].child_by_field_name("condition")


@pytest.mark.parametrize(
    ("expr", "floor", "expected"),
    [
        ("sys.version_info >= (3, 10)", 10, True),
        ("sys.version_info >= (3, 10)", 9, None),
        ("sys.version_info < (3, 10)", 10, False),
        ("sys.version_info < (3, 10)", 11, False),
        ("sys.version_info < (3, 11)", 10, None),
        ("sys.version_info[:2] >= (3, 10)", 10, True),
        ("(3, 10) <= sys.version_info", 10, True),
        ("(3, 10) > sys.version_info", 12, False),
        # (3, 10, 0, 'final', 0) > (3, 10) on 3.10 already; the [:2] pair is not.
        ("sys.version_info > (3, 10)", 10, True),
        ("sys.version_info[:2] > (3, 10)", 10, None),
        ("sys.version_info <= (3, 9)", 10, False),
        ("sys.version_info[:2] == (3, 9)", 10, False),
        ("sys.version_info < (3, 10, 2)", 10, None),
        ("sys.version_info < (3, 10, 2)", 11, False),
        ("sys.version_info < (4,)", 10, True),
        ("sys.version_info > (3,)", 10, True),
        ("sys.version_info[:2] <= (3,)", 10, False),
        ("sys.version_info == (3, 10)", 10, False),
        ("not sys.version_info >= (3, 10)", 10, False),
        ("sys.version_info < (3, 10) or IS_PYPY", 10, None),
        ("sys.version_info < (3, 10) and IS_PYPY", 10, False),
        ("sys.version_info >= (3, 10) or IS_PYPY", 10, True),
        ("sys.version_info.minor >= 10", 10, None),
        ("platform.python_version() < '3.10'", 10, None),
        # A far-off literal is decided at once, as a near one (not one minor at a time).
        ("sys.version_info >= (3, 9999999999)", 10, None),
        ("sys.version_info < (3, 9999999999, 1)", 10, None),
        ("sys.version_info[:2] <= (3, 9999999999)", 10, None),
        ("sys.version_info >= (3, 2)", 10, True),
    ],
)
def test_a_version_condition_is_decided_by_the_oldest_supported_python(expr, floor, expected):
    assert holds(_condition(expr), floor, lambda _name: None) is expected


def test_a_flag_name_counts_only_where_the_project_defines_it_from_sys_version_info():
    test_module = (
        b"import sys\nfrom pkg._compat import PY_3_10_PLUS, IS_PYPY\nfrom .helpers import OLD\n"
        b"LOCAL = sys.version_info < (3, 10)\n"
    )
    files = {
        "src/pkg/_compat.py": b"import sys\nPY_3_10_PLUS = sys.version_info[:2] >= (3, 10)\nIS_PYPY = True\n",
        "tests/helpers.py": b"import sys\nOLD = sys.version_info < (3, 9)\n",
    }
    reads: list[str] = []

    def read(path: str) -> bytes | None:
        reads.append(path)
        return files.get(path)

    flags = flags_of(codegraph.parse(test_module, "python").root_node, "tests/test_m.py", read)
    assert [holds(_condition(name), 10, flags) for name in ("PY_3_10_PLUS", "LOCAL", "OLD", "UNKNOWN")] == [
        True,
        False,
        False,
        None,
    ]
    # IS_PYPY is defined, but not from the version: undecided.
    assert holds(_condition("IS_PYPY"), 10, flags) is None
    assert holds(_condition("not PY_3_10_PLUS and IS_PYPY"), 10, flags) is False
    # The defining module was looked for once, at the root and under src/.
    assert reads == ["pkg/_compat.py", "pkg/_compat/__init__.py", "src/pkg/_compat.py", "tests/helpers.py"]
    # A relative import above the project's root names no file.
    beyond = flags_of(codegraph.parse(b"from ...x import OLD\n", "python").root_node, "tests/t.py", read)
    assert beyond("OLD") is None


_GUARDED = {
    "pytest skipif marker": (
        "@pytest.mark.skipif(sys.version_info >= (3, 10), reason='pre-3.10 only')\n"
        "def test_old():\n    assert old() is None\n"
    ),
    "unittest skipIf in a class": (
        "class TestOld(unittest.TestCase):\n"
        "    @unittest.skipIf(sys.version_info >= (3, 10), 'pre-3.10')\n"
        "    def test_old(self):\n        self.assertIsNone(old())\n"
    ),
    "skipUnless keyword condition": (
        "@unittest.skipUnless(condition=sys.version_info < (3, 10), reason='old')\n"
        "def test_old():\n    assert old() is None\n"
    ),
    "skipped class": (
        "@pytest.mark.skipif(sys.version_info >= (3, 10), reason='old')\nclass TestOld:\n"
        "    def test_old(self):\n        assert old() is None\n"
    ),
    "if guard": "if sys.version_info < (3, 10):\n\n    def test_old():\n        assert old() is None\n",
    "else branch of an always-true guard": (
        "if sys.version_info >= (3, 10):\n    pass\nelse:\n\n    def test_old():\n        assert old() is None\n"
    ),
    "skip on entry": (
        "def test_old():\n    '''Old only.'''\n    if sys.version_info >= (3, 10):\n"
        "        pytest.skip('new Python')\n    assert old() is None\n"
    ),
    "body all under a guard": "def test_old():\n    if sys.version_info < (3, 10):\n        assert old() is None\n",
    "class pytestmark": (
        "class TestOld:\n    pytestmark = [pytest.mark.skipif(sys.version_info >= (3, 10), reason='old')]\n\n"
        "    def test_old(self):\n        assert old() is None\n"
    ),
}


@pytest.mark.parametrize("source", _GUARDED.values(), ids=_GUARDED.keys())
def test_each_guard_form_makes_a_test_dead_once_the_floor_passes_it(source):
    tree = codegraph.parse(source.encode(), "python")
    defs = codegraph.definitions(tree, source.encode(), "python")
    node = next(node for sym, node in defs if sym.name == "test_old")
    assert dead_test(node, 10, lambda _name: None) is True
    assert dead_test(node, 9, lambda _name: None) is False


def test_a_test_only_newer_pythons_skip_is_alive():
    source = (
        b"@pytest.mark.skipif(sys.version_info < (3, 10), reason='3.10+')\ndef test_new():\n    assert 1\n"
    )
    tree = codegraph.parse(source, "python")
    node = codegraph.definitions(tree, source, "python")[0][1]
    assert dead_test(node, 10, lambda _name: None) is False


# -- the analyzer on whole changes ------------------------------------------------------------------

_COMPAT = "import sys\n\nPY_3_10_PLUS = sys.version_info[:2] >= (3, 10)\n"
_TESTS = (
    "import pytest\n\nfrom pkg._compat import PY_3_10_PLUS\n\n\n"
    "def test_kept():\n    assert 1 + 1 == 2\n\n\n"
    '@pytest.mark.skipif(PY_3_10_PLUS, reason="Pre-3.10 only.")\n'
    "def test_match_args_pre_310():\n    assert getattr(C, '__match_args__', None) is None\n"
)
_KEPT_ONLY = "import pytest\n\n\ndef test_kept():\n    assert 1 + 1 == 2\n"


def test_removing_a_test_only_dropped_pythons_ran_is_not_a_weaker_suite(make_repo):
    # attrs 9b98a730: requires-python >=3.9 -> >=3.10, and the 3.9-only test and its flag go.
    repo = make_repo()
    repo.commit(
        {
            "pyproject.toml": '[project]\nname = "pkg"\nrequires-python = ">=3.9"\n',
            "src/pkg/_compat.py": _COMPAT,
            "tests/test_make.py": _TESTS,
        }
    )
    repo.commit(
        {
            "pyproject.toml": '[project]\nname = "pkg"\nrequires-python = ">=3.10"\n',
            "src/pkg/_compat.py": "import sys\n",
            "tests/test_make.py": _KEPT_ONLY,
        }
    )
    assert _rules(repo) == []


def test_the_same_removal_while_the_old_python_is_still_supported_is_reported(make_repo):
    repo = make_repo()
    repo.commit(
        {
            "pyproject.toml": '[project]\nname = "pkg"\nrequires-python = ">=3.9"\n',
            "src/pkg/_compat.py": _COMPAT,
            "tests/test_make.py": _TESTS,
        }
    )
    repo.commit({"tests/test_make.py": _KEPT_ONLY})
    assert _rules(repo) == ["tests/assertions-removed", "tests/tests-removed"]


def test_a_flag_not_defined_from_the_version_keeps_the_removal_reported(make_repo):
    repo = make_repo()
    repo.commit(
        {
            "pyproject.toml": '[project]\nname = "pkg"\nrequires-python = ">=3.9"\n',
            "src/pkg/_compat.py": "PY_3_10_PLUS = True\n",
            "tests/test_make.py": _TESTS,
        }
    )
    repo.commit(
        {
            "pyproject.toml": '[project]\nname = "pkg"\nrequires-python = ">=3.10"\n',
            "tests/test_make.py": _KEPT_ONLY,
        }
    )
    assert _rules(repo) == ["tests/assertions-removed", "tests/tests-removed"]


def test_a_deleted_test_file_of_only_dead_tests_is_not_reported(make_repo):
    old = (
        "import sys\nimport unittest\n\n\n"
        "@unittest.skipIf(sys.version_info >= (3, 9), 'py38')\n"
        "def test_legacy():\n    assert legacy()\n"
    )
    repo = make_repo()
    repo.commit({"setup.cfg": "[options]\npython_requires = >=3.8\n", "tests/test_legacy.py": old})
    repo.commit({"setup.cfg": "[options]\npython_requires = >=3.9\n", "tests/test_legacy.py": None})
    assert _rules(repo) == []


# -- moved between modules, renamed on the way --------------------------------------------------

_UTILS = (
    "import mimetypes\nimport re\n\n"
    "_REPLACEMENTS = {'\"': '%22'}\n"
    "_REPLACEMENTS.update({chr(c): '%{:02X}'.format(c) for c in range(0x1F + 1)})\n"
    "_RE = re.compile('|'.join(re.escape(c) for c in _REPLACEMENTS))\n\n\n"
    "def format_form_param(name, value):\n"
    "    value = _RE.sub(lambda m: _REPLACEMENTS[m.group(0)], value)\n"
    "    return f'{name}=\"{value}\"'.encode()\n\n\n"
    "def guess_content_type(filename):\n"
    "    if filename:\n        return mimetypes.guess_type(filename)[0] or 'application/octet-stream'\n"
    "    return None\n\n\n"
    "def to_bytes(value):\n    return value.encode()\n"
)
_MULTIPART = (
    "from ._utils import format_form_param, guess_content_type, to_bytes\n\n\n"
    "class DataField:\n"
    "    def render_headers(self):\n        return format_form_param('name', self.name)\n\n"
    "    def content_type(self):\n        return guess_content_type(self.filename)\n"
)


def _moved_helpers(utils_tail: str = "") -> tuple[str, str]:
    """httpx 6212e8fa's shape: helpers and their constants moved to _multipart.py, underscored."""
    utils = "import re\n\n\ndef to_bytes(value):\n    return value.encode()\n"
    helpers = _UTILS[_UTILS.index("_REPLACEMENTS") : _UTILS.index("def to_bytes")]
    helpers = helpers.replace("format_form_param", "_format_form_param")
    helpers = helpers.replace("guess_content_type", "_guess_content_type")
    helpers = helpers.replace("    if filename:", '    """Guess the mimetype."""\n    if filename:')
    multipart = (
        "import mimetypes\nimport re\n\nfrom ._utils import to_bytes\n\n"
        + helpers
        + _MULTIPART.split("\n\n\n", 1)[1]
        .replace("format_form_param", "_format_form_param")
        .replace("guess_content_type", "_guess_content_type")
        + utils_tail
    )
    return utils, multipart


def test_private_helpers_moved_and_renamed_with_their_constants_change_no_behaviour(make_repo):
    repo = make_repo()
    repo.commit({"pkg/_utils.py": _UTILS, "pkg/_multipart.py": _MULTIPART})
    utils, multipart = _moved_helpers()
    repo.commit({"pkg/_utils.py": utils, "pkg/_multipart.py": multipart})
    assert _rules(repo) == []


def test_a_moved_helper_whose_constant_changed_on_the_way_is_new_behaviour(make_repo):
    repo = make_repo()
    repo.commit({"pkg/_utils.py": _UTILS, "pkg/_multipart.py": _MULTIPART})
    utils, multipart = _moved_helpers()
    repo.commit({"pkg/_utils.py": utils, "pkg/_multipart.py": multipart.replace("%22", "%27")})
    assert _rules(repo) == ["tests/no-test-change"]


def test_a_renamed_helper_whose_body_changed_is_new_behaviour(make_repo):
    repo = make_repo()
    repo.commit({"pkg/_utils.py": _UTILS, "pkg/_multipart.py": _MULTIPART})
    utils, multipart = _moved_helpers()
    repo.commit(
        {"pkg/_utils.py": utils, "pkg/_multipart.py": multipart.replace("'application/octet-stream'", "None")}
    )
    assert _rules(repo) == ["tests/no-test-change"]


def test_find_moves_pairs_renames_only_when_one_to_one():
    a = ("def", "f", "(", ")", ":", "return", "1")
    b = ("def", "g", "(", ")", ":", "return", "1")
    c = ("def", "h", "(", ")", ":", "return", "1")
    const = ("X", "=", "1")
    moves = find_moves(
        {"a.py": [("function_definition", a), ("expression_statement", const)]},
        {"b.py": [("function_definition", b), ("expression_statement", const)]},
    )
    assert dict(moves.renames) == {"f": "g"}
    assert moves.statements == frozenset({const})
    assert moves.renamed(("f", "(", ")")) == ("g", "(", ")")
    # Two candidates for one old body: no rename is guessed.
    ambiguous = find_moves(
        {"a.py": [("function_definition", a)]},
        {"b.py": [("function_definition", b), ("function_definition", c)]},
    )
    assert dict(ambiguous.renames) == {}
    # A statement removed from one file and still in the other at base moved nowhere.
    kept = find_moves(
        {"a.py": [("expression_statement", const)], "b.py": [("expression_statement", const)]},
        {"a.py": [], "b.py": [("expression_statement", const)]},
    )
    assert kept.statements == frozenset()


# -- typing modernised, zip's default spelt out -----------------------------------------------------


def _tokens(source: str, *, annotations: bool) -> tuple[str, ...]:
    return code_tokens(codegraph.parse(source.encode(), "python").root_node, annotations=annotations)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Ref = t.Optional[int]", "Ref = int | None"),
        ("Ref = t.Union[Extends, Include, Import]", "Ref = Extends | Include | Import"),
        ("Ref = Optional[Union[A, B]]", "Ref = A | B | None"),
        ("Ref = typing.List[t.Dict[str, int]]", "Ref = list[dict[str, int]]"),
        ("Ref = t.Tuple[int, ...]", "Ref = tuple[int, ...]"),
    ],
)
def test_typing_old_spellings_read_as_the_new_where_annotations_are_not_read(old, new):
    assert _tokens(old, annotations=False) == _tokens(new, annotations=False)
    assert _tokens(old, annotations=True) != _tokens(new, annotations=True)


def test_zip_strict_false_is_zip_and_strict_true_is_not():
    plain = _tokens("pairs = dict(zip(a, b))", annotations=True)
    assert _tokens("pairs = dict(zip(a, b, strict=False))", annotations=True) == plain
    assert _tokens("pairs = dict(zip(a, b, strict=True))", annotations=True) != plain
    assert _tokens("pairs = dict(other(a, b, strict=False))", annotations=True) != _tokens(
        "pairs = dict(other(a, b))", annotations=True
    )
    assert _tokens("Ref = mylib.Optional[int]", annotations=False) != _tokens(
        "Ref = int | None", annotations=False
    )


def test_modernising_a_module_after_dropping_old_pythons_is_not_a_behaviour_change(make_repo):
    # jinja 49c48a0b: Optional/Union to `|`, aliases too, and zip(..., strict=False).
    old = (
        "import typing as t\n\n"
        "RefType = t.Union[Extends, Import]\n\n\n"
        "def pairs(a: t.Optional[t.List[str]], b: t.List[int]) -> t.Dict[str, int]:\n"
        "    return dict(zip(a or [], b))\n"
    )
    new = (
        "import typing as t\n\n"
        "RefType = Extends | Import\n\n\n"
        "def pairs(a: list[str] | None, b: list[int]) -> dict[str, int]:\n"
        "    return dict(zip(a or [], b, strict=False))\n"
    )
    repo = make_repo()
    repo.commit(
        {"pkg/meta.py": old, "tests/test_meta.py": "def test_pairs():\n    assert pairs([], []) == {}\n"}
    )
    repo.commit({"pkg/meta.py": new})
    assert _rules(repo) == []
    # zip made strict raises where it used to truncate: behaviour.
    repo.commit({"pkg/meta.py": new.replace("strict=False", "strict=True")})
    assert _rules(repo) == ["tests/no-test-change"]


def test_a_module_that_reads_annotations_keeps_its_alias_spelling_as_behaviour(make_repo):
    old = "from pydantic import BaseModel\nimport typing as t\n\nMaybe = t.Optional[int]\n"
    repo = make_repo()
    repo.commit({"pkg/m.py": old, "tests/test_m.py": "def test_m():\n    assert Maybe\n"})
    repo.commit({"pkg/m.py": old.replace("t.Optional[int]", "int | None")})
    assert _rules(repo) == ["tests/no-test-change"]
