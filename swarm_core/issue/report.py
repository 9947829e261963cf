"""Issue analysis as data (JSON), as the sticky issue comment (Markdown), and for a terminal."""

from __future__ import annotations

from typing import Any

from swarm_core.issue.localize import Localization
from swarm_core.issue.spec import FixSpec
from swarm_core.issue.symptoms import Intake

__all__ = ["ISSUE_MARKER", "NO_MODEL_NOTE", "issue_to_dict", "issue_to_markdown"]

ISSUE_MARKER = "<!-- swarm:issue -->"
NO_MODEL_NOTE = (
    "No model is configured: this is the deterministic intake and localization only. Root-cause "
    "hypotheses, a fix specification and `--trace` patches need a model (SWARM_MODEL)."
)


def _spec_dict(spec: FixSpec | None) -> dict[str, Any] | None:
    if spec is None:
        return None
    patch = spec.patch
    return {
        "model": spec.model,
        "error": spec.error,
        "rerank": [{"path": p, "reason": r} for p, r in spec.rerank],
        "hypotheses": [{"cause": c, "files": list(f), "falsify": x} for c, f, x in spec.hypotheses],
        "strategy": spec.strategy,
        "acceptance": list(spec.acceptance),
        "patch": None
        if patch is None
        else {
            "diff": patch.diff,
            "explanation": patch.explanation,
            "applies": patch.applies,
            "reason": patch.reason,
        },
        "reproduction_test": None if spec.repro is None else {"path": spec.repro[0], "code": spec.repro[1]},
    }


def issue_to_dict(
    intake: Intake, loc: Localization, *, ref: str = "", model: str | None = None, spec: FixSpec | None = None
) -> dict[str, Any]:
    """JSON-ready analysis; files and functions in rank order (`spec` when a model was used)."""
    return {
        "spec": _spec_dict(spec),
        "ref": ref,
        "model": model,
        "note": NO_MODEL_NOTE if model is None and spec is None else "",
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


def _spec_markdown(spec: FixSpec) -> list[str]:
    out = ["", f"### Root cause and fix (model: `{spec.model}`)", ""]
    if spec.error:
        return [*out, f"The model part failed: {spec.error}; the localization above stands."]
    for n, (cause, files, falsify) in enumerate(spec.hypotheses, 1):
        where = f" ({', '.join(f'`{f}`' for f in files)})" if files else ""
        out.append(f"{n}. **{_cell(cause)}**{where}. _Falsify_: {_cell(falsify) or '—'}")
    if spec.strategy:
        out += ["", f"**Fix strategy**: {spec.strategy}"]
    if spec.acceptance:
        out += ["", "**Acceptance criteria**:", *(f"- {a}" for a in spec.acceptance)]
    if spec.patch is not None:
        if spec.patch.applies:
            out += ["", "<details><summary>Proposed patch (applies cleanly, parses)</summary>", "", "```diff"]
            out += [spec.patch.diff.rstrip(), "```", "", spec.patch.explanation, "", "</details>"]
        else:
            out += ["", f"A proposed patch was rejected: {spec.patch.reason}."]
    if spec.repro is not None:
        out += [
            "",
            f"<details><summary>Proposed reproduction test: `{spec.repro[0]}` (not run)</summary>",
            "",
        ]
        out += ["```python", spec.repro[1].rstrip(), "```", "", "</details>"]
    return out


def issue_to_markdown(
    intake: Intake,
    loc: Localization,
    *,
    ref: str = "",
    model: str | None = None,
    spec: FixSpec | None = None,
    note: str | None = None,
) -> str:
    """The sticky issue comment (edited in place on a re-run).

    `note` says why the model part is missing when that is not "no model is configured".
    """
    out = ["## 🐝 swarm issue analysis", ""]
    if model is None and spec is None:
        out += [f"> ℹ️ {note or NO_MODEL_NOTE}", ""]
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
    if spec is not None:
        out += _spec_markdown(spec)
    out += ["", ISSUE_MARKER]
    return "\n".join(out) + "\n"
