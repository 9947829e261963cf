"""Markdown exactly as swarm posts it to GitHub: the summary comment and inline review comments.

Everything taken from the change (code, titles built from it) is treated as untrusted text:
table cells are escaped and code is fenced with a fence longer than any backtick run in it.
Model-written text (titles, messages, notes) passes `sanitize` first: no mentions, no HTML,
links only to the repository itself.
"""

from __future__ import annotations

import re

from swarm_core.models import Finding, Review, Severity, Verdict, Verification
from swarm_core.render.sanitize import sanitize

__all__ = [
    "GITHUB_BODY_LIMIT",
    "SUMMARY_MARKER",
    "fingerprint_marker",
    "learned_line",
    "render_inline_comment",
    "render_markdown",
    "render_summary",
]

GITHUB_BODY_LIMIT = 65_536
SUMMARY_MARKER = "<!-- swarm:summary -->"
_ICONS = {Severity.CRITICAL: "🛑", Severity.HIGH: "🔴", Severity.MEDIUM: "🟠", Severity.LOW: "🔵"}
_VERDICT = {
    Verdict.APPROVE: "✅ APPROVE",
    Verdict.APPROVE_WITH_NOTES: "📝 APPROVE WITH NOTES",
    Verdict.REQUEST_CHANGES: "✋ REQUEST CHANGES",
    Verdict.BLOCK: "⛔ BLOCK",
}


def fingerprint_marker(f: Finding) -> str:
    """The hidden marker that lets a re-run find what it already posted."""
    return f"<!-- swarm:fp={f.fingerprint} -->"


