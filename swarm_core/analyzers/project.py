"""The reviewed project's own tool settings: Python target, ruff, bandit, coverage, complexity limit.

All are read from the base version, so a change cannot relax the rules it is checked against;
only the tests signal asks for the head's Python floor (tests that only dropped Pythons ran).
"""

from __future__ import annotations

import configparser
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from swarm_core.analyzers.base import AnalyzerContext, safe_relpath
from swarm_core.models import Side

__all__ = [
    "bandit_config_args",
    "complexity_limits",
    "configures_ruff",
    "coverage_exclusions",
    "enables_ruff_preview",
    "python_target",
    "ruff_config_files",
    "ruff_settings_of",
]

RUFF_CONFIG_NAMES = ("pyproject.toml", "ruff.toml", ".ruff.toml")
_PY_TARGET = re.compile(r"py3(\d+)")
_REQUIRES = re.compile(r"(?:>=?|\^|~=?)\s*3\.(\d+)")
_PYTHON_REQUIRES = re.compile(r"^\s*python_requires\s*=\s*(.+)$", re.MULTILINE)


def _toml(ctx: AnalyzerContext, path: str, side: Side = Side.LEFT) -> dict[str, Any]:
    data = ctx.read(path, side)
    if data is None:
        return {}
    try:
        return tomllib.loads(data.decode("utf-8-sig", "replace"))  # a byte-order mark is no TOML
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


# Within one directory ruff prefers `.ruff.toml`, then `ruff.toml`, then `pyproject.toml`.
_RUFF_PREFERENCE = {".ruff.toml": 0, "ruff.toml": 1, "pyproject.toml": 2}
_RUFF_DEFAULT_MAX_COMPLEXITY = 10
_FLAKE8_FILES = ("setup.cfg", "tox.ini", ".flake8")


def ruff_settings_of(name: str, doc: dict[str, Any]) -> dict[str, Any] | None:
    """ruff's settings in a parsed config file; None for a pyproject.toml without `[tool.ruff]`."""
    settings = doc.get("tool", {}).get("ruff") if name.endswith("pyproject.toml") else doc
    return settings if isinstance(settings, dict) else None


def _ruff_table(ctx: AnalyzerContext, name: str) -> dict[str, Any] | None:
    """ruff's settings in one config file of the base; None for a pyproject.toml without `[tool.ruff]`."""
    return ruff_settings_of(name, _toml(ctx, name))


def enables_ruff_preview(ctx: AnalyzerContext, configs: Iterable[str]) -> bool:
    """Whether one of these ruff configs turns on preview (for everything, or for lint)."""
    for name in configs:
        settings = _ruff_table(ctx, name) or {}
        lint = settings.get("lint")
        if settings.get("preview") is True or (isinstance(lint, dict) and lint.get("preview") is True):
            return True
    return False


def _specificity(selectors: Iterable[object], code: str) -> int:
    """Length of the longest selector that picks `code` (`ALL` is the least specific), -1 for none."""
    return max(
        (
            0 if sel == "ALL" else len(sel)
            for sel in map(str, selectors)
            if sel == "ALL" or code.startswith(sel)
        ),
        default=-1,
    )


def _ruff_max_complexity(settings: dict[str, Any]) -> int | None:
    """ruff's C901 limit when the config selects the rule (more specific selector wins, as in ruff)."""
    lint = settings.get("lint")
    lint = lint if isinstance(lint, dict) else {}

    def option(key: str) -> Any:
        return lint.get(key, settings.get(key))

    def listed(*keys: str) -> list[object]:
        return [sel for key in keys for sel in (option(key) or [])]

    chosen = _specificity(listed("select", "extend-select"), "C901")
    if chosen < 0 or chosen <= _specificity(listed("ignore", "extend-ignore"), "C901"):
        return None
    mccabe = option("mccabe")
    limit = mccabe.get("max-complexity") if isinstance(mccabe, dict) else None
    return limit if isinstance(limit, int) and limit >= 0 else _RUFF_DEFAULT_MAX_COMPLEXITY


