"""Each analyzer on real changes in a git repository: what the change introduces, and nothing else."""

from __future__ import annotations

import asyncio

import pytest

from swarm_core.analyzers import AnalyzerContext, run_analyzers
from swarm_core.analyzers.change_signals import TestsSignalAnalyzer
from swarm_core.analyzers.complexity import ComplexityAnalyzer
from swarm_core.analyzers.dependencies import parse_manifest
from swarm_core.analyzers.docs_drift import DocsDriftAnalyzer
from swarm_core.analyzers.placeholders import PlaceholderAnalyzer
from swarm_core.analyzers.sast import BanditAnalyzer, SemgrepAnalyzer
from swarm_core.analyzers.syntax import SyntaxAnalyzer
from swarm_core.changeset import from_git
from swarm_core.config import SwarmConfig, merge
from swarm_core.errors import AnalyzerError
from swarm_core.models import AnalyzerStatus, Finding, Lane, Severity
from tests.helpers import only, review_repo, rules

BROKEN = {
    "a.py": "def f(:\n    return 1\n",
    "a.js": "function f( {\n  return 1;\n}\n",
    "a.ts": "const x: number = ;\n",
    "a.tsx": "const e = <div>{</div>;\n",
    "a.go": "package main\nfunc main() {\n  x := \n}\n",
    "a.rs": "fn main() { let x = ; }\n",
    "A.java": "class A { void m() { int x = ; } }\n",
    "a.rb": "def m\n  if x\nend\n",
    "a.c": "int main() { return 0 }\n",
    "a.cpp": "int main() { int x = ; }\n",
    "a.cs": "class A { void M() { int x = ; } }\n",
}


def test_syntax_errors_in_every_grammar(make_repo):
    repo = make_repo()
    repo.commit({"README": "x\n"})
    repo.commit(BROKEN)
    review = review_repo(repo, analyzers=[SyntaxAnalyzer()])
    found = {f.path for f in review.findings}
    assert found == set(BROKEN)
    assert all(f.severity is Severity.HIGH and f.lane is Lane.CORRECTNESS for f in review.findings)


def test_syntax_ignores_errors_the_change_did_not_make(make_repo):
    repo = make_repo()
    repo.commit({"a.py": "def f(:\n    return 1\n\n\nx = 1\n"})
    repo.commit({"a.py": "def f(:\n    return 1\n\n\nx = 2\n"})
    assert review_repo(repo, analyzers=[SyntaxAnalyzer()]).findings == ()


def test_syntax_reports_breakage_outside_added_lines(make_repo):
    repo = make_repo()
    repo.commit({"a.js": "function f() {\n  return 1;\n}\n"})
    repo.commit({"a.js": "function f() {\n  return 1;\n"})  # a deleted brace breaks the function
    (finding,) = review_repo(repo, analyzers=[SyntaxAnalyzer()]).findings
    assert finding.rule == "syntax/parse-error" and finding.path == "a.js"


def test_valid_code_in_every_grammar_is_clean(make_repo):
    repo = make_repo()
    repo.commit({"README": "x\n"})
    repo.commit(
        {
            "ok.py": "def f(x):\n    return x\n",
            "ok.ts": "export const f = (x: number): number => x;\n",
            "ok.go": "package main\n\nfunc main() {}\n",
            "ok.rs": "fn main() {}\n",
            "Ok.java": "class Ok {}\n",
        }
    )
    assert review_repo(repo, analyzers=[SyntaxAnalyzer()]).findings == ()


def test_placeholders(make_repo):
    repo = make_repo()
    repo.commit({"README": "x\n"})
    repo.commit(
        {
            "p.py": (
                "import abc\n\n\n"
                "def todo():\n    # TODO: finish\n    return 1\n\n\n"
                "def stub():\n    raise NotImplementedError\n\n\n"
                "def empty():\n    pass\n\n\n"
                "class Base(abc.ABC):\n    @abc.abstractmethod\n    def run(self):\n        raise NotImplementedError\n"
            ),
            "s.rs": "fn later() -> u32 { todo!() }\n",
            "m.js": 'export function pay() {\n  throw new Error("not implemented");\n}\n',
            "run.sh": "#!/bin/sh\n# FIXME: quote this\necho $1\n",
            "notes.md": "TODO: write docs\n",
        }
    )
    review = review_repo(repo, analyzers=[PlaceholderAnalyzer()])
    assert rules(review) == [
        ("m.js", 2, "placeholder/not-implemented"),
        ("p.py", 5, "placeholder/todo-comment"),
        ("p.py", 10, "placeholder/not-implemented"),
        ("p.py", 13, "placeholder/empty-body"),
        ("run.sh", 2, "placeholder/todo-comment"),
        ("s.rs", 1, "placeholder/not-implemented"),
    ]


