"""Issue analysis as data (JSON), as the sticky issue comment (Markdown), and for a terminal."""

from __future__ import annotations

from typing import Any

from swarm_core.issue.intake import Intake
from swarm_core.issue.localize import Localization

__all__ = ["ISSUE_MARKER", "NO_MODEL_NOTE", "issue_to_dict", "issue_to_markdown"]

ISSUE_MARKER = "<!-- swarm:issue -->"
NO_MODEL_NOTE = (
    "No model is configured: this is the deterministic intake and localization only. Root-cause "
    "hypotheses, a fix specification and `--trace` patches need a model (SWARM_MODEL)."
)


def issue_to_dict(
    intake: Intake, loc: Localization, *, ref: str = "", model: str | None = None
) -> dict[str, Any]:
    """JSON-ready analysis; files and functions in rank order."""
    return {
        "ref": ref,
        "model": model,
        "note": NO_MODEL_NOTE if model is None else "",
        "intake": {
            "title": intake.title,
            "observed": intake.observed,
            "expected": intake.expected,
            "reproduction": intake.reproduction,
            "environment": intake.environment,
            "missing": list(intake.missing),
            "frames": [
                {"file": f.file, "line": f.line, "function": f.function, "language": f.language}
                for f in intake.frames
            ],
        },
        "files": [
            {
                "rank": n,
                "path": f.path,
                "score": f.score,
                "confidence": f.confidence,
                "evidence": list(f.evidence),
            }
            for n, f in enumerate(loc.files, 1)
        ],
        "functions": [
            {
                "rank": n,
                "path": f.path,
                "name": f.name,
                "kind": f.kind,
                "lines": [f.start, f.end],
                "score": f.score,
                "evidence": list(f.evidence),
            }
            for n, f in enumerate(loc.functions, 1)
        ],
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:200]


def issue_to_markdown(intake: Intake, loc: Localization, *, ref: str = "", model: str | None = None) -> str:
    """The sticky issue comment (edited in place on a re-run)."""
    out = ["## 🐝 swarm issue analysis", ""]
    if model is None:
        out += [f"> ℹ️ {NO_MODEL_NOTE}", ""]
    out += ["### Symptoms", ""]
    for label, value in (
        ("Observed", intake.observed),
        ("Expected", intake.expected),
        ("Reproduction", intake.reproduction),
        ("Environment", intake.environment),
    ):
        out.append(f"- **{label}**: {_cell(value) if value else '_not stated in the issue_'}")
    if intake.frames:
        out += [
            "",
            f"Stack trace: {len(intake.frames)} frame(s), innermost "
            f"`{intake.frames[-1].file}:{intake.frames[-1].line}`",
        ]
    out += ["", f"### Where the fault most likely is{f' (at `{ref[:12]}`)' if ref else ''}", ""]
    out += ["| # | File | Confidence | Evidence |", "|---|---|---|---|"]
    for n, f in enumerate(loc.files[:10], 1):
        out.append(f"| {n} | `{f.path}` | {f.confidence:.2f} | {_cell('; '.join(f.evidence[:3]))} |")
    if loc.functions:
        out += ["", "| # | Function | Lines | Why |", "|---|---|---|---|"]
        for n, fn in enumerate(loc.functions[:10], 1):
            out.append(
                f"| {n} | `{fn.path}::{fn.name}` | {fn.start}-{fn.end} "
                f"| {_cell(', '.join(fn.evidence)) or 'text similarity'} |"
            )
    out += ["", ISSUE_MARKER]
    return "\n".join(out) + "\n"
