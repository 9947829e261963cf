"""Noise classes of issue 14 from the blind labels of six more projects (stop 25).

Each test is a small change shaped like the real merged change that showed the class; the
real change is named in the test.
"""

from __future__ import annotations

from swarm_core.analyzers.change_signals import TestsSignalAnalyzer
from swarm_core.analyzers.docs_drift import DocsDriftAnalyzer
from swarm_core.analyzers.lint import RuffAnalyzer
from swarm_core.analyzers.placeholders import PlaceholderAnalyzer
from swarm_core.analyzers.ruff_defaults import pin_classic_rules
from swarm_core.analyzers.sast import BanditAnalyzer, python_comments, waived_by_noqa
from swarm_core.analyzers.secrets import SecretsAnalyzer
from tests.helpers import review_repo, rules

# -- ruff: a config that chooses no rules keeps ruff's classic defaults ----------------------


def test_a_ruff_config_without_select_keeps_the_classic_rules_and_its_own_ignores(make_repo):
    # more-itertools 49c991e4 and 32652582: `[tool.ruff.lint] ignore = [...]` and no select;
    # ruff 0.16 widened its defaults (C408, PLR1730, I001 ...), which the project never chose.
    config = '[tool.ruff]\nline-length = 79\n\n[tool.ruff.lint]\nignore = ["E731"]\n'
    repo = make_repo()
    repo.commit({"pyproject.toml": config, "pkg/__init__.py": "", "pkg/m.py": "X = 1\n"})
    repo.commit(
        {
            "pkg/m.py": "import os\n\nX = dict(a=1)\nf = lambda: 1\n\n\ndef lo(a, b):\n"
            "    if a < b:\n        b = a\n    return b\n"
        }
    )
    # The unused import is still one (F401, a classic rule); E731 stays ignored as configured.
    assert rules(review_repo(repo, analyzers=[RuffAnalyzer()])) == [("pkg/m.py", 1, "ruff/F401")]


def test_pinning_the_classic_rules_edits_only_configs_that_choose_none():
    classic = b'select = ["E4", "E7", "E9", "F"]'
    assert classic in pin_classic_rules("pyproject.toml", b'[tool.ruff.lint]\nignore = ["E731"]\n')
    assert classic in pin_classic_rules("a/ruff.toml", b"line-length = 79\n")
    assert classic in pin_classic_rules("pyproject.toml", b'[tool.ruff.format]\nquote-style = "single"\n')
    for name, data in [
        ("pyproject.toml", b'[tool.ruff.lint]\nselect = ["ALL"]\n'),
        ("pyproject.toml", b'[tool.ruff]\nselect = ["E"]\n'),  # the older top-level spelling
        ("ruff.toml", b'extend = "../pyproject.toml"\n'),  # takes its rules from the base config
        ("pyproject.toml", b"[tool.black]\nline-length = 79\n"),  # no ruff settings
        ("pyproject.toml", b"[tool.ruff\n"),  # does not parse: left for ruff to report
        ("pyproject.toml", b'[tool.ruff]\nlint = { ignore = ["E1"] }\n'),  # no safe place to write
    ]:
        assert pin_classic_rules(name, data) == data


def test_a_test_package_added_with_its_init_is_no_namespace_package(make_repo):
    # jsonschema 460f4fae: a new tests/typing/ package with its __init__.py, under select ALL.
    config = '[tool.ruff.lint]\nselect = ["INP001", "F"]\n'
    repo = make_repo()
    repo.commit({"pyproject.toml": config, "pkg/__init__.py": "", "pkg/tests/__init__.py": ""})
    repo.commit(
        {"pkg/tests/typing/__init__.py": "", "pkg/tests/typing/test_x.py": "def test_x():\n    pass\n"}
    )
    assert rules(review_repo(repo, analyzers=[RuffAnalyzer()])) == []


# -- bandit: the project's own noqa for the same check ---------------------------------------


