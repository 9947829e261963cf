"""The eval report's tables: lanes, merged changes, regression fixes, dataset cases, with drill-downs.

Each review's row is followed by a row holding its findings behind a `<details>` disclosure; each
finding opens onto its facts, the code at the reviewed head and its text, all escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from swarm_core.evaluation._html_text import (
    VERDICTS,
    commit_link,
    count,
    esc,
    items,
    listed,
    money,
    number,
    part,
    seconds,
    share,
    short_sha,
    text,
    when,
)

__all__ = ["breakdown_tables", "changes_table", "dataset_table", "footer", "regressions_table"]

_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
_MARKED = re.compile(r" *\d+>")  # the finding's line in `code`, as swarm eval numbers it
_FLAGS = (("later_changed", "later changed"), ("hit", "hit"), ("matched", "matched"))


def _row(tag: str, values: Iterable[str], numeric: frozenset[int] = frozenset(), cls: str = "") -> str:
    cells = "".join(
        f'<{tag} class="num">{v}</{tag}>' if i in numeric else f"<{tag}>{v}</{tag}>"
        for i, v in enumerate(values)
    )
    return f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>"


def _table(head: Iterable[str], rows: Iterable[str], numeric: frozenset[int] = frozenset()) -> str:
    return f"<table><thead>{_row('th', head, numeric)}</thead>\n" + "\n".join(rows) + "\n</table>\n"


def breakdown_tables(report: Mapping[str, Any]) -> str:
    """Per lane (with what each lane's model calls cost) and, when the report has it, per analyzer."""
    out = []
    for key, name in (("per_lane", "lane"), ("per_analyzer", "analyzer")):
        rows = items(report.get(key))
        if not rows:
            continue
        head = [
            name.capitalize(),
            "Findings",
            "Later changed",
            "Precision proxy",
            "Regression hits",
            "Recall",
        ]
        head += ["Tokens", "Cost"] if name == "lane" else []
        numeric = frozenset(range(1, len(head)))
        body = []
        for r in rows:
            cells = [
                esc(text(r.get(name))),
                count(r.get("findings")),
                count(r.get("later_changed")),
                share(r.get("precision_proxy")),
                count(r.get("regression_hits")),
                share(r.get("recall")),
            ]
            cells += [count(r.get("tokens")), money(r.get("cost_usd"))] if name == "lane" else []
            body.append(_row("td", cells, numeric))
        out.append(f"<h2>Per {name}</h2>\n" + _table(head, body, numeric))
    return "".join(out)


def _flag(value: object) -> str:
    """yes, no, or unknown (a later change not yet looked for, a review that did not run)."""
    if isinstance(value, bool):
        return '<span class="yes">yes</span>' if value else '<span class="no">no</span>'
    return '<span class="no">unknown</span>'


def _finding(f: Mapping[str, Any]) -> str:
    """One finding: a summary line that opens onto its facts, its code and its text."""
    severity = text(f.get("severity")).upper()
    sev_class = f"sev sev-{severity.lower()}" if severity in _SEVERITIES else "sev"
    line, end = number(f.get("line")), number(f.get("end_line"))
    where = text(f.get("path")) + (f":{line:.0f}" if line is not None else "")
    where += f"–{end:.0f}" if line is not None and end is not None and end > line else ""
    flags = [f"{label}: {_flag(f[key])}" for key, label in _FLAGS if key in f]
    facts = "".join(
        f"<dt>{name}</dt><dd>{esc(text(f.get(key))) or '—'}</dd>"
        for name, key in (
            ("lane", "lane"),
            ("source", "source"),
            ("rule", "rule"),
            ("verdict", "verdict"),
            ("id", "id"),
        )
    )
    code = text(f.get("code"))
    return (
        f'<details class="finding"><summary><span class="{sev_class}">{esc(severity) or "—"}</span> '
        f"{esc(text(f.get('title')) or '(untitled)')} · <code>{esc(where)}</code> · "
        f"{esc(text(f.get('lane')))} · {esc(text(f.get('verdict')))}"
        f"{' · ' if flags else ''}{' · '.join(flags)}</summary>"
        f'<dl class="facts">{facts}</dl>'
        + (f'<pre class="code"><code>{_code(code)}</code></pre>' if code else "")
        + f'<div class="body">{esc(text(f.get("body")))}</div></details>'
    )


def _code(code: str) -> str:
    """The code around a finding, escaped, its own line (numbered `  12>`) marked."""
    return "\n".join(
        f'<mark class="at">{esc(line)}</mark>' if _MARKED.match(line) else esc(line)
        for line in code.split("\n")
    )


def _drill(review: Mapping[str, Any], width: int, extra: str = "", what: str = "") -> str:
    """The row under a review: its error, or its findings (and `extra`, called `what`) in a disclosure."""
    findings = items(review.get("findings"))
    error = text(review.get("error"))
    if error:
        status = text(review.get("status"))
        content = f'<p class="{"failed" if status == "failed" else "note"}">{esc(status)}: {esc(error)}</p>'
    elif findings or extra:
        noun = "finding" if len(findings) == 1 else "findings"
        content = (
            f"<details><summary>{len(findings)} {noun}{what if extra else ''}</summary>{extra}"
            + "".join(_finding(f) for f in findings)
            + "</details>"
        )
    else:
        return ""
    return f'<tr class="drill"><td colspan="{width}">{content}</td></tr>'


def _review_cells(report: Mapping[str, Any], review: Mapping[str, Any]) -> list[str]:
    moment = when(review.get("date"))
    return [
        commit_link(report, review.get("sha")),
        esc(moment.date().isoformat() if moment else text(review.get("date"))),
        esc(text(review.get("subject"))),
    ]


def changes_table(report: Mapping[str, Any]) -> str:
    changes = items(part(report.get("merged")).get("changes"))
    if not changes:
        return '<h2>Merged changes</h2>\n<p class="none">No merged changes were reviewed.</p>\n'
    numeric = frozenset({3, 5, 6})
    head = ("Commit", "Date", "Subject", "Lines", "Verdict", "Findings", "Cost")
    rows = []
    for c in changes:
        verdict = text(c.get("verdict"))
        status = text(c.get("status")) or "done"
        shown = verdict if status == "done" else status
        drill = _drill(c, len(head))
        cells = [
            *_review_cells(report, c),
            count(c.get("lines")),
            f'<span class="verdict-{VERDICTS.get(verdict, "none")}">{esc(shown.replace("_", " ").lower())}'
            + "</span>",
            str(len(items(c.get("findings")))),
            money(c.get("cost_usd")),
        ]
        rows.append(_row("td", cells, numeric, "has-drill" if drill else "") + drill)
    return "<h2>Merged changes</h2>\n" + _table(head, rows, numeric)


def regressions_table(report: Mapping[str, Any]) -> str:
    fixes = items(part(report.get("regressions")).get("fixes"))
    if not fixes:
        return ""
    head = ("Fix", "Date", "Subject", "Why a fix", "Hit", "Hit by")
    rows = []
    for fix in fixes:
        lines = "".join(
            f"<li><code>{esc(text(span.get('path')))}</code> lines "
            f"{esc(', '.join(count(n) for n in listed(span.get('lines')) if number(n) is not None))}</li>"
            for span in items(fix.get("fix_lines"))
        )
        extra = f'<p class="note">Lines the fix changed:</p><ul>{lines}</ul>' if lines else ""
        drill = _drill(fix, len(head), extra, " and the lines the fix changed")
        by = ", ".join(text(name) for name in listed(fix.get("hit_by")) if isinstance(name, str))
        status = text(fix.get("status")) or "done"
        hit = _flag(fix.get("hit")) if status == "done" else f'<span class="failed">{esc(status)}</span>'
        cells = [*_review_cells(report, fix), esc(text(fix.get("why_fix"))), hit, esc(by) or "—"]
        rows.append(_row("td", cells, cls="has-drill" if drill else "") + drill)
    return "<h2>Regression fixes, reversed</h2>\n" + _table(head, rows)


def dataset_table(report: Mapping[str, Any]) -> str:
    dataset = part(report.get("dataset"))
    if not dataset:
        return ""
    head = ("Case", "Repository", "Base → head", "Golden matched", "Findings matched")
    numeric = frozenset({3, 4})
    rows = []
    for case in items(dataset.get("cases")):
        golden, findings = items(case.get("golden")), items(case.get("findings"))
        wanted = "".join(
            f"<li>{_flag(g.get('matched'))} <code>{esc(text(g.get('path')))}:{count(g.get('line'))}</code> "
            f'{esc(text(g.get("severity")))}: <span class="body">{esc(text(g.get("body")))}</span></li>'
            for g in golden
        )
        extra = (f'<p class="note">Golden comments:</p><ul>{wanted}</ul>' if wanted else "") + _judge(
            case, golden, findings
        )
        span = f"{esc(short_sha(case.get('base')))} → {esc(short_sha(case.get('head')))}"
        cells = (
            esc(text(case.get("id"))),
            esc(text(case.get("repo"))),
            f'<span class="sha">{span}</span>',
            f"{sum(g.get('matched') is True for g in golden)} of {len(golden)}",
            f"{sum(f.get('matched') is True for f in findings)} of {len(findings)}",
        )
        drill = _drill(case, len(head), extra, " and the golden comments")
        rows.append(_row("td", cells, numeric, "has-drill" if drill else "") + drill)
    name = esc(text(dataset.get("name")) or "dataset")
    return f"<h2>Dataset: {name}</h2>\n" + _table(head, rows, numeric)


def _at(rows: list[Mapping[str, Any]], index: object) -> str:
    """The path and line the judge's `index` into `rows` points at, or that it points at nothing."""
    n = number(index)
    if n is None or n != int(n) or not 0 <= n < len(rows):
        return f"#{esc(index)} (none)"
    row = rows[int(n)]
    return f"<code>{esc(text(row.get('path')))}:{count(row.get('line'))}</code>"


def _judge(
    case: Mapping[str, Any], golden: list[Mapping[str, Any]], findings: list[Mapping[str, Any]]
) -> str:
    """The LLM judge's verdicts on a case (which finding matched which golden comment, why), or its error."""
    judge = part(case.get("judge"))
    if not judge:
        return ""
    error = text(judge.get("error"))
    verdicts = "".join(
        f"<li>golden {_at(golden, v.get('golden'))} ← finding "
        + (_at(findings, v.get("finding")) if v.get("finding") is not None else "none")
        + f': <span class="body">{esc(text(v.get("reason")))}</span></li>'
        for v in items(judge.get("verdicts"))
    )
    said = f'<p class="failed">The judge failed: {esc(error)}</p>' if error else f"<ul>{verdicts}</ul>"
    return f'<p class="note">The judge, {esc(text(judge.get("model")))}, said:</p>{said}'


def footer(report: Mapping[str, Any]) -> str:
    settings = "".join(
        f"<dt>{esc(key)}</dt><dd>{esc(json.dumps(value, ensure_ascii=False, default=str))}</dd>"
        for key, value in part(report.get("settings")).items()
    )
    totals = part(report.get("totals"))
    spent = (
        f"{seconds(totals.get('seconds'))}, {count(totals.get('tokens'))} tokens, "
        f"{count(totals.get('model_calls'))} model calls, {money(totals.get('cost_usd'))}"
    )
    return (
        f'<footer><h2>How this was measured</h2><dl class="facts">{settings}'
        f"<dt>spent</dt><dd>{esc(spent)}</dd><dt>schema</dt><dd>{esc(report.get('schema'))}</dd></dl>"
        "<p>A finding on a line that a later commit changed is a proxy for a useful one, not proof. "
        "A regression fix is reviewed reversed: a hit is a finding on or near the lines the fix changed.</p>"
        "</footer>"
    )
