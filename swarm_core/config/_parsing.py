"""Reading config: YAML text or a file to a `SwarmConfig` with located errors, and pure merging."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from swarm_core.config._schema import SwarmConfig
from swarm_core.errors import ConfigError

__all__ = ["CONFIG_PATH", "load_config", "merge", "parse_config"]

# Where a repository keeps its config.
CONFIG_PATH = ".github/swarm.yml"


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for key, value in node.value:
                if str(key.value) == str(part) or str(key.value).replace("-", "_") == str(part):
                    nxt = value
                    line = key.start_mark.line + 1
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
        if node is None:
            break
    return line


def parse_config(text: str, origin: str = CONFIG_PATH) -> SwarmConfig:
    """Parse and validate YAML config text.

    Raises:
        ConfigError: invalid YAML or schema; one line per problem: `origin:line: key: what`.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark is not None else origin
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}:1: the config must be a mapping of keys, not {type(data).__name__}")
    try:
        return SwarmConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, root, origin)) from None


def _explain(exc: ValidationError, root: yaml.Node | None, origin: str) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        # Union members add their type name to the location; keep only real keys.
        loc = tuple(p for p in loc if isinstance(p, int) or not str(p).startswith(("literal[", "enum[")))
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(root, loc)
        where = f"{origin}:{line}" if line is not None else origin
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see `swarm config check --help`)"
        lines.append(f"{where}: {key}: {msg}")
    return "\n".join(dict.fromkeys(lines))


def load_config(path: str | Path | None) -> SwarmConfig:
    """Load a config file; None or a missing default file gives the defaults.

    Raises:
        ConfigError: the file cannot be read or is invalid.
    """
    if path is None:
        return SwarmConfig()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config: {exc}") from None
    return parse_config(text, str(p))


def merge(config: SwarmConfig, overrides: Mapping[str, Any]) -> SwarmConfig:
    """A new config with `overrides` (nested mappings) applied; the input is unchanged.

    Raises:
        ConfigError: the result is invalid.
    """
    data = _deep_merge(config.model_dump(by_alias=True), overrides)
    try:
        return SwarmConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, None, "override")) from None


def _deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