def test_secrets_are_found_and_redacted(make_repo):
    token = "ghp_" + "wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx"
    repo = make_repo()
    repo.commit({"cfg.py": "x = 1\n", "package-lock.json": "{}\n"})
    repo.commit(
        {
            "cfg.py": f'x = 1\nGITHUB_TOKEN = "{token}"\n',
            "package-lock.json": '{"integrity": "sha512-' + "A1b2C3d4" * 8 + '"}\n',
        }
    )
    review = review_repo(repo)
    (secret,) = only(review, "secrets/")
    assert (secret.path, secret.line, secret.severity) == ("cfg.py", 2, Severity.CRITICAL)
    assert token not in secret.evidence and "redacted" in secret.evidence
    from swarm_core.render import render, render_markdown

    for text in (render(review, "json"), render(review, "sarif"), render_markdown(review)):
        assert token not in text and token[4:] not in text


def test_secret_on_deleted_line_is_not_reported(make_repo):
    repo = make_repo()
    repo.commit({"cfg.py": 'KEY = "AKIAQWERTYUIOPASDFGHJ"\nx = 1\n'})
    repo.commit({"cfg.py": "x = 1\n"})
    assert only(review_repo(repo), "secrets/") == []


def test_bandit_reports_only_changed_lines(make_repo):
    repo = make_repo()
    old = "import subprocess\n\n\ndef a(c):\n    return subprocess.call(c, shell=True)\n"
    repo.commit({"x.py": old, "tests/test_x.py": "def test_x():\n    pass\n"})
    repo.commit(
        {
            "x.py": old + "\n\ndef b(c):\n    return eval(c)\n",
            "tests/test_x.py": "def test_x():\n    assert 1 == 1\n",
        }
    )
    review = review_repo(repo, analyzers=[BanditAnalyzer()])
    assert rules(review) == [("x.py", 9, "bandit/B307")]
    (f,) = review.findings
    assert f.cwe == 94 and f.lane is Lane.SECURITY and "eval" in f.evidence


def test_ruff_reports_new_violations_only(make_repo):
    repo = make_repo()
    repo.commit({"m.py": "import os\n\nx = 1\n"})  # F401 already there
    repo.commit({"m.py": "import os\nimport sys\n\nx = 1\ny = undefined_name\n"})
    review = review_repo(repo)
    assert rules(review, "ruff/") == [("m.py", 2, "ruff/F401"), ("m.py", 5, "ruff/F821")]
    assert only(review, "ruff/F821")[0].severity is Severity.HIGH


def test_ruff_uses_the_base_version_of_the_repo_config(make_repo):
    repo = make_repo()
    repo.commit({"pyproject.toml": '[tool.ruff.lint]\nselect = ["E711"]\n', "m.py": "x = 1\n"})
    # The change tries to switch the rule off; the base config still applies.
    repo.commit(
        {
            "pyproject.toml": '[tool.ruff.lint]\nselect = ["E711"]\nignore = ["E711"]\n',
            "m.py": "x = 1\nif x == None:\n    pass\n",
        }
    )
    assert rules(review_repo(repo), "ruff/") == [("m.py", 2, "ruff/E711")]