def test_bandit_honours_a_noqa_for_the_same_check_under_ruffs_code(make_repo):
    # jsonschema 594e80db: `subprocess.run([sys.executable, ...])` with a noqa comment for S603.
    repo = make_repo()
    repo.commit({"pkg/__init__.py": "", "pkg/run.py": "import subprocess\n"})
    repo.commit(
        {
            "pkg/run.py": "import subprocess\nimport sys\n\n"
            "subprocess.run([sys.executable, '-V'], check=True)  # noqa: S603\n"
            "subprocess.run([sys.argv[1]], check=True)  # noqa: E501\n"
        }
    )
    assert rules(review_repo(repo, analyzers=[BanditAnalyzer()])) == [("pkg/run.py", 5, "bandit/B603")]


def test_a_noqa_waives_only_the_check_it_names_and_only_in_a_comment():
    def waived(code: str) -> bool:
        item = {"test_id": "B603", "line_number": 3, "line_range": [3], "code": f"3 {code}\n"}
        return waived_by_noqa(item, python_comments(f"import x\n\n{code}\n".encode()))

    assert waived("run(x)  # noqa: S603")
    assert waived("run(x)  # noqa: E501, S603")
    assert not waived("run(x)  # noqa: S607")
    assert not waived("run(x)  # noqa")  # bare: may be about style only
    assert not waived("run('grep x # noqa: S603', shell=True)")  # inside a string: no comment


def test_a_line_separator_inside_a_source_line_loses_no_bandit_finding(make_repo):
    # U+2028 splits a line for str.splitlines but not for Python: bandit's excerpt must still parse.
    repo = make_repo()
    repo.commit({"pkg/__init__.py": "", "pkg/run.py": "import subprocess\n"})
    repo.commit(
        {
            "pkg/run.py": "import subprocess\n\n\ndef f(user):\n    subprocess.call('grep ' + user, shell=True)\n"
            "    note = '\u2028\u00b2 hi'\n    return note\n"
        }
    )
    assert rules(review_repo(repo, analyzers=[BanditAnalyzer()])) == [("pkg/run.py", 5, "bandit/B602")]


# -- secrets: credentials in URLs of hosts reserved for examples -----------------------------


def test_url_credentials_of_reserved_example_hosts_are_not_secrets(make_repo):
    # urllib3 5cf02470: URL-parsing test cases such as "http://user%40email:pass%2Fword@example.com/".
    repo = make_repo()
    repo.commit({"test/test_util.py": "CASES = []\n", "app/settings.py": "X = 1\n"})
    repo.commit(
        {
            "test/test_util.py": "CASES = [\n"
            '    ("http://user%40email:pass%2Fword@example.com/", ("user@email", "pass/word")),\n'
            '    ("http://alice:Zq8v3LpW2x@localhost:8080/", ("alice", "Zq8v3LpW2x")),\n'
            "]\n",
            "app/settings.py": 'DATABASE_URL = "postgresql://svc:Zq8v3LpW2xTq9@db.internal.corp:5432/app"\n',
        }
    )
    found = rules(review_repo(repo, analyzers=[SecretsAnalyzer()]))
    assert [path for path, _, _ in found] == ["app/settings.py"]


# -- tests, docs and placeholders: harnesses, task files, export lists, dataclasses --------


def test_fuzz_harnesses_and_task_files_are_not_shipped_code(make_repo):
    # python-multipart b2ddd098 (fuzz/ targets with no-op parser callbacks) and jsonschema
    # a4d2dc75 (noxfile.py): no tests asked for, no stubs, no public API.
    repo = make_repo()
    repo.commit(
        {
            "pkg/__init__.py": "",
            "pkg/core.py": "def parse(data, cb):\n    cb(data)\n",
            "noxfile.py": "def lint(session):\n    session.run('ruff')\n",
            "fuzz/fuzz_form.py": "def fuzz_old(data):\n    return data\n",
        }
    )
    repo.commit(
        {
            # Names removed and added: docs drift, were these shipped modules.
            "fuzz/fuzz_form.py": "def _on_field(field):\n    pass\n\n\ndef fuzz_form(data):\n    return data\n",
            "noxfile.py": "import nox\n\n\n@nox.session\ndef tests(session):\n    session.run('pytest')\n",
        }
    )
    analyzers = [TestsSignalAnalyzer(), PlaceholderAnalyzer(), DocsDriftAnalyzer()]
    assert rules(review_repo(repo, analyzers=analyzers)) == []


