"""SARIF 2.1.0 for code scanning (validated in tests against the official schema)."""

from __future__ import annotations

from typing import Any

from swarm_core import __version__
from swarm_core.models import AnalyzerStatus, Finding, Review, Severity
from swarm_core.redact import Redactor

__all__ = ["SARIF_SCHEMA", "to_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
# GitHub code scanning reads `security-severity` (0-10) to rank security results.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
}


def _rule(f: Finding) -> dict[str, Any]:
    props: dict[str, Any] = {"tags": [f.lane.value, f.category]}
    if f.lane.value == "security":
        props["tags"].append("security")
        props["security-severity"] = _SECURITY_SEVERITY[f.severity]
    if f.cwe is not None:
        props["tags"].append(f"external/cwe/cwe-{f.cwe}")
    props["tags"] = list(dict.fromkeys(props["tags"]))  # SARIF tags are a set
    return {
        "id": f.rule,
        "name": f.rule.replace("/", "-"),
        "shortDescription": {"text": f.title[:200] or f.rule},
        "defaultConfiguration": {"level": _LEVEL[f.severity]},
        "properties": props,
    }


def _result(f: Finding, rule_index: int) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"}}
    if f.line is not None:
        region: dict[str, Any] = {"startLine": f.line}
        if f.end_line is not None and f.end_line > f.line:
            region["endLine"] = f.end_line
        if f.evidence:
            region["snippet"] = {"text": f.evidence}
        physical["region"] = region
    text = f.title if not f.message else f"{f.title}. {f.message}"
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity],
        "message": {"text": text},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {"swarmFingerprint/v1": f.fingerprint},
        "properties": {
            "severity": f.severity.value,
            "lane": f.lane.value,
            "category": f.category,
            "confidence": f.confidence,
            "verification": f.verification.value,
            "source": f.source,
        },
    }
    if f.flow:
        result["codeFlows"] = [_code_flow(f)]
    return result


def _code_flow(f: Finding) -> dict[str, Any]:
    """A taint finding's source-to-sink path as one SARIF thread flow."""
    steps = []
    for step in f.flow:
        location: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": step.line},
            }
        }
        if step.note:
            location["message"] = {"text": step.note}
        steps.append({"location": location})
    return {"threadFlows": [{"locations": steps}]}


def to_sarif(review: Review, *, redactor: Redactor | None = None) -> dict[str, Any]:
    """The review as a SARIF 2.1.0 log with one run.

    A SARIF file is uploaded (code scanning, artifacts): its texts pass `redactor`, by default
    one that removes credential-shaped strings.
    """
    review = (redactor or Redactor()).review(review)
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results = []
    for f in review.confirmed():
        if f.rule not in index:
            index[f.rule] = len(rules)
            rules.append(_rule(f))
        results.append(_result(f, index[f.rule]))
    notifications = [
        {
            "level": "warning" if a.status is not AnalyzerStatus.SKIPPED else "note",
            "message": {"text": f"{a.name} {a.status.value}: {a.reason}"},
            "descriptor": {"id": a.name},
        }
        for a in review.analyzers
        if a.status is not AnalyzerStatus.OK
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "swarm",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
                "results": results,
                "properties": {"verdict": review.verdict.value, "source": review.source},
            }
        ],
    }
