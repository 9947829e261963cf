"""The ruff release a project pins, and the rules that release did not have.

swarm runs the ruff it ships. A project that pins an older ruff (its pre-commit hook's `rev`,
or `ruff==X.Y.Z` in its requirements or pyproject.toml) was written against that release:
a rule ruff made stable later (CPY001 became stable in 0.16.0) is not one the project's own
lint runs, even under `select = ["ALL"]`; and "unused noqa" (RUF100) is the newer release's
opinion of comments written for the older one's rules. Findings of those rules are dropped.
ruff itself says when each rule became stable (`ruff rule --all --output-format json`).
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from importlib import metadata

from swarm_core.analyzers.base import AnalyzerContext
from swarm_core.models import Side

__all__ = ["newer_than_pin", "pinned_ruff", "stable_since"]

Version = tuple[int, ...]

_PRE_COMMIT = re.compile(
    r"repo:\s*['\"]?\S*/ruff-pre-commit(?:\.git)?['\"]?\s*\n\s*rev:\s*['\"]?v?(\d+(?:\.\d+)+)", re.MULTILINE
)
_EXACT_PIN = re.compile(r"(?m)(?:^|[\"'\s])ruff\s*==\s*(\d+(?:\.\d+)+)")
_REQUIREMENTS = ("requirements-dev.txt", "dev-requirements.txt", "requirements.txt", "requirements/lint.txt")


def _version(text: str) -> Version | None:
    """`v0.12.12` as (0, 12, 12); `0.4` as (0, 4, 0), so that it equals `0.4.0`."""
    try:
        parts = [int(p) for p in text.lstrip("v").split(".")]
    except ValueError:
        return None
    return tuple(parts + [0] * (3 - len(parts)))


def pinned_ruff(ctx: AnalyzerContext) -> Version | None:
    """The ruff release the project pins, read from the base side; None when it pins none."""
    hook = ctx.read(".pre-commit-config.yaml", Side.LEFT)
    if hook is not None:
        match = _PRE_COMMIT.search(hook.decode("utf-8", "replace"))
        if match:
            return _version(match.group(1))
    for name in ("pyproject.toml", *_REQUIREMENTS):
        data = ctx.read(name, Side.LEFT)
        match = _EXACT_PIN.search(data.decode("utf-8", "replace")) if data is not None else None
        if match:
            return _version(match.group(1))
    return None


_SINCE: dict[str, dict[str, Version]] = {}


def stable_since(binary: str) -> dict[str, Version]:
    """Each stable rule of this ruff binary and the release it became stable in (kept once read).

    A binary that fails to answer gives {} (no rule filtered) and is asked again next time.
    """
    if binary in _SINCE:
        return _SINCE[binary]
    try:
        out = subprocess.run(
            [binary, "rule", "--all", "--output-format", "json"], capture_output=True, check=True, timeout=30
        ).stdout
        rules = json.loads(out)
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError):
        return {}
    since: dict[str, Version] = {}
    for rule in rules if isinstance(rules, list) else []:
        status = rule.get("status") if isinstance(rule, dict) else None
        stable = status.get("Stable") if isinstance(status, dict) else None
        version = _version(str(stable.get("since", ""))) if isinstance(stable, dict) else None
        if version is not None:
            since[str(rule.get("code"))] = version
    _SINCE[binary] = since
    return since


@functools.cache
def _own_version() -> Version | None:
    try:
        return _version(metadata.version("ruff"))
    except metadata.PackageNotFoundError:
        return None


def newer_than_pin(code: str, pin: Version | None, binary: str, *, preview: bool = False) -> bool:
    """True when the project's pinned ruff would not report this rule as swarm's ruff does.

    A rule made stable after the pinned release is not one the project runs (unless it turns
    on preview rules); RUF100 under a newer minor release than the pinned one judges noqa
    comments by the newer release's rules.
    """
    if pin is None:
        return False
    own = _own_version()
    if code == "RUF100":
        return own is not None and pin[:2] < own[:2]  # a patch release does not change which rules fire
    since = stable_since(binary).get(code)
    return not preview and since is not None and pin < since