def test_sorting_all_and_retyping_signatures_in_a_dataclass_module_change_no_behaviour(make_repo):
    # more-itertools cb75bb9c (`__all__` sorted) and tenacity ac9c21fc (`t.Optional["X"]` to
    # `"X | None"` in signatures of a module that imports dataclasses).
    base = (
        "import dataclasses\nimport typing as t\n\n__all__ = ['b', 'a']\n\n\n"
        "@dataclasses.dataclass\nclass A:\n    x: int = 0\n\n\n"
        "def a(x: t.Optional['A']) -> t.Union['A', None]:\n    return x\n\n\nb = a\n"
    )
    head = base.replace("['b', 'a']", "[\n    'a',\n    'b',\n]").replace(
        "x: t.Optional['A']) -> t.Union['A', None]", "x: 'A | None') -> 'A | None'"
    )
    repo = make_repo()
    repo.commit({"pkg/__init__.py": "", "pkg/m.py": base, "tests/test_m.py": "def test():\n    pass\n"})
    repo.commit({"pkg/m.py": head})
    assert rules(review_repo(repo, analyzers=[TestsSignalAnalyzer()])) == []
    # A field's annotation is read by the dataclass: changing it is behaviour.
    repo.commit({"pkg/m.py": head.replace("    x: int = 0", "    x: float = 0")})
    assert rules(review_repo(repo, analyzers=[TestsSignalAnalyzer()])) == [
        ("pkg/m.py", None, "tests/no-test-change")
    ]


def test_an_init_a_dataclass_now_writes_is_no_removed_api_and_a_release_note_fragment_is_docs(make_repo):
    # packaging 3c6e2aab (hand-written keyword-only __init__ replaced by kw_only=True) and
    # tenacity 1106b9a1 (a reno note in releasenotes/notes/ with the change).
    base = (
        "import dataclasses\n\n\n@dataclasses.dataclass(frozen=True, init=False)\nclass Info:\n"
        "    url: str\n\n    def __init__(self, *, url: str) -> None:\n"
        "        object.__setattr__(self, 'url', url)\n"
    )
    head = "import dataclasses\n\n\n@dataclasses.dataclass(frozen=True, kw_only=True)\nclass Info:\n    url: str\n"
    repo = make_repo()
    repo.commit({"src/pkg/__init__.py": "", "src/pkg/info.py": base})
    repo.commit({"src/pkg/info.py": head})
    assert rules(review_repo(repo, analyzers=[DocsDriftAnalyzer()])) == []

    noted = make_repo()
    noted.commit({"src/pkg/__init__.py": "", "src/pkg/wait.py": "def wait(initial=1):\n    return initial\n"})
    noted.commit(
        {
            "src/pkg/wait.py": "def wait(initial=1, multiplier=1):\n    return initial * multiplier\n",
            "releasenotes/notes/multiplier-1b2c3d.yaml": "features:\n  - wait() takes a multiplier.\n",
        }
    )
    assert rules(review_repo(noted, analyzers=[DocsDriftAnalyzer()])) == []


# Older than any ruff swarm allows (pyproject.toml: ruff>=0.12), so the test holds for the
# lowest version CI installs as for the newest.
_PRE_COMMIT = (
    "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n"
    '    rev: "v0.1.0"\n    hooks:\n      - id: ruff\n'
)


