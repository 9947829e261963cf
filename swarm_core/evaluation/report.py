"""The evaluation report: the `swarm-eval/1` object (docs/evaluation.md), its terminal and markdown tables.

`build_report` turns the finished task results into the contract object that `--format json`
writes and the HTML page reads; `render_text` draws its tables for a terminal or as markdown.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from swarm_core import __version__
from swarm_core.evaluation.plan import EvalSettings
from swarm_core.evaluation.scoring import ratio

__all__ = ["SCHEMA", "build_report", "render_json", "render_text"]

SCHEMA = "swarm-eval/1"
_BLOCKING = frozenset({"REQUEST_CHANGES", "BLOCK"})


def _merged(items: list[dict[str, Any]]) -> dict[str, Any]:
    done = [i for i in items if i["status"] == "done"]
    lines = sum(int(i.get("lines") or 0) for i in done)
    found = [f for i in done for f in i["findings"]]
    blocked = sum(1 for i in done if i.get("verdict") in _BLOCKING)
    later = sum(1 for f in found if f.get("later_changed"))
    summary = {
        "changes": len(done),
        "lines": lines,
        "findings": len(found),
        "per_1000_lines": round(1000 * len(found) / lines, 2) if lines else 0.0,
        "blocked": blocked,
        "blocked_share": ratio(blocked, len(done)),
        "later_changed": later,
        "later_changed_share": ratio(later, len(found)),
        "failed": sum(1 for i in items if i["status"] == "failed"),
        "skipped": sum(1 for i in items if i["status"] == "skipped"),
        "median_seconds": round(statistics.median(i["seconds"] for i in done), 3) if done else 0.0,
    }
    return {"changes": items, "summary": summary}


def _regressions(items: list[dict[str, Any]]) -> dict[str, Any]:
    done = [i for i in items if i["status"] == "done"]
    hit = sum(1 for i in done if i.get("hit"))
    summary = {"fixes": len(done), "hit": hit, "recall": ratio(hit, len(done))}
    summary["failed"] = sum(1 for i in items if i["status"] == "failed")
    return {"fixes": items, "summary": summary}


def _dataset(name: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    done = [i for i in items if i["status"] == "done"]
    golden = sum(len(i["golden"]) for i in done)
    matched_golden = sum(1 for i in done for g in i["golden"] if g.get("matched"))
    findings = sum(len(i["findings"]) for i in done)
    matched = sum(1 for i in done for f in i["findings"] if f.get("matched"))
    precision, recall = ratio(matched, findings), ratio(matched_golden, golden)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    summary: dict[str, Any] = {"golden": golden, "matched": matched_golden, "findings": findings}
    summary.update(precision=precision, recall=recall, f1=f1)
    return {"name": name, "cases": items, "summary": summary}


def _per(
    key: str, merged: list[dict[str, Any]], fixes: list[dict[str, Any]], names: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """One row per lane (key "lane") or analyzer (key "source") over every finished result.

    `names` get a row even when they found nothing (the lanes that ran).
    """
    rows: dict[str, dict[str, Any]] = {}

    def row(name: str) -> dict[str, Any]:
        return rows.setdefault(
            name,
            {
                key if key == "lane" else "analyzer": name,
                "findings": 0,
                "later_changed": 0,
                "regression_hits": 0,
            },
        )

    for name in names:
        row(name)
    for item in merged:
        for f in item["findings"]:
            r = row(f[key])
            r["findings"] += 1
            r["later_changed"] += bool(f.get("later_changed"))
    fixes_done = [i for i in fixes if i["status"] == "done"]
    for item in fixes_done:
        for name in sorted({f[key] for f in item["findings"] if f.get("hit")}):
            row(name)["regression_hits"] += 1
    for name, r in rows.items():
        r["precision_proxy"] = ratio(r["later_changed"], r["findings"])
        r["recall"] = ratio(r["regression_hits"], len(fixes_done))
        if key == "lane":
            usage = [i.get("lanes", {}).get(name, {}) for i in merged + fixes]
            r["tokens"] = sum(int(u.get("tokens", 0)) for u in usage)
            r["cost_usd"] = round(sum(float(u.get("cost_usd", 0.0)) for u in usage), 6)
    return sorted(
        rows.values(),
        key=lambda r: (-r["findings"], -r["regression_hits"], str(r.get("lane") or r.get("analyzer"))),
    )


def build_report(
    repo: str,
    settings: EvalSettings,
    lanes: Sequence[str],
    items: Sequence[dict[str, Any]],
    *,
    seconds: float,
    dataset: str | None = None,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The `swarm-eval/1` report of an evaluation's results.

    Args:
        repo: owner/name or the clone's folder name.
        settings: the evaluation's settings.
        lanes: the lanes that ran.
        items: every task's result (runner.Runner.run).
        seconds: the evaluation's wall time.
        dataset: the dataset's name, when cases were reviewed.
        generated_at: the report's time (default now, UTC).
    """
    merged = [i for i in items if i["kind"] == "merged"]
    fixes = [i for i in items if i["kind"] == "regression"]
    cases = [i for i in items if i["kind"] == "case"]
    done_merged = [i for i in merged if i["status"] == "done"]
    when = (generated_at or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {
        "schema": SCHEMA,
        "repo": repo,
        "generated_at": when,
        "swarm_version": __version__,
        "model": settings.model,
        "lanes": list(lanes),
        "settings": settings.to_dict(),
        "merged": _merged(merged),
        "regressions": _regressions(fixes),
        "dataset": _dataset(dataset or "dataset", cases) if cases or dataset else None,
        "per_lane": _per("lane", done_merged, fixes, lanes),
        "per_analyzer": _per("source", done_merged, fixes),
        "totals": {
            "seconds": round(seconds, 3),
            "tokens": sum(int(i.get("tokens") or 0) for i in items),
            "cost_usd": round(sum(float(i.get("cost_usd") or 0.0) for i in items), 6),
            "model_calls": sum(int(i.get("model_calls") or 0) for i in items),
            "resumed": sum(1 for i in items if i.get("resumed")),
        },
    }


def render_json(report: dict[str, Any]) -> str:
    """The report as JSON text."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _tables(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table the report shows."""
    m, r, t = report["merged"]["summary"], report["regressions"]["summary"], report["totals"]
    tables = [
        (
            f"swarm eval of {report['repo']} (model: {report['model'] or 'none, deterministic lanes'})",
            ["measure", "value"],
            [
                ["merged changes reviewed", f"{m['changes']} ({m['lines']:,} changed lines)"],
                ["findings", f"{m['findings']} = {m['per_1000_lines']:.1f} per 1,000 lines"],
                ["would block (REQUEST_CHANGES/BLOCK)", f"{m['blocked']} = {100 * m['blocked_share']:.1f} %"],
                [
                    f"findings on lines changed within {report['settings']['later_days']} days",
                    f"{m['later_changed']} = {100 * m['later_changed_share']:.0f} %",
                ],
                ["bug fixes reviewed reversed", str(r["fixes"])],
                [
                    f"fixes flagged at their lines (±{report['settings']['window']})",
                    f"{r['hit']} = {100 * r['recall']:.0f} %",
                ],
                [
                    "failed / skipped / resumed",
                    f"{m['failed'] + r['failed']} / {m['skipped']} / {t['resumed']}",
                ],
                ["time, tokens, cost", f"{t['seconds']:.1f} s, {t['tokens']:,} tokens, ${t['cost_usd']:.4f}"],
            ],
        )
    ]
    d = report.get("dataset")
    if d:
        s = d["summary"]
        tables.append(
            (
                f"dataset {d['name']}: {len(d['cases'])} cases",
                ["golden", "matched", "findings", "precision", "recall", "F1"],
                [
                    [
                        str(s["golden"]),
                        str(s["matched"]),
                        str(s["findings"]),
                        f"{s['precision']:.2f}",
                        f"{s['recall']:.2f}",
                        f"{s['f1']:.2f}",
                    ]
                ],
            )
        )
    for key, title in (("per_lane", "lane"), ("per_analyzer", "analyzer")):
        rows = [
            [
                str(row.get(title)),
                str(row["findings"]),
                str(row["later_changed"]),
                f"{row['precision_proxy']:.2f}",
                str(row["regression_hits"]),
                f"{row['recall']:.2f}",
            ]
            for row in report[key]
        ]
        if rows:
            tables.append(
                (
                    f"per {title}",
                    [title, "findings", "later changed", "precision proxy", "fixes hit", "recall"],
                    rows,
                )
            )
    return tables


def render_text(report: dict[str, Any], fmt: str) -> str:
    """The report's tables as markdown (`fmt` "markdown") or plain terminal text ("terminal")."""
    out: list[str] = []
    for title, header, rows in _tables(report):
        if fmt == "markdown":
            out += [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        else:
            widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]
            out += [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
            out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        out.append("")
    return "\n".join(out)
