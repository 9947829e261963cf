"""Outputs: JSON against its schema, SARIF against the official 2.1.0 schema, markdown and terminal."""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console

from swarm_core.changeset import from_patch
from swarm_core.config import SwarmConfig
from swarm_core.models import Finding, Lane, Review, Severity, Verdict
from swarm_core.orchestrator import Orchestrator
from swarm_core.render import render, review_from_dict, review_to_dict, to_sarif
from swarm_core.render.markdown import (
    GITHUB_BODY_LIMIT,
    SUMMARY_MARKER,
    render_inline_comment,
    render_summary,
)
from swarm_core.render.terminal import LiveProgress, render_terminal
from tests.conftest import ROOT, SARIF_SCHEMA

EXAMPLE = ROOT / "examples" / "leaky-deploy.patch"


@pytest.fixture(scope="module")
def review() -> Review:
    change = from_patch(EXAMPLE.read_bytes(), "examples/leaky-deploy.patch")
    return Orchestrator(SwarmConfig()).review_sync(change)


def test_example_review_finds_what_the_example_plants(review):
    rules = {(f.path, f.line, f.rule) for f in review.findings}
    assert ("app/deploy.py", 5, "secrets/aws-access-key") in rules
    assert ("app/deploy.py", 15, "bandit/B602") in rules
    assert ("app/notify.js", 2, "syntax/parse-error") in rules
    assert ("app/deploy.py", 20, "placeholder/not-implemented") in rules
    assert review.verdict is Verdict.BLOCK


def test_json_matches_its_schema_and_round_trips(review):
    schema = json.loads(resources.files("swarm_core").joinpath("schemas/review.schema.json").read_text())
    data = json.loads(render(review, "json"))
    jsonschema.validate(data, schema)
    assert review_to_dict(review_from_dict(data)) == data


def test_sarif_validates_against_the_official_schema(review):
    schema = json.loads(SARIF_SCHEMA.read_text())
    log = json.loads(render(review, "sarif"))
    jsonschema.validate(log, schema)
    results = log["runs"][0]["results"]
    assert len(results) == len(review.findings)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    assert {r["partialFingerprints"]["swarmFingerprint/v1"] for r in results} == {
        f.fingerprint for f in review.findings
    }


def test_sarif_file_level_finding_has_no_region():
    f = Finding("a.py", None, Severity.LOW, Lane.TESTS, "tests", "tests/x", "t", fingerprint="0" * 20)
    r = Review("s", None, None, Verdict.APPROVE_WITH_NOTES, (f,), (), (), 1, 1, 0)
    (result,) = to_sarif(r)["runs"][0]["results"]
    assert "region" not in result["locations"][0]["physicalLocation"]


def test_markdown_summary_has_marker_table_and_notes(review):
    text = render_summary(review)
    assert text.rstrip().endswith(SUMMARY_MARKER)
    assert "| 🛑 | critical | `app/deploy.py:5` |" in text
    assert "LLM lanes were skipped" in text
    assert "AKIAQWERTYUIOPASDFGH" not in render(review, "markdown")


def test_inline_comment_carries_fingerprint_and_suggestion():
    f = Finding(
        "a.py",
        3,
        Severity.HIGH,
        Lane.CORRECTNESS,
        "c",
        "r/x",
        "Off by one",
        "use <=",
        suggestion="for i in range(n + 1):",
        fingerprint="ab" * 10,
    )
    body = render_inline_comment(f)
    assert "```suggestion\nfor i in range(n + 1):\n```" in body
    assert body.endswith("<!-- swarm:fp=abababababababababab -->")


def test_untrusted_text_cannot_break_out_of_tables_or_fences():
    nasty = Finding(
        "a|b.py",
        1,
        Severity.LOW,
        Lane.CORRECTNESS,
        "c",
        "r",
        "x | y <script>",
        "m",
        evidence="```\n</details>",
        fingerprint="1" * 20,
    )
    r = Review("s", None, None, Verdict.APPROVE_WITH_NOTES, (nasty,), (), (), 1, 1, 0)
    text = render_summary(r)
    assert "x \\| y &lt;script&gt;" in text
    assert "````\n```\n</details>\n````" in text


def test_summary_is_truncated_under_githubs_limit():
    many = tuple(
        Finding(
            f"f{i}.py",
            None,
            Severity.LOW,
            Lane.TESTS,
            "t",
            "r",
            "x" * 150,
            "m" * 800,
            evidence="e",
            fingerprint=f"{i:020d}",
        )
        for i in range(400)
    )
    r = Review("s", None, None, Verdict.APPROVE_WITH_NOTES, many, (), (), 1, 1, 0)
    text = render_summary(r)
    assert len(text) < GITHUB_BODY_LIMIT
    assert "truncated" in text and text.rstrip().endswith(SUMMARY_MARKER)


def test_terminal_output_groups_by_severity(review):
    buf = io.StringIO()
    render_terminal(review, Console(file=buf, width=120, no_color=True))
    out = buf.getvalue()
    assert out.index("CRITICAL (2)") < out.index("HIGH (2)") < out.index("MEDIUM") < out.index("LOW")
    assert "AKIAQWERTYUIOPASDFGH" not in out


def test_live_progress_is_silent_off_a_terminal(review):
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False)
    with LiveProgress(console) as progress:
        change = from_patch(EXAMPLE.read_bytes(), "x")
        Orchestrator(SwarmConfig()).review_sync(change, on_event=progress)
    assert buf.getvalue() == ""


def test_live_progress_shows_steps_on_a_terminal():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=100)
    with LiveProgress(console) as progress:
        change = from_patch(EXAMPLE.read_bytes(), "x")
        Orchestrator(SwarmConfig()).review_sync(change, on_event=progress)
    assert "analyzer" in buf.getvalue() and "secrets" in buf.getvalue()


def test_unknown_render_format(review):
    with pytest.raises(ValueError, match="unknown format"):
        render(review, "html")


def test_schema_file_is_packaged():
    assert Path(str(resources.files("swarm_core").joinpath("schemas/review.schema.json"))).is_file()