def test_rules_newer_than_the_projects_pinned_ruff_are_not_reported(make_repo):
    # jsonschema 594e80db and 460f4fae: select ALL under a pre-commit pin of an older ruff (0.12.12);
    # CPY001 became stable in 0.16.0, and the newer ruff calls the pinned release's needed noqa unused.
    from swarm_core.analyzers.lint import ruff_binary
    from swarm_core.analyzers.ruff_version import stable_since

    config = '[tool.ruff.lint]\nselect = ["CPY001", "F", "RUF100"]\n'
    change = {"pkg/bench.py": "import os  # noqa: F401\nimport sys  # noqa: S603\n\nARGS = sys.argv\n"}
    pinned = make_repo()
    pinned.commit({"pyproject.toml": config, ".pre-commit-config.yaml": _PRE_COMMIT, "pkg/__init__.py": ""})
    pinned.commit(change)
    assert rules(review_repo(pinned, analyzers=[RuffAnalyzer()])) == []

    unpinned = make_repo()
    unpinned.commit({"pyproject.toml": config, "pkg/__init__.py": ""})
    unpinned.commit(change)
    # CPY001 is a preview rule (never reported) in the ruff releases before it became stable.
    copyright_rule = [("pkg/bench.py", 1, "ruff/CPY001")] if "CPY001" in stable_since(ruff_binary()) else []
    assert rules(review_repo(unpinned, analyzers=[RuffAnalyzer()])) == [
        *copyright_rule,
        ("pkg/bench.py", 2, "ruff/RUF100"),
    ]


# -- what the change says it is ------------------------------------------------------------------


def test_a_local_range_is_titled_as_github_would_title_its_pull_request(make_repo):
    from swarm_core.changeset import from_git
    from tests.conftest import git

    repo = make_repo()
    base = repo.commit({"m.py": "x = 1\n"})
    repo.commit({"m.py": "x = 2\n"}, message="Speed up x (#12)\n\nA longer story.")
    change = from_git(repo.path, base, "HEAD")
    assert (change.title, change.description) == ("Speed up x (#12)", "A longer story.")

    # A merged pull request: its title is the merge commit's body's first line.
    repo.branch("topic")
    repo.commit({"m.py": "x = 3\n"}, message="wip")
    repo.commit({"m.py": "x = 4\n"}, message="more wip")
    git(repo.path, "checkout", "-q", "-")
    main = git(repo.path, "rev-parse", "HEAD").strip()
    git(
        repo.path,
        "merge",
        "-q",
        "--no-ff",
        "topic",
        "-m",
        "Merge pull request #7 from a/topic\n\nSort `__all__`",
    )
    merged = from_git(repo.path, main, "HEAD")
    assert merged.title == "Sort `__all__`"
    # Several commits have no single title.
    assert from_git(repo.path, base, "topic").title == ""


def test_a_change_titled_as_keeping_behaviour_is_not_asked_for_tests(make_repo):
    # python-multipart d1b57392 "Speed up partial-boundary tail scan via `bytes.find`" and
    # more-itertools 32652582 "Small speedup for minmax()": the existing tests are the proof.
    faster = "def find(data, b):\n    return data.find(b)\n"
    for title, expected in [
        ("Speed up the tail scan via bytes.find (#281)", []),
        ("perf(scan): use bytes.find", []),
        ("Fix the tail scan (#280)", [("pkg/scan.py", None, "tests/no-test-change")]),
        ("Speed up and fix the tail scan", [("pkg/scan.py", None, "tests/no-test-change")]),
    ]:
        repo = make_repo()
        repo.commit(
            {
                "pkg/__init__.py": "",
                "pkg/scan.py": "def find(data, b):\n    for i, c in enumerate(data):\n"
                "        if c == b:\n            return i\n    return -1\n",
                "tests/test_scan.py": "def test_find():\n    pass\n",
            }
        )
        repo.commit({"pkg/scan.py": faster}, message=title)
        assert rules(review_repo(repo, analyzers=[TestsSignalAnalyzer()])) == expected, title


