"""ruff's classic default rules, written into a project config that chooses no rules itself.

ruff 0.16 (July 2026) widened the rules it checks when a config names none (isort, flake8-
comprehensions, pylint refactorings ...). A project whose config sets options (line length,
ignores, per-file ignores) but no `select` was written against the classic defaults (syntax,
undefined names, unused imports): the wider set reports style the project never chose. So
swarm's copy of such a config gets `select = ["E4", "E7", "E9", "F"]` in the same table as
the project's own `ignore` and `extend-select`, which then apply to it as before (a `--select`
on the command line, or in a config that extends this one, would discard them).

The edit is textual (no TOML writer) and checked: the result must parse to the project's own
settings plus that one key, or the config is left as it was.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from swarm_core.analyzers.project import ruff_settings_of

__all__ = ["CLASSIC_RULES", "pin_classic_rules"]

CLASSIC_RULES = ("E4", "E7", "E9", "F")
_SELECT = "[" + ", ".join(f'"{code}"' for code in CLASSIC_RULES) + "]"


def _chooses_rules(ruff: dict[str, Any]) -> bool:
    """True when the config selects rules itself or takes them from a config it extends."""
    lint = ruff.get("lint")
    in_lint = isinstance(lint, dict) and "select" in lint
    return in_lint or "select" in ruff or "extend" in ruff


def _header(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^[ \t]*\[[ \t]*{re.escape(prefix)}[ \t]*\][ \t]*(?:#[^\r\n]*)?\r?$", re.MULTILINE)


def _insert(name: str, text: str, has_lint: bool) -> str | None:
    """The text with the classic selection added, or None when there is no safe place for it."""
    pyproject = name.rsplit("/", 1)[-1] == "pyproject.toml"
    lint = _header("tool.ruff.lint" if pyproject else "lint").search(text)
    if lint is not None:
        return f"{text[: lint.end()]}\nselect = {_SELECT}{text[lint.end() :]}"
    if not pyproject:
        return f"lint.select = {_SELECT}\n{text}"
    if not has_lint:
        return f"{text.rstrip()}\n\n[tool.ruff.lint]\nselect = {_SELECT}\n"
    ruff = _header("tool.ruff").search(text)
    if ruff is not None:
        return f"{text[: ruff.end()]}\nlint.select = {_SELECT}{text[ruff.end() :]}"
    return None


def pin_classic_rules(name: str, data: bytes) -> bytes:
    """The config file `name` with ruff's classic default rules selected when it chooses none.

    Args:
        name: the config's path in the repository (pyproject.toml, ruff.toml or .ruff.toml).
        data: its content.

    Returns:
        The content to write for ruff: unchanged when the config selects rules, extends
        another config, has no ruff settings, does not parse, or cannot be edited safely.
    """
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is no TOML
        doc = tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return data
    ruff = ruff_settings_of(name, doc)
    if ruff is None or _chooses_rules(ruff):
        return data
    edited = _insert(name, text, "lint" in ruff)
    if edited is None:
        return data
    try:
        after = tomllib.loads(edited)
    except tomllib.TOMLDecodeError:
        return data
    new_ruff = ruff_settings_of(name, after) or {}
    lint = new_ruff.get("lint")
    if not isinstance(lint, dict) or lint.pop("select", None) != list(CLASSIC_RULES):
        return data
    if not lint:
        del new_ruff["lint"]
    return edited.encode() if after == doc else data
