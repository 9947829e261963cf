"""Intake: an issue's text as symptoms (observed, expected, reproduction, environment) and stack frames.

Deterministic and conservative: a part the issue does not state is left empty and marked
missing, never invented. Stack traces are parsed for Python, JavaScript/TypeScript, Java,
Go and Rust into (file, line, function) frames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Frame", "Intake", "parse_frames", "parse_issue"]


@dataclass(frozen=True, slots=True)
class Frame:
    """One stack frame: the file as the trace wrote it, the line and the function."""

    file: str
    line: int | None
    function: str
    language: str


@dataclass(frozen=True)
class Intake:
    """What the issue says, sorted into parts; `missing` names the parts it does not state."""

    title: str
    observed: str = ""
    expected: str = ""
    reproduction: str = ""
    environment: str = ""
    frames: tuple[Frame, ...] = ()
    code: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    missing: tuple[str, ...] = field(default=())


_PY = re.compile(r'File "([^"]+)", line (\d+), in ([\w<>.]+)')
_JS = re.compile(
    r"at (?:(?:async )?([\w$.<>\[\] ]+?) \()?"
    r"((?:[A-Za-z]:)?[^\s():]+\.(?:[cm]?js|jsx|ts|tsx)):(\d+)(?::\d+)?\)?"
)
_JAVA = re.compile(r"at ([\w$.]+)\.([\w$<>]+)\(([\w$]+\.(?:java|kt|scala)):(\d+)\)")
_GO = re.compile(r"^\s*([\w./*()-]+\.go):(\d+)", re.M)
_GO_FUNC = re.compile(r"^([\w./*()-]+)\(.*\)\s*$", re.M)
_RUST = re.compile(r"at ((?:\./)?[\w./-]+\.rs):(\d+)(?::\d+)?")
_RUST_FUNC = re.compile(r"^\s*\d+:\s+(?:0x[0-9a-f]+ - )?([\w:<>]+)\s*$", re.M)
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
_TICK = re.compile(r"`([^`\n]{2,120})`")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_PATH = re.compile(
    r"(?<![\w/.])((?:[\w.-]+/)*[\w.-]+\.(?:py|pyx|pyi|js|jsx|ts|tsx|java|kt|go|rs|rb|c|h|cc|cpp|hpp|cs|rst|md|cfg|toml|ini|yaml|yml))\b"
)

_SECTIONS = {
    "observed": (
        "actual behavio",
        "actual result",
        "actual outcome",
        "current behavio",
        "what happened",
        "observed",
        "bug",
    ),
    "expected": ("expected behavio", "expected result", "expected outcome", "expected", "what you expected"),
    "reproduction": (
        "steps to reproduce",
        "to reproduce",
        "reproduc",
        "how to reproduce",
        "minimal example",
        "mcve",
        "code to reproduce",
        "example",
    ),
    "environment": ("environment", "version", "system details", "platform", "operating system"),
}
_HEADING = re.compile(r"^\s{0,3}(?:#{1,6}\s*|\*\*)?([A-Za-z][^\n:*#]{1,60}?)(?:\*\*)?\s*:?\s*$")


def parse_frames(text: str) -> list[Frame]:
    """Stack frames in the order the traces list them (Python: outermost first)."""
    frames: list[Frame] = []
    for m in _PY.finditer(text):
        frames.append(Frame(m.group(1), int(m.group(2)), m.group(3), "python"))
    for m in _JAVA.finditer(text):
        frames.append(Frame(m.group(3), int(m.group(4)), f"{m.group(1)}.{m.group(2)}", "java"))
    for m in _JS.finditer(text):
        if m.group(2).startswith(("node:", "internal/")):
            continue
        frames.append(Frame(m.group(2), int(m.group(3)), (m.group(1) or "").strip(), "javascript"))
    for m in _GO.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        fn = _GO_FUNC.match(before.strip())
        frames.append(Frame(m.group(1), int(m.group(2)), fn.group(1) if fn else "", "go"))
    for m in _RUST.finditer(text):
        before = text[: m.start()].rstrip().rsplit("\n", 1)[-1]
        fn = _RUST_FUNC.match(before)
        frames.append(Frame(m.group(1), int(m.group(2)), fn.group(1) if fn else "", "rust"))
    return frames


def _sections(body: str) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in body.splitlines():
        m = _HEADING.match(line)
        heading = m.group(1).strip().lower() if m else ""
        key = None
        if heading and len(heading) <= 60:
            for name, keys in _SECTIONS.items():
                if any(heading.startswith(k) or k in heading for k in keys):
                    key = name
                    break
        if key is not None:
            current = key
            found.setdefault(key, [])
            continue
        if current is not None:
            found[current].append(line)
    return {k: "\n".join(v).strip() for k, v in found.items() if "\n".join(v).strip()}


def parse_issue(title: str, body: str, comments: tuple[str, ...] = ()) -> Intake:
    """Sort an issue into symptoms; parts it does not state are listed in `missing`."""
    text = "\n".join((title, body, *comments))
    sections = _sections(body or "")
    code = tuple(m.group(1) for m in _FENCE.finditer(text))
    observed = sections.get("observed", "")
    if not observed:
        first = (body or "").strip().split("\n\n", 1)[0].strip()
        observed = first if first and not first.startswith("```") else ""
    idents: dict[str, None] = {}
    for chunk in (*code, *(m.group(1) for m in _TICK.finditer(text)), title):
        for ident in _IDENT.findall(chunk):
            if len(ident) >= 3:
                idents[ident] = None
    paths = tuple(dict.fromkeys(m.group(1) for m in _PATH.finditer(text)))
    parts = {
        "observed": observed,
        "expected": sections.get("expected", ""),
        "reproduction": sections.get("reproduction", "") or (code[0] if code else ""),
        "environment": sections.get("environment", ""),
    }
    return Intake(
        title=title.strip(),
        observed=parts["observed"],
        expected=parts["expected"],
        reproduction=parts["reproduction"],
        environment=parts["environment"],
        frames=tuple(parse_frames(text)),
        code=code,
        identifiers=tuple(idents),
        paths=paths,
        missing=tuple(k for k, v in parts.items() if not v),
    )