def test_docs_drift_is_about_names_users_lose_or_must_call_differently(make_repo):
    # more-itertools 18d98893 added serialize.send/throw/close (documented in docstrings and the
    # release notes): new names alone are no drift. uvicorn 52b3ec62 removed
    # Config.setup_event_loop: that is, and the names added beside it are listed.
    repo = make_repo()
    repo.commit({"src/pkg/__init__.py": "", "src/pkg/more.py": "def serialize(it):\n    return it\n"})
    repo.commit(
        {"src/pkg/more.py": "def serialize(it):\n    return it\n\n\ndef send(it, v):\n    return v\n"}
    )
    assert rules(review_repo(repo, analyzers=[DocsDriftAnalyzer()])) == []

    repo.commit(
        {"src/pkg/more.py": "def serialize(it):\n    return it\n\n\ndef factory():\n    return send\n"}
    )
    found = review_repo(repo, analyzers=[DocsDriftAnalyzer()]).findings
    assert [f.rule for f in found] == ["docs/public-api-drift"]
    assert "added factory; removed send" in found[0].message


def test_a_credential_guess_in_a_test_file_does_not_block_but_a_vendor_token_there_does(make_repo):
    # Test suites pass made-up passwords on purpose (urllib3's and httpcore's tests): a keyword
    # guess there is MEDIUM, shown but not blocking; a vendor's token is a leak anywhere.
    repo = make_repo()
    repo.commit({"tests/test_auth.py": "X = 1\n", "app/auth.py": "X = 1\n"})
    repo.commit(
        {
            "tests/test_auth.py": 'DB_PASSWORD = "Zq8v3LpW2xTq9rS4"\n',
            "app/auth.py": 'DB_PASSWORD = "Zq8v3LpW2xTq9rS4"\n',
        }
    )
    found = {f.path: f.severity.value for f in review_repo(repo, analyzers=[SecretsAnalyzer()]).findings}
    assert found == {"tests/test_auth.py": "medium", "app/auth.py": "high"}

    vendor = make_repo()
    vendor.commit({"tests/test_aws.py": "X = 1\n"})
    vendor.commit({"tests/test_aws.py": 'KEY = "AKIAQWERTYUIOPASDFGH"\n'})
    severities = [f.severity.value for f in review_repo(vendor, analyzers=[SecretsAnalyzer()]).findings]
    assert severities and all(s in ("high", "critical") for s in severities)


# -- what the fresh-eyes review of these classes found ------------------------------------------


def test_a_vendor_token_is_reported_whatever_url_or_file_holds_it(make_repo):
    token = "ghp_" + "4kQzR8sT2uVw6xYz0aBc3dEf5gHi7jKl9mNo"
    repo = make_repo()
    repo.commit({"docs/ci.md": "# CI\n", "tests/test_ci.py": "X = 1\n"})
    repo.commit(
        {
            "docs/ci.md": f"# CI\n\n    git clone https://x-access-token:{token}@example.com/org/repo.git\n",
            "tests/test_ci.py": f'TOKEN = "{token}"\n',
        }
    )
    found = review_repo(repo, analyzers=[SecretsAnalyzer()]).findings
    assert {f.path for f in found} == {"docs/ci.md", "tests/test_ci.py"}
    assert all(f.severity.value in ("high", "critical") for f in found)


def test_scripts_are_no_fixtures_and_a_copy_in_an_example_url_silences_nothing(make_repo):
    repo = make_repo()
    repo.commit({"scripts/deploy.py": "X = 1\n", "app/settings.py": "X = 1\n"})
    repo.commit(
        {
            "scripts/deploy.py": 'DB = "postgresql://admin:Zq8v3LpW2xTq9@localhost:5432/prod"\n',
            "app/settings.py": 'DB = "postgresql://svc:Zq8v3LpW2xTq9@db.internal.corp:5432/app"'
            '  # like "postgresql://svc:Zq8v3LpW2xTq9@db.example/app"\n',
        }
    )
    found = {f.path: f.severity.value for f in review_repo(repo, analyzers=[SecretsAnalyzer()]).findings}
    assert found == {"scripts/deploy.py": "high", "app/settings.py": "high"}


def test_pinning_the_classic_rules_reads_crlf_and_bom_configs():
    crlf = b'[tool.ruff]\r\nline-length = 79\r\n\r\n[tool.ruff.lint]\r\nignore = ["E731"]\r\n'
    assert b'select = ["E4", "E7", "E9", "F"]' in pin_classic_rules("pyproject.toml", crlf)
    bom = b'\xef\xbb\xbfline-length = 79\r\n[lint]\r\nignore = ["E1"]\r\n'
    assert b'select = ["E4", "E7", "E9", "F"]' in pin_classic_rules("ruff.toml", bom)


