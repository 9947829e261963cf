"""Verification: anchoring to GitHub's commentable lines, de-duplication, thresholds, verdicts."""

from __future__ import annotations

from dataclasses import replace

from swarm_core.config import SwarmConfig, merge
from swarm_core.diff import parse_diff
from swarm_core.models import Finding, Lane, Severity, Side, Verdict, Verification
from swarm_core.stages.verdict import verdict_for
from swarm_core.stages.verify import anchor, deduplicate, fingerprint, verify

DIFF = parse_diff(
    "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -10,3 +10,4 @@ def f():\n x\n-y\n+z\n+w\n q\n"
)


def F(line, end=None, sev=Severity.MEDIUM, rule="r/1", cwe=None, **kw):
    return Finding("a.py", line, sev, Lane.CORRECTNESS, "cat", rule, "title", end_line=end, cwe=cwe, **kw)


def test_anchor_inside_and_outside_the_diff():
    assert anchor(F(11), DIFF).anchored  # an added line
    assert anchor(F(10), DIFF).anchored  # a context line
    assert not anchor(F(20), DIFF).anchored  # outside every hunk: summary only
    assert not anchor(F(None), DIFF).anchored  # file-level
    shrunk = anchor(F(12, end=30), DIFF)
    assert shrunk.anchored and shrunk.end_line is None  # the range shrinks to what GitHub accepts
    assert anchor(F(11, side=Side.LEFT), DIFF).anchored  # old line 11 ("y") was deleted
    assert not anchor(F(10, side=Side.LEFT), DIFF).anchored
    other = replace(F(1), path="missing.py")
    assert not anchor(other, DIFF).anchored


def test_deduplicate_same_rule_and_same_weakness():
    a = F(11, sev=Severity.LOW, rule="ruff/S602", cwe=78)
    b = F(11, sev=Severity.HIGH, rule="bandit/B602", cwe=78)
    c = F(11, rule="r/1")
    d = F(11, rule="r/1")
    merged = deduplicate([a, b, c, d])
    assert len(merged) == 2
    top = next(f for f in merged if f.cwe == 78)
    assert top.rule == "bandit/B602" and top.also_reported_by == ("ruff/S602",)


def test_verify_thresholds_fingerprints_and_redaction():
    config = merge(SwarmConfig(), {"severity_threshold": "medium", "min_confidence": 0.5})
    findings = [
        F(11, sev=Severity.LOW),
        F(11, sev=Severity.HIGH, confidence=0.3, rule="r/low-conf"),
        F(12, sev=Severity.HIGH, rule="r/2", evidence='key = "s3cr3tvalue"'),
    ]
    out, suppressed = verify(findings, DIFF, config, secrets={"s3cr3tvalue"})
    assert suppressed == 2
    (f,) = out
    assert "s3cr3tvalue" not in f.evidence and len(f.fingerprint) == 20


def test_fingerprint_is_stable_when_lines_move():
    a = fingerprint(F(11), ["z = 1"])
    b = fingerprint(F(40), ["z  =  1"])
    assert a == b
    assert fingerprint(F(11), ["z = 1"], occurrence=1) != a
    assert fingerprint(F(11, rule="r/other"), ["z = 1"]) != a


def test_identical_findings_on_identical_code_get_distinct_fingerprints():
    diff = parse_diff("diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1,3 @@\n x\n+dup\n+dup\n")

    class Contents:
        def read(self, path, side):
            return b"x\ndup\ndup\n"

        def exists(self, path, side):
            return True

    out, _ = verify([F(2), F(3)], diff, SwarmConfig(), contents=Contents())
    assert len({f.fingerprint for f in out}) == 2


def test_quoted_code_must_be_there():
    class Contents:
        def read(self, path, side):
            return b"".join(b"line\n" for _ in range(10)) + b"z\nw\nq\n"

        def exists(self, path, side):
            return True

    good = F(12, evidence="w")
    wrong = F(11, evidence="drop table users", rule="r/2")
    past_end = F(99, rule="r/3")
    out, suppressed = verify([good, wrong, past_end], DIFF, SwarmConfig(), contents=Contents())
    assert [f.rule for f in out] == ["r/1"] and suppressed == 2


def test_verdicts():
    assert verdict_for([]) is Verdict.APPROVE
    assert verdict_for([F(1, sev=Severity.LOW)]) is Verdict.APPROVE_WITH_NOTES
    assert verdict_for([F(1, sev=Severity.HIGH)]) is Verdict.REQUEST_CHANGES
    assert verdict_for([F(1, sev=Severity.HIGH), F(2, sev=Severity.CRITICAL)]) is Verdict.BLOCK
    assert verdict_for([F(1, sev=Severity.CRITICAL, verification=Verification.UNVERIFIED)]) is Verdict.APPROVE
