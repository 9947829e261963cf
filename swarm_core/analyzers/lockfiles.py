"""Lockfiles read as the exact package versions they install: npm, Cargo, Poetry and uv.

Each parser maps a lockfile's text to a set of (name, version) pairs; a name may be locked
at several versions (npm nests copies). The ecosystem is the OSV name of the registry.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

__all__ = ["LOCKFILE_ECOSYSTEMS", "parse_lockfile"]

Locked = set[tuple[str, str]]


def _package_lock(text: str) -> Locked:
    data = json.loads(text)
    out: Locked = set()
    if not isinstance(data, dict):
        return out
    packages = data.get("packages")
    if isinstance(packages, dict):  # lockfileVersion 2 and 3: "node_modules/a/node_modules/@s/b"
        for path, entry in packages.items():
            if "node_modules/" not in str(path) or not isinstance(entry, dict) or entry.get("link"):
                continue
            version = entry.get("version")
            if isinstance(version, str):
                out.add((str(path).rsplit("node_modules/", 1)[1], version))
        return out

    def walk(deps: Any) -> None:  # lockfileVersion 1: nested "dependencies"
        for name, entry in (deps or {}).items() if isinstance(deps, dict) else ():
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                out.add((str(name), entry["version"]))
                walk(entry.get("dependencies"))

    walk(data.get("dependencies"))
    return out


def _toml_packages(text: str) -> Locked:
    # Cargo.lock, poetry.lock and uv.lock all list `[[package]]` tables with a name and a version.
    data = tomllib.loads(text)
    return {
        (str(p["name"]), str(p["version"]))
        for p in data.get("package") or ()
        if isinstance(p, dict) and "name" in p and "version" in p
    }


_PARSERS: dict[str, tuple[str, Callable[[str], Locked]]] = {
    "package-lock.json": ("npm", _package_lock),
    "npm-shrinkwrap.json": ("npm", _package_lock),
    "Cargo.lock": ("crates.io", _toml_packages),
    "poetry.lock": ("PyPI", _toml_packages),
    "uv.lock": ("PyPI", _toml_packages),
}
# The OSV ecosystem of each lockfile swarm reads.
LOCKFILE_ECOSYSTEMS = {name: eco for name, (eco, _parse) in _PARSERS.items()}


def parse_lockfile(path: str, data: bytes | None) -> Locked | None:
    """The (name, version) pairs a lockfile pins; None when it is not a known lockfile or does not parse."""
    entry = _PARSERS.get(PurePosixPath(path).name)
    if entry is None or data is None:
        return None
    try:
        return entry[1](data.decode("utf-8", "replace"))
    except (ValueError, tomllib.TOMLDecodeError, AttributeError, TypeError, KeyError):
        return None
