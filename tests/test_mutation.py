"""The mutation gate's pure parts: each operator, the planner, the sandbox, the config and the report."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from swarm_core import ConfigError, MutationError, from_patch, parse_config
from swarm_core.config import MutationConfig
from swarm_core.mutation import (
    ChangedFile,
    GateResult,
    Mutant,
    Outcome,
    apply,
    changed_files,
    gate_findings,
    gate_markdown,
    mutants_in,
    plan,
    refusal,
    scrubbed_environment,
    spread,
)
from swarm_core.mutation.coverage import coverage_command, executed_lines


def _edits(source: str, lines: set[int] | None = None) -> list[tuple[int, str, str, str]]:
    wanted = lines if lines is not None else set(range(1, source.count("\n") + 2))
    return [(m.line, m.operator, m.original, m.replacement) for m in mutants_in("m.py", source, wanted)]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("x > y", [(">", ">=")]),
        ("x >= y", [(">=", ">")]),
        ("x < y", [("<", "<=")]),
        ("x <= y", [("<=", "<")]),
        ("x == y", [("==", "!=")]),
        ("x != y", [("!=", "==")]),
        ("x is y", [("is", "is not")]),
        ("x is not y", [("is not", "is")]),
        ("x in y", [("in", "not in")]),
        ("x not in y", [("not in", "in")]),
        ("(x) > (y)  # a > comment", [(">", ">=")]),
        ("a < b <= c", [("<", "<="), ("<=", "<")]),
    ],
)
def test_comparison_operators_flip_at_the_operator_only(code: str, expected: list[tuple[str, str]]) -> None:
    source = f"def f(x, y, a, b, c):\n    return {code}\n"
    found = [(o, r) for _, op, o, r in _edits(source) if op == "comparison"]
    assert found == expected


@pytest.mark.parametrize(
    ("line", "operator", "original", "replacement", "after"),
    [
        ("ok = a and b", "boolean", "and", "or", "ok = a or b"),
        ("ok = a or b", "boolean", "or", "and", "ok = a and b"),
        ("ok = not a", "boolean", "not ", "", "ok = a"),
        ("ok = not(a)", "boolean", "not", "", "ok = (a)"),
        ("n = a + b", "arithmetic", "+", "-", "n = a - b"),
        ("n = a - b", "arithmetic", "-", "+", "n = a + b"),
        ("a += b", "arithmetic", "+=", "-=", "a -= b"),
        ("a -= b", "arithmetic", "-=", "+=", "a += b"),
        ("n = 0", "constant", "0", "1", "n = 1"),
        ("n = 1", "constant", "1", "0", "n = 0"),
        ("n = 41", "constant", "41", "42", "n = 42"),
        ("ok = True", "constant", "True", "False", "ok = False"),
        ("ok = False", "constant", "False", "True", "ok = True"),
        ("s = 'text'", "constant", "'text'", '""', 's = ""'),
        ("return a", "return", "a", "None", "return None"),
        ("save(a, b)", "call", "save(a, b)", "pass", "pass"),
    ],
)
def test_each_operator_edits_the_source_in_place(
    line: str, operator: str, original: str, replacement: str, after: str
) -> None:
    source = f"def f(a, b):\n    {line}  # kept\n    return\n"
    mutants = [m for m in mutants_in("m.py", source, {2}) if m.operator == operator]
    assert [(m.original, m.replacement) for m in mutants] == [(original, replacement)]
    assert apply(source, mutants[0]) == f"def f(a, b):\n    {after}  # kept\n    return\n"


def test_only_changed_lines_inside_functions_are_mutated() -> None:
    source = (
        "LIMIT = 3\n"  # 1: module level: never
        "def f(x):\n"
        '    """A docstring."""\n'  # 3: a docstring: never
        "    if x > LIMIT:\n"  # 4: changed
        "        return x + 1\n"  # 5: not changed
        "    raise ValueError('too small')\n"  # 6: changed, a message: quiet
        "def g(x: 'T') -> int:\n"
        "    y: 'Q' = 0  # pragma: no mutate\n"  # 8: opted out
        "    log.info('x=%s', x)\n"  # 9: a call statement; its string is quiet
        "    return f'{x}' == 'a'\n"  # 10: f-string parts are not mutated
    )
    assert _edits(source, {1, 3, 4, 6, 8, 9, 10}) == [
        (4, "comparison", ">", ">="),
        (9, "call", "log.info('x=%s', x)", "pass"),
        (10, "return", "f'{x}' == 'a'", "None"),
        (10, "comparison", "==", "!="),
        (10, "constant", "'a'", '""'),
    ]


def test_nested_functions_are_mutated_once_and_their_docstrings_never() -> None:
    source = (
        "def outer(x):\n"
        "    def inner(y):\n"
        '        """Inner docstring."""\n'
        "        return y + 1\n"
        "    class Local:\n"
        '        """Class docstring."""\n'
        "    return inner(x)\n"
    )
    assert _edits(source) == [
        (4, "return", "y + 1", "None"),
        (4, "arithmetic", "+", "-"),
        (4, "constant", "1", "0"),
        (7, "return", "inner(x)", "None"),
    ]


def test_a_multi_line_expression_is_mutated_on_the_line_of_its_operator() -> None:
    source = "def f(x):\n    return (x\n            >= 2)\n"
    assert _edits(source, {3}) == [(3, "comparison", ">=", ">"), (3, "constant", "2", "3")]
    assert _edits(source, {2}) == [(2, "return", "x\n            >= 2", "None")]


def test_every_mutant_parses_and_a_file_that_does_not_has_none() -> None:
    assert mutants_in("m.py", "def f(:\n    return 1\n", {2}) == []
    source = "def f(a, b):\n    return -a + b * (not a) if a is not None and b else [a < b, a == 0]\n"
    mutants = mutants_in("m.py", source, {2})
    assert [m.original for m in mutants] == [source[24:-1], "+", "not ", "is not", "and", "<", "==", "0"]
    for m in mutants:
        ast.parse(apply(source, m))
    assert mutants == sorted(mutants, key=lambda m: (m.start, m.end, m.replacement))  # deterministic order


def test_descriptions_quote_code_safely() -> None:
    m = Mutant("m.py", 1, 0, 1, "`x` > y", ">=", "comparison")
    assert m.description == "`` `x` > y `` becomes `>=`"
    assert Mutant("m.py", 1, 0, 4, "not ", "", "boolean").description == "`not` is removed"
    assert m.plain == '"`x` > y" becomes ">="'
    assert Mutant("m.py", 1, 0, 4, "not ", "", "boolean").plain == '"not" is removed'


def _mutants(per_line: dict[int, int], path: str = "a.py") -> list[Mutant]:
    return [
        Mutant(path, line, line * 100 + i, line * 100 + i + 1, "x", "y", "constant")
        for line, n in per_line.items()
        for i in range(n)
    ]


def test_the_cap_takes_one_mutant_per_line_in_rounds() -> None:
    chosen = spread(_mutants({1: 3, 2: 1, 3: 2}), 4)
    assert [(m.line, m.start) for m in chosen] == [(1, 100), (1, 101), (2, 200), (3, 300)]


def test_the_cap_spreads_over_the_whole_change_not_its_first_lines() -> None:
    chosen = spread(_mutants(dict.fromkeys(range(1, 21), 2)), 5)
    assert [m.line for m in chosen] == [1, 5, 9, 13, 17]
    assert spread(_mutants({1: 2}), 10) == _mutants({1: 2})


def test_the_plan_runs_executed_lines_and_reports_the_others_as_uncovered() -> None:
    source = "def f(x):\n    if x > 1:\n        return 0\n    return x\n"
    files = [ChangedFile("a.py", source, frozenset({2, 3, 4})), ChangedFile("b.py", source, frozenset({2}))]
    result = plan(files, {"a.py": frozenset({1, 2, 4})}, max_mutants=2)
    assert [(m.path, m.line, m.replacement) for m in result.mutants] == [
        ("a.py", 2, ">="),
        ("a.py", 4, "None"),
    ]
    assert result.generated == 7 and result.capped == 1 and result.uncovered_mutants == 4
    assert result.uncovered == {"a.py": (3,), "b.py": (2,)}


def test_changed_files_are_python_sources_with_added_lines_outside_test_paths() -> None:
    patch = (
        "diff --git a/pkg/a.py b/pkg/a.py\nnew file mode 100644\n--- /dev/null\n+++ b/pkg/a.py\n"
        "@@ -0,0 +1,2 @@\n+def f():\n+    return 1\n"
        "diff --git a/tests/test_a.py b/tests/test_a.py\nnew file mode 100644\n--- /dev/null\n"
        "+++ b/tests/test_a.py\n@@ -0,0 +1 @@\n+x = 1\n"
        "diff --git a/README.md b/README.md\nnew file mode 100644\n--- /dev/null\n+++ b/README.md\n"
        "@@ -0,0 +1 @@\n+hi\n"
    )
    change = from_patch(patch.encode(), "p")
    assert changed_files(change, MutationConfig()) == [
        ChangedFile("pkg/a.py", "def f():\n    return 1\n", frozenset({1, 2}))
    ]
    only_tests = MutationConfig(paths={"include": ["tests/**"], "exclude": []})
    assert [f.path for f in changed_files(change, only_tests)] == ["tests/test_a.py"]


def test_the_test_environment_has_no_credentials(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/runner",
        "GITHUB_TOKEN": "ghs_1",
        "GH_TOKEN": "ghs_2",
        "SWARM_INPUT_TOKEN": "ghs_3",
        "ACTIONS_RUNTIME_TOKEN": "rt",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions",
        "ACTIONS_CACHE_URL": "https://cache",
        "OPENAI_API_KEY": "sk-1",
        "AWS_SECRET_ACCESS_KEY": "aws",
        "db_password": "pw",
        "innocent_name": "the-marker-key",
        "GITHUB_REPOSITORY": "o/r",
        "PYTHONPATH": "/extra",
    }
    env = scrubbed_environment(environ, tmp_path, secrets=["the-marker-key", ""])
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/runner",
        "GITHUB_REPOSITORY": "o/r",
        "PYTHONPATH": f"{tmp_path / 'src'}:{tmp_path}:/extra",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def test_pull_request_target_is_refused() -> None:
    why = refusal("pull_request_target")
    assert why is not None and "pull_request_target" in why and "secrets" in why
    assert refusal("pull_request") is None and refusal("local") is None


def test_config_defaults_and_validation() -> None:
    config = parse_config("")
    assert config.mutation.enabled is False and config.mutation.fail_action == "WARN"
    config = parse_config("mutation:\n  enabled: true\n  fail_action: fail\n  max_mutants: 5\n")
    assert config.mutation.fails and config.mutation.max_mutants == 5
    for bad, message in [
        (
            "mutation:\n  fail_action: block\n",
            ".github/swarm.yml:2: mutation.fail_action: Input should be 'FAIL' or 'WARN'",
        ),
        (
            "mutation:\n  max_mutants: 0\n",
            ".github/swarm.yml:2: mutation.max_mutants: Input should be greater than or equal to 1",
        ),
        (
            "mutation:\n  test_command: '  '\n",
            ".github/swarm.yml:2: mutation.test_command: must not be empty",
        ),
        ('mutation:\n  test_command: "pytest \'x"\n', "mutation.test_command: cannot be split into words"),
        ("mutation:\n  timeout_minutes: 0\n", "mutation.timeout_minutes: Input should be greater than 0"),
        (
            "mutation:\n  mutant_timeout_seconds: -1\n",
            "mutation.mutant_timeout_seconds: Input should be greater than 0",
        ),
        ("mutation:\n  path:\n    include: []\n", "mutation.path: unknown key"),
    ]:
        with pytest.raises(ConfigError) as err:
            parse_config(bad)
        assert message in str(err.value)


def test_the_coverage_command_wraps_python_and_python_scripts(tmp_path: Path) -> None:
    data, include = tmp_path / "d", [tmp_path / "a.py"]
    opts = [f"--data-file={data}", f"--include={tmp_path / 'a.py'}"]
    assert coverage_command("python -m pytest -x", data, include) == [
        "python", "-m", "coverage", "run", *opts, "-m", "pytest", "-x"
    ]  # fmt: skip
    assert coverage_command("python3.12 run_tests.py -v", data, include) == [
        "python3.12", "-m", "coverage", "run", *opts, "run_tests.py", "-v"
    ]  # fmt: skip
    script = tmp_path / "bin" / "mytests"
    script.parent.mkdir()
    script.write_text(f"#!{sys.executable}\nprint('hi')\n")
    script.chmod(0o755)
    assert coverage_command("mytests -q", data, include, path=str(script.parent)) == [
        sys.executable, "-m", "coverage", "run", *opts, str(script), "-q"
    ]  # fmt: skip
    (script.parent / "make").write_text("#!/bin/sh\necho\n")
    (script.parent / "make").chmod(0o755)
    for command in ("make test", "nosuchtool", "python -c pass"):
        with pytest.raises(MutationError, match="test_command"):
            coverage_command(command, data, include, path=str(script.parent))


def test_executed_lines_are_read_relative_to_the_copy(tmp_path: Path) -> None:
    report = {
        "files": {
            "pkg/a.py": {"executed_lines": [1, 2]},
            str(tmp_path / "pkg/b.py"): {"executed_lines": [3]},
            "/usr/lib/python3/x.py": {"executed_lines": [1]},
            "pkg/other.py": {"executed_lines": [9]},
        }
    }
    assert executed_lines(report, tmp_path, ["pkg/a.py", "pkg/b.py"]) == {
        "pkg/a.py": frozenset({1, 2}),
        "pkg/b.py": frozenset({3}),
    }
    assert executed_lines({}, tmp_path, ["pkg/a.py"]) == {}


def test_survivors_become_tests_lane_findings_one_per_line_and_uncovered_one_per_file() -> None:
    patch = (
        "diff --git a/a.py b/a.py\nnew file mode 100644\n--- /dev/null\n+++ b/a.py\n"
        "@@ -0,0 +1,5 @@\n+def f(x):\n+    if x > 1:\n+        return 0\n+    return x\n+# end\n"
    )
    change = from_patch(patch.encode(), "p")
    source = "def f(x):\n    if x > 1:\n        return 0\n    return x\n# end\n"
    files = [ChangedFile("a.py", source, frozenset({2, 3, 4}))]
    chosen = plan(files, {"a.py": frozenset({1, 2})}, 10)
    gt, one = chosen.mutants
    result = GateResult(
        "ran", "python -m pytest", plan=chosen,
        outcomes=(Outcome(gt, "survived", 0.1), Outcome(one, "survived", 0.1)),
    )  # fmt: skip
    findings = gate_findings(result, change)
    assert [(f.path, f.line, f.rule, f.lane.value, f.title, f.anchored) for f in findings] == [
        ("a.py", 2, "tests/mutation-survived", "tests", 'Tests still pass when ">" becomes ">=" here', True),
        ("a.py", 3, "tests/mutation-uncovered", "tests", "2 changed line(s) of a.py run in no test", True),
    ]
    survived = findings[0]
    assert "They also pass when `1` becomes `0`." in survived.message and "boundary" in survived.message
    assert survived.evidence == "    if x > 1:" and len(survived.fingerprint) == 20
    assert "line(s) 3-4 of a.py" in findings[1].message
    text = gate_markdown(result)
    assert "Mutation score of the change: 0% (0 of 2 mutants killed, 2 survived)" in text
    assert "| 5 | 2 | 0 | 2 | 0 | 2 | 0 | 0 |" in text
    assert "Executed: `python -m pytest` once under `coverage run`" in text
    assert "- `a.py:2` `>` becomes `>=`" in text and "- `a.py`: 3-4" in text
    assert "<details><summary>Every mutant run (2)</summary>" in text
    assert "- `a.py:2` `1` becomes `0`: survived, 0.1 s" in text
    refused = GateResult("refused", "python -m pytest", refusal("pull_request_target") or "")
    assert gate_findings(refused, change) == ()
    assert "**refused**: the mutation gate does not run on `pull_request_target`" in gate_markdown(refused)


def test_an_operator_in_a_comment_is_not_the_one_mutated() -> None:
    from swarm_core.mutation.operators import _operator_in_gap

    source = "def f(x, y):\n    return (x  # is > here\n            > y)\n"
    assert _edits(source, {2, 3}) == [
        (2, "return", "x  # is > here\n            > y", "None"),
        (3, "comparison", ">", ">="),
    ]
    assert _operator_in_gap("a  # > b\n", 1, 9, ">") is None
    assert mutants_in("m.py", "def f():\n    return 1\n", set()) == []
    assert mutants_in("m.py", "def f():\n    return 1\n", {99}) == []


def test_constants_without_a_mutant() -> None:
    source = "def f():\n    a = None\n    b = b'x'\n    c = 1.5\n    d = ''\n    return\n"
    assert _edits(source) == []


def test_the_gate_changes_the_review_and_its_conclusion() -> None:
    from swarm_core import Review, SwarmConfig, Verdict, merge
    from swarm_core.models import Lane, LaneResult, LaneStatus
    from swarm_core.mutation import gate_fails, with_gate

    patch = (
        "diff --git a/a.py b/a.py\nnew file mode 100644\n--- /dev/null\n+++ b/a.py\n"
        "@@ -0,0 +1,2 @@\n+def f(x):\n+    return x > 1\n"
    )
    change = from_patch(patch.encode(), "p")
    chosen = plan(
        [ChangedFile("a.py", "def f(x):\n    return x > 1\n", frozenset({2}))], {"a.py": frozenset({2})}, 1
    )
    result = GateResult(
        "ran", "python -m pytest", plan=chosen, outcomes=(Outcome(chosen.mutants[0], "survived", 0.1),)
    )
    lanes = (
        LaneResult(Lane.TESTS, LaneStatus.DETERMINISTIC),
        LaneResult(Lane.SECURITY, LaneStatus.DETERMINISTIC),
    )
    review = Review("p", None, None, Verdict.APPROVE, (), (), lanes, 1, 2, 0)
    gated = with_gate(review, result, change)
    assert [f.rule for f in gated.findings] == ["tests/mutation-survived"]
    assert [len(lane.findings) for lane in gated.lanes] == [1, 0]
    assert gated.verdict is Verdict.APPROVE_WITH_NOTES
    assert gated.notes == (
        "Mutation score of the change: 0% (0 of 1 mutants killed, 1 survived); 0 changed line(s) run in no test.",
    )
    warn, fail = SwarmConfig(), merge(SwarmConfig(), {"mutation": {"fail_action": "FAIL"}})
    assert (gate_fails(gated, warn), gate_fails(gated, fail), gate_fails(review, fail)) == (
        False,
        True,
        False,
    )
    killed = GateResult("ran", "c", plan=chosen, outcomes=(Outcome(chosen.mutants[0], "timeout", 3.0),))
    assert with_gate(review, killed, change).findings == () and killed.score == 1.0
    broken = with_gate(review, GateResult("broken", "c", "the tests fail\nwith details"), change)
    assert broken.notes == ("Mutation gate broken: the tests fail",) and broken.verdict is Verdict.APPROVE


def test_a_checkout_that_keeps_the_jobs_token_in_git_config_is_refused(tmp_path: Path) -> None:
    from swarm_core.mutation.sandbox import refusal

    (tmp_path / ".git").mkdir()
    config = tmp_path / ".git" / "config"
    config.write_text('[core]\n\tbare = false\n[remote "origin"]\n\turl = https://github.com/o/r\n')
    assert refusal("pull_request", tmp_path) is None
    # What actions/checkout writes with persist-credentials (its default).
    config.write_text(
        config.read_text()
        + '[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic eC1hY2Nlc3M=\n'
    )
    why = refusal("pull_request", tmp_path)
    assert why is not None and "persist-credentials: false" in why


def test_the_tests_do_not_see_the_checkout_path_and_the_gate_hides_its_own_environment(
    tmp_path: Path,
) -> None:
    import subprocess

    from swarm_core.mutation.sandbox import scrubbed_environment

    env = scrubbed_environment({"GITHUB_WORKSPACE": "/home/runner/work/r/r", "PATH": "/usr/bin"}, tmp_path)
    assert "GITHUB_WORKSPACE" not in env and env["PATH"] == "/usr/bin"
    # In a fresh process: after hide_own_environment the process is not dumpable, so a test
    # running as the same (unprivileged) user cannot read /proc/<its parent>/environ.
    probe = (
        "import ctypes; from swarm_core.mutation.sandbox import hide_own_environment; "
        "libc = ctypes.CDLL(None); print(libc.prctl(3, 0, 0, 0, 0)); hide_own_environment(); "
        "print(libc.prctl(3, 0, 0, 0, 0))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1", "0"]
