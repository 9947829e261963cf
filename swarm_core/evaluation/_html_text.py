"""Reading an untrusted eval report for the HTML page: typed values, escaped text, formatted numbers.

A report is parsed JSON from a file anyone could have edited, so every reader here accepts any
value: one of the wrong type reads as missing, never as an exception halfway through a page.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

__all__ = [
    "VERDICTS",
    "commit_link",
    "count",
    "done",
    "esc",
    "items",
    "listed",
    "money",
    "number",
    "part",
    "script_json",
    "seconds",
    "share",
    "short_sha",
    "text",
    "when",
]

# A verdict's CSS class: a report's own words never reach an attribute.
VERDICTS = {
    "APPROVE": "approve",
    "APPROVE_WITH_NOTES": "notes",
    "REQUEST_CHANGES": "changes",
    "BLOCK": "block",
}
_SHA = re.compile(r"[0-9a-f]{7,64}")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value: object) -> str:
    """JSON that cannot end the `<script>` element holding it, nor a JavaScript line."""
    encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group(0)], encoded)


def esc(value: object) -> str:
    return "" if value is None else escape(value if isinstance(value, str) else str(value), quote=True)


def text(value: object) -> str:
    return value if isinstance(value, str) else ""


def number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def part(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def items(value: object) -> list[Mapping[str, Any]]:
    return [item for item in listed(value) if isinstance(item, Mapping)]


def listed(value: object) -> list[object]:
    """The elements of a JSON array; anything else (a string too) holds none."""
    return list(value) if isinstance(value, list) else []


def when(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def done(reviews: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    # A review without a status is taken as done: older reports and hand-written ones omit it.
    return [r for r in reviews if r.get("status", "done") == "done"]


def count(value: object) -> str:
    n = number(value)
    return "—" if n is None else f"{n:,.0f}" if n == int(n) else f"{n:,.2f}"


def share(value: object) -> str:
    n = number(value)
    return "—" if n is None else f"{n * 100:.0f} %"


def money(value: object) -> str:
    n = number(value)
    return "—" if n is None else f"${n:.4f}" if n < 1 else f"${n:,.2f}"


def seconds(value: object) -> str:
    n = number(value)
    return "—" if n is None else f"{n:.1f} s" if n < 120 else f"{n / 60:.1f} min"


def short_sha(sha: object) -> str:
    return text(sha)[:10]


def commit_link(report: Mapping[str, Any], sha: object) -> str:
    """The short sha, linked to the commit on GitHub when the repository is `owner/name`."""
    full, repo = text(sha), text(report.get("repo"))
    short = f'<span class="sha" title="{esc(full)}">{esc(short_sha(full))}</span>'
    if _SHA.fullmatch(full) and _REPO.fullmatch(repo):
        return f'<a href="https://github.com/{repo}/commit/{full}">{short}</a>'
    return short
