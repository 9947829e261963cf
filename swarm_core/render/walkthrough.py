"""The walkthrough as posted (markdown, with a Mermaid sequence diagram swarm writes itself) and as JSON.

Paths and symbol names are the author's, and the narrative a model's: paths and names go
into code spans, model prose through `sanitize`. The diagram is built from the model's
structured steps with every label cut to a small alphabet, then checked line by line
against the few forms swarm emits; a diagram that does not check out is left out.
"""

from __future__ import annotations

import re
from typing import Any

from swarm_core.models import document_of
from swarm_core.render.sanitize import sanitize
from swarm_core.walkthrough import CallStep, Walkthrough

__all__ = [
    "DESCRIBE_MARKER",
    "WALKTHROUGH_HEADING",
    "is_sequence_diagram",
    "sequence_diagram",
    "walkthrough_to_dict",
    "walkthrough_to_markdown",
]

DESCRIBE_MARKER = "<!-- swarm:describe -->"
WALKTHROUGH_HEADING = "## 🐝 swarm walkthrough"
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_ .,()/+=\-]+")
_LABEL = r"[A-Za-z0-9_ .,()/+=\-]{1,60}"
_LINES = (
    re.compile(r"sequenceDiagram"),
    re.compile(rf"    participant P\d+ as {_LABEL}"),
    re.compile(rf"    P\d+-{{1,2}}>>P\d+: {_LABEL}"),
)
_MAX_PARTICIPANTS = 8
_BODY_LIMIT = 60_000  # GitHub takes 65,536 characters; the rest is headroom


def _label(text: str) -> str:
    return re.sub(r"\s+", " ", _LABEL_UNSAFE.sub(" ", text)).strip()[:60].strip() or "?"


def is_sequence_diagram(text: str) -> bool:
    """Whether `text` is a sequence diagram in exactly the forms swarm writes."""
    lines = text.split("\n")
    return (
        lines[0] == "sequenceDiagram"
        and len(lines) > 2
        and all(any(form.fullmatch(line) for form in _LINES[1:]) for line in lines[1:])
    )


def sequence_diagram(flow: tuple[CallStep, ...]) -> str | None:
    """Mermaid `sequenceDiagram` text for the steps, or None when there is no valid diagram to draw."""
    ids: dict[str, str] = {}
    messages: list[str] = []
    for step in flow:
        ends = [_label(step.source), _label(step.target)]
        if len(ids.keys() | set(ends)) > _MAX_PARTICIPANTS:
            continue  # a step that would add a ninth participant: the diagram stays readable
        for end in ends:
            ids.setdefault(end, f"P{len(ids) + 1}")
        arrow = "-->>" if step.reply else "->>"
        messages.append(f"    {ids[ends[0]]}{arrow}{ids[ends[1]]}: {_label(step.message)}")
    if not messages:
        return None
    participants = [f"    participant {pid} as {name}" for name, pid in ids.items()]
    text = "\n".join(["sequenceDiagram", *participants, *messages])
    return text if is_sequence_diagram(text) else None


def _span(text: str, limit: int = 200) -> str:
    """Author text as an inline code span, safe in a table cell."""
    flat = re.sub(r"\s+", " ", text.replace("`", "'")).strip()[:limit].replace("|", "\\|")
    return f"`{flat}`" if flat else "``"


def _signed(name: str, signature: str) -> str:
    """`name(params)` when the code graph gave the parameters only, else the signature as it is."""
    return f"{name}{signature}" if signature.startswith("(") else signature or name


def _prose(text: str, repo: str, limit: int = 600) -> str:
    return re.sub(r"\s+", " ", sanitize(text, repo=repo, limit=limit)).replace("|", "\\|").strip()


def _capped(items: list[str], cap: int, what: str) -> list[str]:
    return items[:cap] + ([f"- … and {len(items) - cap} more {what}"] if len(items) > cap else [])


def _render(w: Walkthrough, repo: str, cap: int) -> str:
    lines = [WALKTHROUGH_HEADING, ""]
    if w.narrative is not None:
        lines += [sanitize(w.narrative.summary, repo=repo, limit=3000), ""]
    if w.note:
        lines += [f"_{w.note}_", ""]
    summaries = any(f.summary for files in w.files.values() for f in files)
    rows = [
        f"| {purpose} | {_span(f.path, 120)} | {f.status} +{f.additions} −{f.deletions} |"
        + (f" {_prose(f.summary, repo, 200)} |" if summaries else "")
        for purpose, files in w.files.items()
        for f in files
    ]
    lines += ["### Files by purpose", ""]
    lines += [
        "| purpose | file | change |" + (" summary |" if summaries else ""),
        "|---|---|---|" + ("---|" if summaries else ""),
        *rows[:cap],
    ]
    lines += [f"\n… and {len(rows) - cap} more files." if len(rows) > cap else "", "### Public API", ""]
    api = [f"- {a.change}: {_span(_signed(a.name, a.signature))} in {_span(a.path, 120)}" for a in w.api]
    lines += _capped(api, cap, "symbols") or ["No public API was added, removed or changed."]
    lines += ["", "### Dependencies", ""]
    deps = [f"- {_span(d.path, 120)}: {_span(d.change, 300)}" for d in w.dependencies]
    lines += _capped(deps, cap, "dependency changes") or ["No dependency changed."]
    lines += ["", "### Tests changed", ""]
    tests = [f"- {_span(t.path, 120)} ({t.status} +{t.additions} −{t.deletions})" for t in w.tests]
    lines += _capped(tests, cap, "test files") or ["No test file changed."]
    if w.narrative is not None and w.narrative.risks:
        lines += ["", "### Risks", "", *(f"- {_prose(r, repo)}" for r in w.narrative.risks)]
    diagram = sequence_diagram(w.narrative.flow) if w.narrative is not None else None
    if diagram:
        lines += ["", "### Call flow", "", "```mermaid", diagram, "```"]
    footer = f"_{w.model} · {w.usage.calls} model call(s), ${w.usage.cost_usd:.4f}_" if w.model else ""
    lines += ["", footer, "", DESCRIBE_MARKER] if footer else ["", DESCRIBE_MARKER]
    return "\n".join(lines) + "\n"


def walkthrough_to_markdown(w: Walkthrough, *, repo: str = "") -> str:
    """The walkthrough comment (or PR description), ending with swarm's describe marker.

    Long lists are cut, shorter each time, until the text fits a GitHub comment.
    """
    for cap in (60, 20):
        text = _render(w, repo, cap)
        if len(text) <= _BODY_LIMIT:
            return text
    return _render(w, repo, 5)


def walkthrough_to_dict(w: Walkthrough) -> dict[str, Any]:
    """The walkthrough as JSON data (its model calls are evidence, kept apart); with the diagram text."""
    data = document_of(w)
    data["diagram"] = sequence_diagram(w.narrative.flow) if w.narrative is not None else None
    return data
