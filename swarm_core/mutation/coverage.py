"""Which changed lines the tests execute: the test command run once under `coverage run`."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from swarm_core.errors import MutationError

__all__ = ["coverage_command", "executed_lines", "read_report"]

_PYTHON = re.compile(r"^python(\d+(\.\d+)*)?$")


def coverage_command(
    test_command: str, data_file: Path, include: Iterable[Path], path: str | None = None
) -> list[str]:
    """The test command run under `coverage run`, measuring only the `include` files.

    `python -m mod ...` and `python script ...` run as they are under coverage; any other
    first word must be a Python script on PATH (`pytest`, `tox` is not one), run by the
    interpreter its `#!` line names.

    Raises:
        MutationError: the command does not run Python, so coverage cannot follow it.
    """
    words = shlex.split(test_command)
    options = [f"--data-file={data_file}", "--include=" + ",".join(str(p) for p in include)]
    if _PYTHON.match(Path(words[0]).name):
        if len(words) > 2 and words[1] == "-m":
            return [words[0], "-m", "coverage", "run", *options, "-m", *words[2:]]
        if len(words) > 1 and not words[1].startswith("-"):
            return [words[0], "-m", "coverage", "run", *options, *words[1:]]
        raise MutationError(
            f"mutation.test_command {test_command!r}: give `python -m MODULE ...` or `python SCRIPT ...`"
        )
    script = shutil.which(words[0], path=path)
    interpreter = _shebang(Path(script)) if script else None
    if script is None or interpreter is None:
        raise MutationError(
            f"mutation.test_command {test_command!r}: {words[0]!r} is not a Python script on PATH; "
            "the command must run Python (e.g. `python -m pytest -x -q`) so coverage can follow it"
        )
    return [*interpreter, "-m", "coverage", "run", *options, script, *words[1:]]


def _shebang(script: Path) -> list[str] | None:
    try:
        with script.open("rb") as fh:
            first = fh.readline(512).decode("utf-8", "replace")
    except OSError:
        return None
    words = first[2:].split() if first.startswith("#!") else []
    if words and _PYTHON.match(Path(words[-1]).name):
        return words
    return None


def executed_lines(
    report: Mapping[str, object], root: Path, paths: Sequence[str]
) -> dict[str, frozenset[int]]:
    """The lines of `paths` (relative to `root`) that a `coverage json` report says ran."""
    files = report.get("files")
    wanted = set(paths)
    out: dict[str, frozenset[int]] = {}
    if not isinstance(files, dict):
        return out
    for name, data in files.items():
        where = Path(name)
        where = where if where.is_absolute() else root / where
        try:
            rel = where.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue  # a file outside the copy: an installed package, not the change
        lines = data.get("executed_lines") if isinstance(data, dict) else None
        if rel in wanted and isinstance(lines, list):
            out[rel] = frozenset(int(n) for n in lines)
    return out


def read_report(path: Path) -> dict[str, object]:
    """A `coverage json` report, or an empty one when coverage wrote none (no file was imported)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