def test_dependency_changes_and_a_manifest_without_its_lockfile(make_repo):
    repo = make_repo()
    repo.commit(
        {
            "requirements.txt": "requests==2.31.0\nflask>=2\n",
            "web/package.json": '{"dependencies": {"left-pad": "^1.0.0"}}\n',
            "web/package-lock.json": "{}\n",
            "go.mod": "module m\n\nrequire (\n\tgithub.com/a/b v1.2.0\n)\n",
            "go.sum": "x\n",
        }
    )
    repo.commit(
        {
            "requirements.txt": "requests==3.0.0\nflask>=2\nrich\n",
            "web/package.json": '{"dependencies": {"left-pad": "^1.0.0", "lodash": "^4.17.21"}}\n',
            "go.sum": "y\n",
        }
    )
    review = review_repo(repo)
    # go.sum moved alone: a lock refresh is routine (its versions are the OSV analyzer's job).
    assert rules(review, "deps/") == [
        ("requirements.txt", 1, "deps/major-bump"),
        ("requirements.txt", 3, "deps/added"),
        ("web/package.json", None, "deps/manifest-without-lockfile"),
        ("web/package.json", 1, "deps/added"),
    ]


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        (
            "pyproject.toml",
            '[project]\ndependencies = ["Foo_Bar>=1", "baz[x]==2; python_version>\'3\'"]\n'
            '[project.optional-dependencies]\ndev = ["pytest"]\n',
            {"foo-bar": ">=1", "baz": "==2", "pytest": ""},
        ),
        (
            "pyproject.toml",
            '[tool.poetry.dependencies]\npython = "^3.11"\nclick = {version = "^8"}\n',
            {"click": "^8"},
        ),
        (
            "Cargo.toml",
            '[dependencies]\nserde = "1"\ntokio = { version = "1.2", features = ["full"] }\n',
            {"serde": "1", "tokio": "1.2"},
        ),
        ("go.mod", "module m\nrequire github.com/x/y v0.1.0 // indirect\n", {"github.com/x/y": "v0.1.0"}),
        ("package.json", '{"devDependencies": {"jest": "29"}}', {"jest": "29"}),
        ("requirements-dev.txt", "# c\n-r base.txt\nblack==24.1 # pinned\n", {"black": "==24.1"}),
        ("package.json", "{not json", None),
        ("README.md", "x", None),
    ],
)
def test_manifest_parsers(path, text, expected):
    assert parse_manifest(path, text.encode()) == expected


def test_tests_signal(make_repo):
    repo = make_repo()
    repo.commit(
        {
            "src/calc.py": "def add(a, b):\n    return a + b\n",
            "tests/test_calc.py": "def test_add():\n    assert add(1, 2) == 3\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n",
        }
    )
    repo.commit({"src/calc.py": "def add(a, b):\n    return a + b + 0\n"})
    assert rules(review_repo(repo, analyzers=[TestsSignalAnalyzer()])) == [
        ("src/calc.py", None, "tests/no-test-change")
    ]
    repo.commit({"tests/test_calc.py": "def test_add():\n    pass\n"})
    assert rules(review_repo(repo, analyzers=[TestsSignalAnalyzer()])) == [
        ("tests/test_calc.py", None, "tests/assertions-removed"),
        ("tests/test_calc.py", None, "tests/tests-removed"),
    ]


def test_comment_only_source_change_needs_no_test(make_repo):
    repo = make_repo()
    repo.commit({"a.py": "x = 1\n"})
    repo.commit({"a.py": "# explain x\nx = 1\n"})
    assert review_repo(repo, analyzers=[TestsSignalAnalyzer()]).findings == ()


def test_docs_drift(make_repo):
    repo = make_repo()
    repo.commit({"lib.py": "def keep(a):\n    return a\n\n\ndef gone():\n    return 1\n"})
    repo.commit(
        {
            "lib.py": "def keep(a, b):\n    return a\n\n\ndef _private():\n    return 1\n\n\ndef fresh():\n    return 2\n"
        }
    )
    (f,) = review_repo(repo, analyzers=[DocsDriftAnalyzer()]).findings
    assert f.rule == "docs/public-api-drift"
    assert f.message == (
        "lib.py: added fresh; removed gone; signature changed keep. "
        "Update the docs or CHANGELOG so users learn of it."
    )
    repo.commit({"lib.py": "def keep(a, b, c):\n    return a\n", "CHANGELOG.md": "- keep takes c\n"})
    assert review_repo(repo, analyzers=[DocsDriftAnalyzer()]).findings == ()


