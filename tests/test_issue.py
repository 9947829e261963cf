"""Issue analysis: intake on issue texts, stack frames in five languages, localization on a real repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from swarm_core.issue.index import BlobCache, RepoIndex, split_identifier, tokens
from swarm_core.issue.localize import localize
from swarm_core.issue.report import ISSUE_MARKER, issue_to_dict, issue_to_markdown
from swarm_core.issue.symptoms import Frame, parse_frames, parse_issue
from tests.conftest import ROOT

# Excerpt of SWE-bench Verified astropy__astropy-12907 (astropy/astropy issue, MIT-licensed dataset).
ASTROPY_TITLE = (
    "Modeling's `separability_matrix` does not compute separability correctly for nested CompoundModels"
)
ASTROPY_BODY = (
    "Consider the following model:\n\n```python\nfrom astropy.modeling import models as m\n"
    "from astropy.modeling.separable import separability_matrix\n\ncm = m.Linear1D(10) & m.Linear1D(5)\n```\n\n"
    "If however, I nest these compound models:\n```python\n>>> separability_matrix(m.Pix2Sky_TAN() & cm)\n```\n"
    "Suddenly the inputs and outputs are no longer separable?\n"
)

PY_TRACE = """Traceback (most recent call last):
  File "/home/u/proj/run.py", line 3, in <module>
    main()
  File "/usr/lib/python3/site-packages/pkg/core/engine.py", line 41, in main
    return step(x)
  File "/usr/lib/python3/site-packages/pkg/core/steps.py", line 12, in step
    raise ValueError("bad")
