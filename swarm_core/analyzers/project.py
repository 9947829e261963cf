"""The reviewed project's own tool settings: Python target version, ruff config files, bandit config.

All are read from the base version, so a change cannot relax the rules it is checked against;
only the tests signal asks for the head's Python floor (tests that only dropped Pythons ran).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from swarm_core.analyzers.base import AnalyzerContext, safe_relpath
from swarm_core.models import Side

__all__ = ["bandit_config_args", "configures_ruff", "python_target", "ruff_config_files"]

RUFF_CONFIG_NAMES = ("pyproject.toml", "ruff.toml", ".ruff.toml")
_PY_TARGET = re.compile(r"py3(\d+)")
_REQUIRES = re.compile(r"(?:>=?|\^|~=?)\s*3\.(\d+)")
_PYTHON_REQUIRES = re.compile(r"^\s*python_requires\s*=\s*(.+)$", re.MULTILINE)


def _toml(ctx: AnalyzerContext, path: str, side: Side = Side.LEFT) -> dict[str, Any]:
    data = ctx.read(path, side)
    if data is None:
        return {}
    try:
        return tomllib.loads(data.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError:
        return {}


def python_target(ctx: AnalyzerContext, side: Side = Side.LEFT) -> tuple[int, int] | None:
    """The oldest Python the project supports, at base unless `side` asks for the head.

    ruff's `target-version`, else `requires-python`, else Poetry's `python` dependency, else
    setup.cfg's `python_requires`.
    """
    pyproject = _toml(ctx, "pyproject.toml", side)
    m = _PY_TARGET.fullmatch(str(_ruff_settings(ctx, pyproject, side).get("target-version", "")))
    if m:
        return (3, int(m.group(1)))
    poetry = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {})
    setup_cfg = ctx.read("setup.cfg", side) or b""
    for spec in (
        pyproject.get("project", {}).get("requires-python", ""),
        poetry.get("python", "") if isinstance(poetry, dict) else "",
        *_PYTHON_REQUIRES.findall(setup_cfg.decode("utf-8", "replace")),
    ):
        m = _REQUIRES.search(str(spec))
        if m:
            return (3, int(m.group(1)))
    return None


def configures_ruff(ctx: AnalyzerContext, configs: Iterable[str]) -> bool:
    """Whether any of these config files (from ruff_config_files) holds ruff settings."""
    for name in configs:
        if not name.endswith("pyproject.toml") or _toml(ctx, name).get("tool", {}).get("ruff") is not None:
            return True
    return False


def _ruff_settings(ctx: AnalyzerContext, pyproject: dict[str, Any], side: Side = Side.LEFT) -> dict[str, Any]:
    tool = pyproject.get("tool", {})
    settings = tool.get("ruff", {}) or _toml(ctx, "ruff.toml", side) or _toml(ctx, ".ruff.toml", side)
    return settings if isinstance(settings, dict) else {}


def ruff_config_files(ctx: AnalyzerContext, paths: Iterable[str]) -> list[str]:
    """Config files ruff would discover for these files: each name in every ancestor directory.

    Nested `ruff.toml` files and their `per-file-target-version` only apply when written
    beside the files at the same relative place.
    """
    listing = ctx.paths(Side.LEFT)
    known = set(listing) if listing is not None else None
    dirs: set[PurePosixPath] = set()
    for path in paths:
        rel = safe_relpath(path)
        if rel is not None:
            dirs.update(rel.parents)
    candidates = [
        (d / name).as_posix()
        for d in sorted(dirs, key=lambda p: (len(p.parts), p.as_posix()))
        for name in RUFF_CONFIG_NAMES
    ]
    if known is not None:
        return [c for c in candidates if c in known]
    # Without a listing (the App reads through the API) ask for all candidates at once.
    prefetch = getattr(ctx.change.contents, "prefetch", None)
    if callable(prefetch):
        prefetch([(c, Side.LEFT) for c in candidates])
    return [c for c in candidates if ctx.read(c, Side.LEFT) is not None]


def bandit_config_args(ctx: AnalyzerContext, root: Path) -> list[str]:
    """bandit options for the project's own config (`.bandit` INI or `[tool.bandit]`), written under root."""
    ini = ctx.read(".bandit", Side.LEFT)
    if ini is not None:
        (root / ".bandit").write_bytes(ini)
        return ["--ini", str(root / ".bandit")]
    pyproject = ctx.read("pyproject.toml", Side.LEFT)
    if pyproject is not None and _toml(ctx, "pyproject.toml").get("tool", {}).get("bandit"):
        target = root / ".swarm-bandit.toml"
        target.write_bytes(pyproject)
        return ["-c", str(target)]
    return []