def test_a_keyword_only_dataclass_init_replacing_a_positional_one_is_a_removed_signature(make_repo):
    base = "import dataclasses\n\n\n@dataclasses.dataclass(init=False)\nclass Info:\n    url: str\n\n"
    base += "    def __init__(self, url):\n        self.url = url\n"
    repo = make_repo()
    repo.commit({"src/pkg/__init__.py": "", "src/pkg/info.py": base})
    repo.commit(
        {
            "src/pkg/info.py": "import dataclasses\n\n\n@dataclasses.dataclass(kw_only=True)\nclass Info:\n    url: str\n"
        }
    )
    found = review_repo(repo, analyzers=[DocsDriftAnalyzer()]).findings
    assert [f.rule for f in found] == ["docs/public-api-drift"]
    assert "removed Info.__init__" in found[0].message


def test_a_missing_comma_in_all_and_a_retyped_singledispatch_are_behaviour(make_repo):
    base = "__all__ = ['a', 'b']\n\n\ndef a():\n    pass\n\n\ndef b():\n    pass\n"
    repo = make_repo()
    repo.commit({"pkg/__init__.py": "", "pkg/m.py": base, "tests/test_m.py": "def test():\n    pass\n"})
    repo.commit({"pkg/m.py": base.replace("'a', 'b'", "'a' 'b'")})
    assert rules(review_repo(repo, analyzers=[TestsSignalAnalyzer()])) == [
        ("pkg/m.py", None, "tests/no-test-change")
    ]

    dispatch = (
        "import dataclasses\nimport functools\n\n\n@functools.singledispatch\ndef show(x):\n    return x\n\n\n"
        "@show.register\ndef _(x: int):\n    return str(x)\n"
    )
    other = make_repo()
    other.commit({"pkg/__init__.py": "", "pkg/m.py": dispatch, "tests/test_m.py": "def test():\n    pass\n"})
    other.commit({"pkg/m.py": dispatch.replace("x: int", "x: float")})
    assert rules(review_repo(other, analyzers=[TestsSignalAnalyzer()])) == [
        ("pkg/m.py", None, "tests/no-test-change")
    ]


def test_a_title_that_names_a_change_keeps_the_finding_whatever_its_type():
    from swarm_core.analyzers.intent import keeps_behaviour

    assert keeps_behaviour("refactor: replace deprecated typing constructs (#616)")
    assert keeps_behaviour("Small speedup for minmax()")
    for title in (
        "refactor: fix auth bypass",
        "chore: drop python 3.8",
        "Sort results by date",
        "Rename --foo to --bar",
        "",
    ):
        assert not keeps_behaviour(title), title


def test_preview_is_read_from_ruffs_own_settings_only(make_repo, tmp_path):
    from swarm_core.analyzers.base import AnalyzerContext
    from swarm_core.analyzers.project import enables_ruff_preview
    from swarm_core.changeset import from_git
    from swarm_core.config import SwarmConfig

    cases = [
        ({"pyproject.toml": "[tool.ruff.lint]\npreview = true\n"}, True),
        ({"pyproject.toml": "\ufeff[tool.ruff]\npreview = true\n"}, True),  # a byte-order mark first
        ({"ruff.toml": "[lint]\npreview = true\n"}, True),
        ({"pyproject.toml": "[tool.black]\npreview = true\n[tool.ruff.format]\npreview = true\n"}, False),
    ]
    for files, expected in cases:
        repo = make_repo()
        repo.commit({**files, "m.py": "x = 1\n"})
        repo.commit({"m.py": "x = 2\n"})
        change = from_git(repo.path, "HEAD~1", "HEAD")
        ctx = AnalyzerContext(change, change.diff.files, SwarmConfig(), tmp_path)
        assert enables_ruff_preview(ctx, list(files)) is expected, files