ValueError: bad
"""


def test_identifiers_split_and_tokens() -> None:
    assert split_identifier("parse_HTTPResponse") == ["parse", "http", "response"]
    assert split_identifier("separabilityMatrix2") == ["separability", "matrix", "2"] or split_identifier(
        "separabilityMatrix2"
    ) == ["separability", "matrix"]
    assert "separability_matrix" in tokens("call separability_matrix(cm)")
    assert "the" not in tokens("the model")


def test_intake_of_a_real_issue() -> None:
    intake = parse_issue(ASTROPY_TITLE, ASTROPY_BODY)
    assert "separability_matrix" in intake.identifiers
    assert "astropy.modeling.separable" in intake.identifiers
    assert intake.observed.startswith("Consider the following model")
    assert intake.reproduction.startswith("from astropy.modeling import models")
    assert set(intake.missing) == {"expected", "environment"}  # not stated: marked, not invented


def test_sections_by_heading() -> None:
    body = (
        "### Bug\nThe export crashes.\n\n### Expected behavior\nA CSV file.\n\n"
        "### Steps to reproduce\n1. run `tool export`\n\n### Environment\nLinux, Python 3.11\n"
    )
    intake = parse_issue("Export crashes", body)
    assert (intake.observed, intake.expected, intake.reproduction, intake.environment) == (
        "The export crashes.",
        "A CSV file.",
        "1. run `tool export`",
        "Linux, Python 3.11",
    )
    assert intake.missing == ()


def test_stack_frames_in_five_languages() -> None:
    assert parse_frames(PY_TRACE)[-1] == Frame(
        "/usr/lib/python3/site-packages/pkg/core/steps.py", 12, "step", "python"
    )
    js = "TypeError: x is undefined\n    at render (/app/src/view.ts:42:7)\n    at node:internal/main:1:1"
    assert parse_frames(js) == [Frame("/app/src/view.ts", 42, "render", "javascript")]
    java = (
        'Exception in thread "main" java.lang.NullPointerException\n\tat com.acme.Store.load(Store.java:88)'
    )
    assert parse_frames(java) == [Frame("Store.java", 88, "com.acme.Store.load", "java")]
    go = "panic: boom\n\ngoroutine 1 [running]:\nmain.handle(0x1)\n\t/src/app/handler.go:17 +0x1d\n"
    assert parse_frames(go) == [Frame("/src/app/handler.go", 17, "main.handle", "go")]
    rust = "   3: app::parse::read_header\n             at ./src/parse.rs:55:9\n"
    assert parse_frames(rust) == [Frame("./src/parse.rs", 55, "app::parse::read_header", "rust")]


def _repo(make_repo: Any) -> Any:
    repo = make_repo()
    repo.commit(
        {
            "pkg/core/engine.py": "from pkg.core.steps import step\n\n\ndef main(x):\n    return step(x)\n",
            "pkg/core/steps.py": "def step(x):\n    if x < 0:\n        raise ValueError('bad')\n    return x\n",
            "pkg/modeling/separable.py": (
                "def _cstack(left, right):\n    return left\n\n\n"
                "def separability_matrix(model):\n    '''Whether outputs are separable.'''\n    return _cstack(model, model)\n"
            ),
            "pkg/modeling/core.py": "class CompoundModel:\n    '''A compound of models.'''\n",
            "tests/test_separable.py": "from pkg.modeling.separable import separability_matrix\n\n\ndef test_it():\n    separability_matrix(1)\n",
            "docs/modeling.rst": "Separability matrix of compound models.\n",
        }
    )
    return repo


def test_localization_ranks_the_defining_file_first(make_repo: Any) -> None:
    repo = _repo(make_repo)
    index = RepoIndex.from_git(repo.path, "HEAD")
    intake = parse_issue(ASTROPY_TITLE, ASTROPY_BODY)
    loc = localize(intake, ASTROPY_TITLE + "\n" + ASTROPY_BODY, index)
    assert loc.files[0].path == "pkg/modeling/separable.py"
    assert "defines `separability_matrix`" in loc.files[0].evidence
    assert (
        loc.functions[0].name == "separability_matrix"
        and loc.functions[0].path == "pkg/modeling/separable.py"
    )


def test_stack_frames_point_at_the_innermost_repository_file(make_repo: Any) -> None:
    repo = _repo(make_repo)
    index = RepoIndex.from_git(repo.path, "HEAD")
    intake = parse_issue("ValueError from main", PY_TRACE)
    loc = localize(intake, PY_TRACE, index)
    assert [f.path for f in loc.files[:2]] == ["pkg/core/steps.py", "pkg/core/engine.py"]
    assert any(e.startswith("stack frame") for e in loc.files[0].evidence)
    assert loc.functions[0].name == "step" and "in the stack trace" in loc.functions[0].evidence


def test_blob_cache_reuses_unchanged_files(make_repo: Any) -> None:
    repo = _repo(make_repo)
    cache = BlobCache()
    first = RepoIndex.from_git(repo.path, "HEAD", cache)
    repo.commit({"pkg/core/steps.py": "def step(x):\n    return -x\n"})
    second = RepoIndex.from_git(repo.path, "HEAD", cache)
    assert first.docs["pkg/core/engine.py"] is second.docs["pkg/core/engine.py"]
    assert first.docs["pkg/core/steps.py"] is not second.docs["pkg/core/steps.py"]


def test_reports(make_repo: Any) -> None:
    repo = _repo(make_repo)
    intake = parse_issue(ASTROPY_TITLE, ASTROPY_BODY)
    loc = localize(intake, ASTROPY_TITLE + ASTROPY_BODY, RepoIndex.from_git(repo.path, "HEAD"))
    data = issue_to_dict(intake, loc, ref="HEAD")
    assert [f["rank"] for f in data["files"]] == list(range(1, len(data["files"]) + 1))
    assert data["files"][0]["path"] == "pkg/modeling/separable.py" and data["note"].startswith("No model")
    md = issue_to_markdown(intake, loc)
    assert md.rstrip().endswith(ISSUE_MARKER) and "| 1 | `pkg/modeling/separable.py` |" in md
    assert "**Expected**: _not stated in the issue_" in md


def test_cli_issue_json(make_repo: Any, tmp_path: Path) -> None:
    repo = _repo(make_repo)
    text = tmp_path / "issue.md"
    text.write_text(ASTROPY_TITLE + "\n" + ASTROPY_BODY)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "swarm_cli",
            "issue",
            "--repo",
            str(repo.path),
            "--text",
            str(text),
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["files"][0]["path"] == "pkg/modeling/separable.py"
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "swarm_cli",
            "issue",
            "--repo",
            str(repo.path),
            "--text",
            str(text),
            "--ref",
            "nope",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "is not a commit" in bad.stderr


SPEC = {
    "rerank": [
        {"path": "pkg/core/steps.py", "reason": "raises the error"},
        {"path": "not/a/candidate.py", "reason": "x"},
    ],
    "hypotheses": [
        {
            "cause": "step() rejects negative input",
            "files": ["pkg/core/steps.py"],
            "falsify": "call step(-1)",
        },
        {"cause": "main passes a bad value", "files": ["pkg/core/engine.py"], "falsify": "log x in main"},
    ],
    "strategy": "Accept negative numbers in step().",
    "acceptance": ["Given x = -1, when step(x) runs, then it returns 1"],
}
GOOD_PATCH = (
    "--- a/pkg/core/steps.py\n+++ b/pkg/core/steps.py\n@@ -1,4 +1,4 @@\n def step(x):\n"
    "     if x < 0:\n-        raise ValueError('bad')\n+        return -x\n     return x\n"
)
BROKEN_PATCH = (
    "--- a/pkg/core/steps.py\n+++ b/pkg/core/steps.py\n@@ -1,4 +1,4 @@\n def step(x):\n"
    "     if x < 0:\n-        raise ValueError('bad')\n+        return (-x\n     return x\n"
)


def _spec_run(
    make_repo: Any, tmp_path: Path, patch: str, *args: str
) -> tuple[subprocess.CompletedProcess[str], Any]:
    import os

    from tests.fakes.llm import FakeLLM, Reply

    repo = _repo(make_repo)
    issue = tmp_path / "issue.md"
    issue.write_text("ValueError from step\n" + PY_TRACE)
    with FakeLLM() as llm:
        llm.script("issue-spec", "", Reply(SPEC))
        llm.script("issue-trace", "", Reply({"patch": patch, "explanation": "negate instead of raising"}))
        llm.script(
            "issue-repro",
            "",
            Reply(
                {"path": "tests/test_steps.py", "code": "def test_negative():\n    assert step(-1) == 1\n"}
            ),
        )
        env = {
            **os.environ,
            "OPENAI_API_KEY": llm.key or "",
            "OPENAI_BASE_URL": llm.url,
            "SWARM_MODEL": "openai/gpt-4.1-mini",
        }
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "swarm_cli",
                "issue",
                "--repo",
                str(repo.path),
                "--text",
                str(issue),
                "--format",
                "json",
                *args,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        return out, llm


def test_fix_specification_and_a_checked_patch_with_a_model(make_repo: Any, tmp_path: Path) -> None:
    out, llm = _spec_run(make_repo, tmp_path, GOOD_PATCH, "--trace")
    assert out.returncode == 0, out.stderr
    spec = json.loads(out.stdout)["spec"]
    assert spec["rerank"] == [
        {"path": "pkg/core/steps.py", "reason": "raises the error"}
    ]  # only real candidates
    assert [h["cause"] for h in spec["hypotheses"]] == [
        "step() rejects negative input",
        "main passes a bad value",
    ]
    assert spec["patch"]["applies"] is True and spec["patch"]["explanation"] == "negate instead of raising"
    assert spec["reproduction_test"]["path"] == "tests/test_steps.py"
    (spec_call,) = llm.calls("issue-spec")
    assert '<untrusted name="issue">' in spec_call.last_user and "pkg/core/steps.py" in spec_call.last_user


def test_cli_issue_stores_the_run_with_its_evidence(make_repo: Any, tmp_path: Path) -> None:
    out, llm = _spec_run(make_repo, tmp_path, GOOD_PATCH, "--trace")
    assert out.returncode == 0, out.stderr
    run_id = json.loads(out.stdout)["run_id"]
    no_model = {k: v for k, v in os.environ.items() if k != "SWARM_MODEL"}

    def swarm(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "swarm_cli", *args]
        return subprocess.run(cmd, cwd=ROOT, env=no_model, capture_output=True, text=True, check=True)

    stored = json.loads(swarm("runs", "show", run_id, "--format", "json").stdout)
    assert stored["run_id"] == run_id and stored["spec"]["strategy"] == "Accept negative numbers in step()."
    evidence = json.loads(swarm("runs", "show", run_id, "--evidence", "--format", "json").stdout)
    kinds = [e["kind"] for e in evidence["exchanges"]]
    assert len(kinds) == len(llm.requests) == 3 and all(e["outcome"] == "ok" for e in evidence["exchanges"])
    assert evidence["usage"]["calls"] == 3
    # Without a model the analysis is stored too (no evidence); --no-store stores nothing.
    plain = swarm("issue", "--repo", str(_repo(make_repo).path), "--text", str(tmp_path / "issue.md"))
    assert "stored; `swarm runs show" in plain.stderr
    swarm("issue", "--repo", str(_repo(make_repo).path), "--text", str(tmp_path / "issue.md"), "--no-store")
    listed = json.loads(swarm("runs", "list", "--format", "json").stdout)
    assert [r["kind"] for r in listed] == ["issue", "issue"]


def test_a_patch_that_does_not_parse_is_rejected(make_repo: Any, tmp_path: Path) -> None:
    out, _ = _spec_run(make_repo, tmp_path, BROKEN_PATCH, "--trace", "--no-repro")
    spec = json.loads(out.stdout)["spec"]
    assert spec["patch"]["applies"] is False and "does not parse" in spec["patch"]["reason"]
    assert spec["reproduction_test"] is None


def test_a_patch_that_does_not_apply_is_rejected(make_repo: Any, tmp_path: Path) -> None:
    wrong = GOOD_PATCH.replace("     if x < 0:", "     if x <= 0:")
    out, _ = _spec_run(make_repo, tmp_path, wrong, "--trace", "--no-repro")
    patch = json.loads(out.stdout)["spec"]["patch"]
    assert patch["applies"] is False and patch["reason"].startswith("git apply --check")


def test_trace_without_a_model_is_a_usage_error(make_repo: Any, tmp_path: Path) -> None:
    repo = _repo(make_repo)
    issue = tmp_path / "issue.md"
    issue.write_text("x\ny")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "swarm_cli",
            "issue",
            "--repo",
            str(repo.path),
            "--text",
            str(issue),
            "--trace",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2 and "--trace needs a model" in out.stderr
