"""The `swarm eval` report as one self-contained HTML page: headline numbers, charts, drill-down.

Everything in a report is untrusted: commit subjects, code and finding bodies come from the
repository and from models. Text is escaped where it is written (`html.escape`). The charts'
numbers travel as JSON inside a `<script type="application/json">` block, which no browser runs,
with `<`, `>`, `&` and the JavaScript line separators escaped so nothing can close it. The page's
Content-Security-Policy allows only its own style and script, by hash: markup that slipped
through anyway could neither run nor load anything. The charts are drawn into SVG by the page's
own short script (`_html_assets/report.js`): no network, no chart library.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from swarm_core.evaluation import _html_tables as tables
from swarm_core.evaluation._html_text import (
    VERDICTS,
    count,
    done,
    esc,
    items,
    listed,
    money,
    number,
    part,
    script_json,
    seconds,
    share,
    short_sha,
    text,
    when,
)
from swarm_core.evaluation.report import SCHEMA

__all__ = ["render_html"]


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one HTML page that opens offline, in any browser, light or dark, and prints.

    Args:
        report: a `swarm eval` report (schema `swarm-eval/1`, parsed JSON). Missing parts
            (no regressions, no dataset, no model, no findings) are shown as absent; a value of
            the wrong type is treated as missing; a different schema is rendered with a warning.

    Returns:
        The page: inline CSS and script, charts drawn client-side into SVG, every text escaped.

    Raises:
        TypeError: `report` is not a mapping (a JSON object).
    """
    if not isinstance(report, Mapping):
        raise TypeError(f"an eval report is a JSON object, not {type(report).__name__}")
    css, script = _asset("report.css"), _asset("report.js")
    policy = (
        f"default-src 'none'; style-src '{_digest(css)}'; script-src '{_digest(script)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    title = f"swarm eval · {text(report.get('repo')) or 'repository'}"
    body = "\n".join(
        (
            _header(report),
            _charts(report),
            tables.breakdown_tables(report),
            tables.changes_table(report),
            tables.regressions_table(report),
            tables.dataset_table(report),
            tables.footer(report),
        )
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n{body}\n"
        f'<script type="application/json" id="swarm-data">{script_json(_chart_data(report))}</script>\n'
        f"<script>{script}</script>\n</body>\n</html>\n"
    )


# -- the page's parts -------------------------------------------------------------------------


def _asset(name: str) -> str:
    return resources.files("swarm_core.evaluation").joinpath("_html_assets", name).read_text(encoding="utf-8")


def _digest(content: str) -> str:
    """A Content-Security-Policy source that allows exactly this inline style or script."""
    return "sha256-" + base64.b64encode(hashlib.sha256(content.encode("utf-8")).digest()).decode("ascii")


def _header(report: Mapping[str, Any]) -> str:
    model = text(report.get("model"))
    lanes = ", ".join(text(lane) for lane in listed(report.get("lanes")) if isinstance(lane, str))
    schema = report.get("schema")
    warning = (
        ""
        if schema == SCHEMA
        else f'<p class="warning">This report says its schema is “{esc(schema)}”; this page reads '
        f"{SCHEMA}, so some parts may be missing.</p>"
    )
    return (
        f"<header><h1>Would swarm help {esc(text(report.get('repo')) or 'this repository')}?</h1>\n"
        f'<p class="meta">Generated {esc(text(report.get("generated_at")))} by swarm '
        f"{esc(text(report.get('swarm_version')))} · model: {esc(model) or 'none (deterministic lanes only)'}"
        f" · lanes: {esc(lanes) or '—'}</p>\n{warning}</header>\n"
        f'<p class="lede">{esc(_lede(report))}</p>\n{_cards(report)}'
    )


def _lede(report: Mapping[str, Any]) -> str:
    """The report in one or two sentences, as a team would say it."""
    merged, fixes = part(report.get("merged")), part(part(report.get("regressions")).get("summary"))
    summary = part(merged.get("summary"))
    said = []
    if summary:
        days = part(report.get("settings")).get("later_days")
        within = f" within {count(days)} days" if number(days) is not None else ""
        said.append(
            f"On {count(summary.get('changes'))} merged changes swarm would have blocked "
            f"{count(summary.get('blocked'))} and commented {count(summary.get('findings'))} times, "
            f"{count(summary.get('later_changed'))} of them on lines a later commit changed{within}."
        )
    if fixes:
        said.append(
            f"Of {count(fixes.get('fixes'))} bug fixes, reversed, it flagged {count(fixes.get('hit'))} "
            "at the fix's lines."
        )
    return " ".join(said) or "This report holds no reviewed changes."


def _cards(report: Mapping[str, Any]) -> str:
    merged = part(part(report.get("merged")).get("summary"))
    fixes = part(part(report.get("regressions")).get("summary"))
    scores = part(part(report.get("dataset")).get("summary"))
    totals = part(report.get("totals"))
    cards: list[tuple[str, str, str]] = []
    if merged:
        per_1000 = f"{count(merged.get('per_1000_lines'))} per 1,000 lines"
        not_run = "".join(
            f" · {count(merged[k])} {k}" for k in ("failed", "skipped") if number(merged.get(k))
        )
        cards += [
            (
                "Changes reviewed",
                count(merged.get("changes")),
                f"{count(merged.get('lines'))} lines{not_run}",
            ),
            ("Findings", count(merged.get("findings")), per_1000),
            ("Would block", count(merged.get("blocked")), f"{share(merged.get('blocked_share'))} of changes"),
            (
                "Later changed",
                share(merged.get("later_changed_share")),
                f"{count(merged.get('later_changed'))} findings on lines changed later: the precision proxy",
            ),
        ]
    if fixes:
        hit = f"{count(fixes.get('hit'))} of {count(fixes.get('fixes'))}"
        cards.append(("Regressions caught", hit, f"recall {share(fixes.get('recall'))}"))
    if scores:
        detail = f"precision {share(scores.get('precision'))} · recall {share(scores.get('recall'))}"
        cards.append(("Dataset F1", share(scores.get("f1")), detail))
    if totals:
        detail = f"{count(totals.get('tokens'))} tokens · {count(totals.get('model_calls'))} model calls"
        cards.append(("Cost", money(totals.get("cost_usd")), detail))
        cards.append(("Time", seconds(totals.get("seconds")), ""))
    cells = "".join(
        f'<div class="card"><div class="label">{esc(label)}</div><div class="value">{esc(value)}</div>'
        f'<div class="detail">{esc(detail)}</div></div>'
        for label, value, detail in cards
    )
    return f'<section class="cards" aria-label="Headline numbers">{cells}</section>\n'


def _chart_data(report: Mapping[str, Any]) -> dict[str, Any]:
    """What the script draws: only numbers, short shas and subjects (as tooltip text)."""
    changes = items(part(report.get("merged")).get("changes"))
    fixes = done(items(part(report.get("regressions")).get("fixes")))
    lanes = [
        {
            "lane": text(row.get("lane")),
            "precision": number(row.get("precision_proxy")),
            "recall": number(row.get("recall")),
        }
        for row in items(report.get("per_lane"))
    ]
    timeline = []
    for change in done(changes):
        moment = when(change.get("date"))
        if moment is not None:
            timeline.append(
                {
                    "sha": short_sha(change.get("sha")),
                    "t": round(moment.timestamp() * 1000),
                    "findings": len(items(change.get("findings"))),
                    "verdict": VERDICTS.get(text(change.get("verdict")), ""),
                    "subject": text(change.get("subject"))[:200],
                }
            )
    scores = part(part(report.get("dataset")).get("summary"))
    hit = sum(fix.get("hit") is True for fix in fixes)
    return {
        "lanes": lanes,
        "timeline": timeline,
        "costs": _costs(done(changes), fixes),
        "regressions": {"hit": hit, "missed": len(fixes) - hit},
        "dataset": {key: number(scores.get(key)) for key in ("precision", "recall", "f1")},
    }


def _costs(changes: list[Mapping[str, Any]], fixes: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Cost per review, oldest first; tokens when nothing cost money, seconds when no model ran."""
    reviews = [("merged", r) for r in changes] + [("regression", r) for r in fixes]
    unit = next(
        (key for key in ("cost_usd", "tokens") if any((number(r.get(key)) or 0) > 0 for _, r in reviews)),
        "seconds",
    )
    dated = sorted(reviews, key=lambda kr: when(kr[1].get("date")) or datetime.max.replace(tzinfo=UTC))
    rows = [
        {
            "label": short_sha(r.get("sha")),
            "kind": kind,
            "value": max(number(r.get(unit)) or 0.0, 0.0),
            "subject": text(r.get("subject"))[:200],
        }
        for kind, r in dated
    ]
    return {"unit": "usd" if unit == "cost_usd" else unit, "reviews": rows}


def _figure(name: str, caption: str, drawn: bool, legend: str = "", empty: str = "") -> str:
    head = f"<figcaption>{caption}</figcaption>"
    if not drawn:  # nothing to draw: the figure says so instead of showing empty axes
        return f'<figure class="chart empty">{head}<p class="none">{empty}</p></figure>'
    return (
        f'<figure class="chart" data-chart="{name}">{head}'
        f'<svg role="img" aria-label="{caption}" viewBox="0 0 640 40"></svg>'
        f'<p class="legend">{legend}</p></figure>'
    )


def _charts(report: Mapping[str, Any]) -> str:
    data = _chart_data(report)
    unit = {"usd": "cost (US$)", "tokens": "tokens (nothing charged)", "seconds": "seconds (no model ran)"}
    two = '<span class="key s1"></span>{}<span class="key s2"></span>{}'
    figures = [
        _figure(
            "lanes",
            "Per lane: precision proxy and recall",
            bool(data["lanes"]),
            two.format("precision proxy (findings on lines changed later)", "recall (regression fixes hit)"),
            "No per-lane numbers in this report.",
        ),
        _figure(
            "timeline",
            "Findings per change over time",
            bool(data["timeline"]),
            "One point per merged change; red points would have requested changes or blocked.",
            "No reviewed merged changes with a date.",
        ),
        _figure(
            "costs",
            f"Per review: {unit[data['costs']['unit']]}",
            bool(data["costs"]["reviews"]),
            two.format("merged change", "regression fix, reversed"),
            "No reviews.",
        ),
        _figure(
            "regressions",
            "Regression fixes, reversed: hit or missed",
            any(data["regressions"].values()),
            '<span class="key s1"></span>a finding on the fix\'s lines<span class="key s3"></span>missed',
            "No regression fixes in this report.",
        ),
    ]
    if any(value is not None for value in data["dataset"].values()):
        figures.append(_figure("dataset", "Dataset: precision, recall and F1", True, "Scored by location."))
    return (
        '<h2>Charts</h2>\n<noscript><p class="note">The charts need JavaScript; the tables below hold '
        'the same numbers.</p></noscript>\n<section class="charts">' + "\n".join(figures) + "</section>\n"
    )
