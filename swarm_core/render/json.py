"""The JSON report: a documented, versioned schema (swarm_core/schemas/review.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from swarm_core import __version__
from swarm_core.models import (
    AnalyzerReport,
    AnalyzerStatus,
    Finding,
    FlowStep,
    Lane,
    LaneResult,
    LaneStatus,
    LearningUse,
    Review,
    Severity,
    Side,
    Usage,
    Verdict,
    Verification,
)

__all__ = ["SCHEMA_VERSION", "finding_to_dict", "review_from_dict", "review_to_dict", "to_json"]

# Bump the minor version for added fields, the major version for anything else.
SCHEMA_VERSION = "1.1"


def finding_to_dict(f: Finding) -> dict[str, Any]:
    """One finding as JSON-ready data."""
    return {
        "fingerprint": f.fingerprint,
        "path": f.path,
        "line": f.line,
        "end_line": f.end_line,
        "side": f.side.value,
        "severity": f.severity.value,
        "lane": f.lane.value,
        "category": f.category,
        "rule": f.rule,
        "title": f.title,
        "message": f.message,
        "source": f.source,
        "evidence": f.evidence,
        "suggestion": f.suggestion,
        "cwe": f.cwe,
        "confidence": f.confidence,
        "verification": f.verification.value,
        "anchored": f.anchored,
        "also_reported_by": list(f.also_reported_by),
        "symbols": list(f.symbols),
        "verification_note": f.verification_note,
        "flow": [{"line": s.line, "note": s.note} for s in f.flow],
    }


def review_to_dict(review: Review) -> dict[str, Any]:
    """The whole review as JSON-ready data (schema version SCHEMA_VERSION)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "swarm", "version": __version__},
        "run_id": review.run_id,
        "source": review.source,
        "repo": review.repo,
        "title": review.title,
        "base": review.base,
        "head": review.head,
        "verdict": review.verdict.value,
        "counts": review.counts(),
        "stats": {
            "files_reviewed": review.files_reviewed,
            "additions": review.additions,
            "deletions": review.deletions,
            "suppressed": review.suppressed,
        },
        "findings": [finding_to_dict(f) for f in review.findings],
        "analyzers": [
            {
                "name": a.name,
                "status": a.status.value,
                "reason": a.reason,
                "duration_s": a.duration_s,
                "findings": a.count,
            }
            for a in review.analyzers
        ],
        "lanes": [
            {
                "lane": lr.lane.value,
                "status": lr.status.value,
                "findings": sum(1 for f in review.findings if f.lane is lr.lane),
                "note": lr.note,
                "model": lr.model,
                "model_reason": lr.model_reason,
                "usage": lr.usage.to_dict(),
                "duration_s": lr.duration_s,
            }
            for lr in review.lanes
        ],
        "skipped_files": [{"path": p, "reason": r} for p, r in review.skipped_files],
        "notes": list(review.notes),
        "timings": dict(review.timings),
        "usage": review.usage.to_dict(),
        "verification": dict(review.verification),
        "memory": [{"key": k, "value": v} for k, v in review.memory],
        "learned": [u.to_dict() for u in review.learned],
    }


def to_json(review: Review) -> str:
    """The review as pretty-printed JSON text."""
    return json.dumps(review_to_dict(review), indent=2, ensure_ascii=False) + "\n"


def _finding(d: dict[str, Any]) -> Finding:
    return Finding(
        path=d["path"],
        line=d["line"],
        end_line=d.get("end_line"),
        side=Side(d.get("side", "RIGHT")),
        severity=Severity(d["severity"]),
        lane=Lane(d["lane"]),
        category=d["category"],
        rule=d["rule"],
        title=d["title"],
        message=d.get("message", ""),
        source=d.get("source", ""),
        evidence=d.get("evidence", ""),
        suggestion=d.get("suggestion"),
        cwe=d.get("cwe"),
        confidence=float(d.get("confidence", 1.0)),
        verification=Verification(d.get("verification", "CONFIRMED")),
        anchored=bool(d.get("anchored", False)),
        fingerprint=d.get("fingerprint", ""),
        also_reported_by=tuple(d.get("also_reported_by", ())),
        symbols=tuple(d.get("symbols", ())),
        verification_note=d.get("verification_note", ""),
        flow=tuple(FlowStep(int(s["line"]), str(s.get("note", ""))) for s in d.get("flow", ())),
    )


def _usage(d: dict[str, Any] | None) -> Usage:
    if not d:
        return Usage()
    return Usage(
        int(d.get("calls", 0)),
        int(d.get("input_tokens", 0)),
        int(d.get("output_tokens", 0)),
        int(d.get("cached_tokens", 0)),
        float(d.get("cost_usd", 0.0)),
        bool(d.get("estimated", False)),
    )


def review_from_dict(d: dict[str, Any]) -> Review:
    """Rebuild a Review from `review_to_dict` output (the run store keeps reviews this way).

    Analyzers keep their finding counts; lanes get back their verified findings.
    """
    findings = tuple(_finding(f) for f in d["findings"])
    return Review(
        source=d["source"],
        base=d.get("base"),
        head=d.get("head"),
        verdict=Verdict(d["verdict"]),
        findings=findings,
        analyzers=tuple(
            AnalyzerReport(
                a["name"],
                AnalyzerStatus(a["status"]),
                reason=a.get("reason", ""),
                duration_s=a.get("duration_s", 0.0),
                count=a.get("findings", 0),
            )
            for a in d.get("analyzers", [])
        ),
        lanes=tuple(
            LaneResult(
                Lane(lr["lane"]),
                LaneStatus(lr["status"]),
                findings=tuple(f for f in findings if f.lane.value == lr["lane"]),
                note=lr.get("note", ""),
                model=lr.get("model", ""),
                model_reason=lr.get("model_reason", ""),
                usage=_usage(lr.get("usage")),
                duration_s=float(lr.get("duration_s", 0.0)),
            )
            for lr in d.get("lanes", [])
        ),
        files_reviewed=d["stats"]["files_reviewed"],
        additions=d["stats"]["additions"],
        deletions=d["stats"]["deletions"],
        suppressed=d["stats"].get("suppressed", 0),
        notes=tuple(d.get("notes", ())),
        skipped_files=tuple((s["path"], s["reason"]) for s in d.get("skipped_files", [])),
        timings=dict(d.get("timings", {})),
        run_id=d.get("run_id"),
        title=d.get("title", ""),
        repo=d.get("repo", ""),
        usage=_usage(d.get("usage")),
        verification=dict(d.get("verification", {})),
        memory=tuple((m["key"], m["value"]) for m in d.get("memory", [])),
        learned=tuple(
            LearningUse(
                int(u["learning_id"]), u["action"], u["fingerprint"], u["location"], u["rule"], u["severity"]
            )
            for u in d.get("learned", [])
        ),
    )
