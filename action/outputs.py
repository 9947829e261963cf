"""What an Actions step leaves behind: job summary, step outputs, annotations (RULES 42-43)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from pathlib import Path

from swarm_core import Review, Severity, Side

__all__ = ["SUMMARY_LIMIT", "annotation_commands", "counts_json", "write_outputs", "write_summary"]

SUMMARY_LIMIT = 1024 * 1024  # GitHub shows at most 1 MiB per step summary
ANNOTATIONS_PER_TYPE = 10  # GitHub keeps 10 errors and 10 warnings per step
_CUT = (
    "\n\n> ⚠️ The summary was cut to GitHub's 1 MiB limit; the SARIF file and the check run have everything.\n"
)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation_commands(review: Review) -> list[str]:
    """`::error` for CRITICAL/HIGH, `::warning` for the rest: 10 of each at most, worst first."""
    out: list[str] = []
    counts = {"error": 0, "warning": 0}
    for f in review.confirmed():
        kind = "error" if f.severity.at_least(Severity.HIGH) else "warning"
        if counts[kind] >= ANNOTATIONS_PER_TYPE:
            continue
        counts[kind] += 1
        props = [f"file={_prop(f.path)}"]
        if f.line is not None and f.side is Side.RIGHT:
            props.append(f"line={f.line}")
            if f.end_line is not None and f.end_line != f.line:
                props.append(f"endLine={f.end_line}")
        props.append(f"title={_prop(f'{f.severity.value.upper()} {f.rule}')}")
        out.append(f"::{kind} {','.join(props)}::{_data(f.title + (': ' + f.message if f.message else ''))}")
    return out


def write_summary(path: Path | None, markdown: str) -> None:
    """Append to GITHUB_STEP_SUMMARY, cut to 1 MiB."""
    if path is None:
        return
    data = markdown.encode("utf-8")
    if len(data) > SUMMARY_LIMIT:
        keep = SUMMARY_LIMIT - len(_CUT.encode()) - 16
        data = data[:keep].decode("utf-8", "ignore").encode("utf-8") + _CUT.encode()
    with path.open("ab") as fh:
        fh.write(data + b"\n")


def write_outputs(path: Path | None, values: Mapping[str, str]) -> None:
    """Append step outputs to GITHUB_OUTPUT with heredoc delimiters (safe for multi-line values)."""
    if path is None:
        return
    with path.open("a", encoding="utf-8") as fh:
        for name, value in values.items():
            delimiter = f"SWARM_{secrets.token_hex(8)}"
            while delimiter in value:
                delimiter = f"SWARM_{secrets.token_hex(8)}"
            fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def counts_json(review: Review) -> str:
    """The severity counts as JSON (an output workflows can `fromJSON`)."""
    return json.dumps(review.counts())