def _cell(text: str, limit: int = 160) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str, lang: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _inline(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def render_inline_comment(f: Finding, *, repo: str = "") -> str:
    """The body of an inline review comment for one finding (with a suggestion block if any).

    Links in the model's text are kept only when they point into `repo` on GitHub.
    """
    parts = [
        f"{_ICONS[f.severity]} **{f.severity.value.upper()}** · {f.lane.value} · `{f.rule}`",
        "",
    ]
    parts.append(f"**{_cell(sanitize(f.title, repo=repo), 300)}**")
    if f.message:
        parts += ["", sanitize(f.message.strip(), repo=repo)]
    if f.suggestion is not None:
        parts += ["", _code(f.suggestion, "suggestion")]
    if f.also_reported_by:
        parts += ["", "Also reported by: " + ", ".join(f"`{r}`" for r in f.also_reported_by)]
    parts += ["", fingerprint_marker(f)]
    return "\n".join(parts)


def learned_line(review: Review) -> str:
    """ "2 findings suppressed by team learnings · 1 downgraded", or "" when no learning applied."""
    suppressed = sum(1 for u in review.learned if u.action == "suppressed")
    downgraded = len(review.learned) - suppressed
    parts = []
    if suppressed:
        parts.append(f"{suppressed} finding{'s' if suppressed != 1 else ''} suppressed by team learnings")
    if downgraded:
        parts.append(f"{downgraded} finding{'s' if downgraded != 1 else ''} downgraded by team learnings")
    if not parts:
        return ""
    ids = ", ".join(f"#{i}" for i in sorted({u.learning_id for u in review.learned}))
    return "🧠 " + " · ".join(parts) + f" ({ids}; `/swarm learnings` lists them)"


def render_summary(review: Review, *, max_chars: int = GITHUB_BODY_LIMIT - 512) -> str:
    """The sticky summary comment: verdict, counts, findings table, analyzers, notes."""
    counts = review.counts()
    confirmed = review.confirmed()
    unverified = [f for f in review.findings if f.verification is not Verification.CONFIRMED]
    repo = review.repo

    def said(text: str) -> str:
        return sanitize(text, repo=repo)

    head = [
        f"## 🐝 swarm review: {_VERDICT[review.verdict]}",
        "",
        (
            f"**{len(confirmed)} finding(s)** "
            + " · ".join(f"{_ICONS[s]} {counts[s.value]} {s.value}" for s in Severity)
            + f" · {review.files_reviewed} file(s) reviewed (+{review.additions} −{review.deletions})"
        ),
    ]
    learned = learned_line(review)
    if learned:
        head += ["", learned]
    if review.title:
        head.insert(2, f"> {_cell(review.title, 200)}\n")
    body: list[str] = []
    if confirmed:
        body += ["", "| | Severity | Location | Finding | Lane |", "|---|---|---|---|---|"]
        for f in confirmed:
            where = _inline(f.location()) + ("" if f.anchored else " ¹")
            title = _cell(said(f.title))
            body.append(f"| {_ICONS[f.severity]} | {f.severity.value} | {where} | {title} | {f.lane.value} |")
        if any(not f.anchored for f in confirmed):
            body += [
                "",
                "¹ outside the diff's commentable lines or file-level: reported here only.",
            ]
        details = [f for f in confirmed if not f.anchored and (f.message or f.evidence)]
        for f in details:
            body += ["", f"<details><summary>{_cell(f.location())}: {_cell(said(f.title))}</summary>", ""]
            if f.message:
                body.append(said(f.message.strip()))
            if f.evidence:
                body += ["", _code(f.evidence)]
            body += ["", "</details>"]
    else:
        body += ["", "No findings. 🎉"]
    if unverified:
        body += [
            "",
            f"<details><summary>{len(unverified)} unverified finding(s): the reviewer could not confirm "
            "them, so they are not posted inline and do not count for the verdict</summary>",
            "",
        ]
        body += [
            f"- {_inline(f.location())} [{f.severity.value}, {f.lane.value}] {_cell(said(f.title))}"
            + (f": {_cell(said(f.verification_note), 160)}" if f.verification_note else "")
            for f in unverified[:50]
        ]
        body += ["", "</details>"]
    tail = [
        "",
        "<details><summary>Analyzers and lanes</summary>",
        "",
        "| Analyzer | Status | Findings | Time | Note |",
        "|---|---|---|---|---|",
    ]
    for a in review.analyzers:
        tail.append(
            f"| {a.name} | {a.status.value} | {a.count} | {a.duration_s:.2f} s | {_cell(a.reason, 120)} |"
        )
    tail += ["", "| Lane | Status | Findings | Model | Calls | Cost |", "|---|---|---|---|---|---|"]
    for lane in review.lanes:
        n = sum(1 for f in review.confirmed() if f.lane is lane.lane)
        u = lane.usage
        tail.append(
            f"| {lane.lane.value} | {lane.status.value} | {n} | {_inline(lane.model) if lane.model else '—'} "
            f"| {u.calls} | ${u.cost_usd:.4f} |"
        )
    if review.verification:
        outcome = ", ".join(
            f"{k} {v}" for k, v in review.verification.items() if not k.startswith("reported_")
        )
        tail += ["", f"Verification of model findings: {outcome}."]
    tail += ["", "</details>"]
    if review.skipped_files:
        tail += [
            "",
            f"<details><summary>{len(review.skipped_files)} file(s) not reviewed</summary>",
            "",
        ]
        tail += [f"- {_inline(p)}: {_cell(r, 120)}" for p, r in review.skipped_files[:200]]
        if len(review.skipped_files) > 200:
            tail.append(f"- … and {len(review.skipped_files) - 200} more")
        tail += ["", "</details>"]
    if review.suppressed:
        tail += [
            "",
            f"{review.suppressed} finding(s) below the severity or confidence threshold were not reported.",
        ]
    for note in review.notes:
        tail += ["", f"> ℹ️ {said(note)}"]
    tail += ["", SUMMARY_MARKER]
    text = "\n".join(head + body + tail)
    if len(text) <= max_chars:
        return text
    cut = (
        "\n\n> ⚠️ This summary was truncated to fit GitHub's comment size limit; "
        "the check run and the JSON report have everything.\n"
    )
    budget = max_chars - len("\n".join(head + tail)) - len(cut)
    kept = "\n".join(body)[: max(budget, 0)]
    kept = kept[: kept.rfind("\n")] if "\n" in kept else kept
    return "\n".join(head) + kept + cut + "\n".join(tail)


def render_markdown(review: Review) -> str:
    """The summary comment followed by each inline comment, as swarm would post them."""
    parts = [render_summary(review)]
    inline = [f for f in review.confirmed() if f.anchored]
    if inline:
        parts.append("\n\n---\n\n## Inline comments\n")
        for f in inline:
            parts.append(
                f"\n### {_inline(f.location())} ({f.side.value})\n\n"
                f"{render_inline_comment(f, repo=review.repo)}\n"
            )
    return "".join(parts).rstrip("\n") + "\n"