def _ini_section(ctx: AnalyzerContext, name: str, section: str) -> configparser.SectionProxy | None:
    """A section of an INI config at base; None when the file, or the section, is missing or broken."""
    data = ctx.read(name, Side.LEFT)
    if data is None:
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(data.decode("utf-8", "replace"))
    except configparser.Error:
        return None
    return parser[section] if parser.has_section(section) else None


def _flake8_max_complexity(ctx: AnalyzerContext) -> tuple[int, str] | None:
    """flake8's `max-complexity` from the first root config with a `[flake8]` section."""
    for name in _FLAKE8_FILES:
        section = _ini_section(ctx, name, "flake8")
        if section is None:
            continue
        raw = section.get("max-complexity", section.get("max_complexity", "")).strip()
        return (int(raw), name) if raw.isdecimal() and int(raw) > 0 else None
    return None


def _nearness(config: str) -> tuple[int, int]:
    path = PurePosixPath(config)
    return (-len(path.parent.parts), _RUFF_PREFERENCE[path.name])


def complexity_limits(ctx: AnalyzerContext, paths: Iterable[str]) -> dict[str, tuple[int, str]]:
    """The project's own cyclomatic complexity limit per file: path -> (limit, the config that sets it).

    ruff's `max-complexity` where the file's ruff config (the nearest one, as ruff discovers
    them) selects C901, else flake8's `max-complexity`. Files under no limit are left out, and
    so is every file but Python's: both tools check nothing else.
    """
    wanted = [p for p in paths if safe_relpath(p) is not None and p.endswith((".py", ".pyi"))]
    configs = [(c, t) for c in ruff_config_files(ctx, wanted) if (t := _ruff_table(ctx, c)) is not None]
    flake8 = _flake8_max_complexity(ctx)
    out: dict[str, tuple[int, str]] = {}
    for path in wanted:
        parents = set(PurePosixPath(path).parents)
        own = [(c, t) for c, t in configs if PurePosixPath(c).parent in parents]
        nearest = min(
            own,
            key=lambda ct: (
                -len(PurePosixPath(ct[0]).parent.parts),
                _RUFF_PREFERENCE[PurePosixPath(ct[0]).name],
            ),
            default=None,
        )
        limit = _ruff_max_complexity(nearest[1]) if nearest is not None else None
        if limit is not None and nearest is not None:
            out[path] = (limit, f"ruff ({nearest[0]})")
        elif flake8 is not None:
            out[path] = (flake8[0], f"flake8 ({flake8[1]})")
    return out


# coverage.py's default `exclude_lines` (`DEFAULT_EXCLUDE`): `# pragma: no cover`, any case and spacing.
COVERAGE_DEFAULT_EXCLUDE = r"#\s*(pragma|PRAGMA)[:\s]?\s*(no|NO)\s*(cover|COVER)"
# Where coverage.py looks, in its order, and the section each file keeps its report settings in.
_COVERAGE_INI = ((".coveragerc", "report"), ("setup.cfg", "coverage:report"), ("tox.ini", "coverage:report"))


def _coverage_report(ctx: AnalyzerContext) -> dict[str, list[str]] | None:
    """The first config's report settings, as coverage.py finds them; None when no file has any."""
    for name, section in _COVERAGE_INI:
        table = _ini_section(ctx, name, section)
        if table is not None:
            return {k: [ln.strip() for ln in table[k].splitlines() if ln.strip()] for k in table}
    report = _toml(ctx, "pyproject.toml").get("tool", {}).get("coverage", {}).get("report")
    if isinstance(report, dict):
        return {k: [str(v) for v in vs] for k, vs in report.items() if isinstance(vs, list)}
    return None


def coverage_exclusions(ctx: AnalyzerContext) -> tuple[str, ...]:
    """The regexes of lines the project excludes from coverage, as coverage.py reads its config.

    `exclude_lines` replaces the default `# pragma: no cover`; `exclude_also` adds to it.
    """
    report = _coverage_report(ctx) or {}
    lines = report.get("exclude_lines", [COVERAGE_DEFAULT_EXCLUDE])
    return tuple(lines) + tuple(report.get("exclude_also", []))