def test_complexity_growth(make_repo):
    repo = make_repo()
    repo.commit({"c.py": "def f(x):\n    return x\n"})
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12))
    repo.commit({"c.py": f"def f(x):\n{branches}    return x\n"})
    explicit = {"analyzers": {"complexity": {"threshold": 10}}}
    (f,) = review_repo(repo, overrides=explicit, analyzers=[ComplexityAnalyzer()]).findings
    assert f.title == "Complexity of f() grew from 1 to 13 (threshold 10)" and f.line == 1
    assert f.message.startswith("The limit is set by swarm's analyzers.complexity.threshold.")


# -- the runner ----------------------------------------------------------------------------------
class _Fake:
    """A test analyzer that always runs; subclasses say what `run` does."""

    name = "fake"

    def unavailable(self, ctx):
        return None


class _Slow(_Fake):
    name = "slow"

    async def run(self, ctx):
        await asyncio.sleep(5)
        return []


class _Broken(_Fake):
    name = "broken"

    async def run(self, ctx):
        raise RuntimeError("boom")


class _NoTool(_Fake):
    name = "notool"

    async def run(self, ctx):
        raise AnalyzerError("cannot start notool: not found")


class _Good(_Fake):
    name = "good"

    async def run(self, ctx) -> list[Finding]:
        return [Finding("a.py", 1, Severity.LOW, Lane.CORRECTNESS, "x", "good/x", "ok")]


def test_runner_isolates_timeouts_crashes_and_missing_tools(make_repo, tmp_path):
    repo = make_repo()
    repo.commit({"a.py": "x = 1\n"})
    repo.commit({"a.py": "x = 2\n"})
    change = from_git(repo.path, "HEAD~1", "HEAD")
    ctx = AnalyzerContext(change, change.diff.files, SwarmConfig(), tmp_path)
    events = []
    reports = asyncio.run(
        run_analyzers(
            ctx,
            [_Slow(), _Broken(), _NoTool(), _Good(), SemgrepAnalyzer()],
            timeout=0.3,
            on_event=events.append,
        )
    )
    status = {r.name: (r.status, r.reason) for r in reports}
    assert status["slow"] == (AnalyzerStatus.TIMEOUT, "timed out after 0.3 s")
    assert status["broken"] == (AnalyzerStatus.ERROR, "RuntimeError: boom")
    assert status["notool"] == (AnalyzerStatus.SKIPPED, "cannot start notool: not found")
    assert status["good"][0] is AnalyzerStatus.OK
    assert status["semgrep"] == (
        AnalyzerStatus.SKIPPED,
        "no rules configured (set analyzers.sast.semgrep_rules)",
    )
    assert ("good", "started") in [(e.name, e.state) for e in events]


def test_semgrep_needs_the_binary(make_repo, tmp_path, monkeypatch):
    repo = make_repo()
    repo.commit({"a.py": "x = 1\n"})
    repo.commit({"a.py": "x = 2\n"})
    change = from_git(repo.path, "HEAD~1", "HEAD")
    monkeypatch.setenv("PATH", str(tmp_path))  # no semgrep here
    config = merge(SwarmConfig(), {"analyzers": {"sast": {"semgrep_rules": ["p/python"]}}})
    ctx = AnalyzerContext(change, change.diff.files, config, tmp_path)
    assert SemgrepAnalyzer().unavailable(ctx) == "semgrep is not installed (pip install semgrep)"


def test_private_key_block_is_one_finding_and_fully_redacted(make_repo):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    # A real key, made here: CredSweeper checks a block's structure and turns down a toy one.
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=1024)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        .decode()
    )
    lines = key.splitlines()
    body = lines[1:-1]
    repo = make_repo()
    repo.commit({"README": "x\n"})
    repo.commit({"deploy/id_rsa.pem": key})
    review = review_repo(repo)
    (f,) = only(review, "secrets/private-key")
    assert (f.line, f.end_line, f.severity) == (1, len(lines), Severity.CRITICAL)
    assert f.also_reported_by == ("PEM Private Key (credsweeper)",)
    from swarm_core.render import render

    for fmt in ("json", "sarif", "markdown"):
        text = render(review, fmt)
        assert not any(line in text for line in body)
