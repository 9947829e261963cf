"""Dependency gate: packages added, removed and bumped in manifests, and manifest/lockfile drift."""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from swarm_core.analyzers.base import AnalyzerContext
from swarm_core.diff import FileDiff, FileStatus
from swarm_core.models import Finding, Lane, Severity, Side

__all__ = ["DependencyAnalyzer", "parse_manifest"]

Deps = dict[str, str]

_REQ_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;#]*)")
_GO_REQ = re.compile(r"^\s*([^\s()]+)\s+(v[^\s]+)")
_LOCKFILES: dict[str, tuple[str, ...]] = {
    "package.json": ("package-lock.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "bun.lock"),
    "pyproject.toml": ("poetry.lock", "uv.lock", "pdm.lock"),
    "Pipfile": ("Pipfile.lock",),
    "go.mod": ("go.sum",),
    "Cargo.toml": ("Cargo.lock",),
    "Gemfile": ("Gemfile.lock",),
    "composer.json": ("composer.lock",),
}
_MANIFEST_OF = {lock: manifest for manifest, locks in _LOCKFILES.items() for lock in locks}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(text: str) -> Deps:
    deps: Deps = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "-", "git+", "http")):
            continue
        m = _REQ_LINE.match(line)
        if m:
            deps[_norm(m.group(1))] = m.group(3).strip()
    return deps


def _pep508(items: Any) -> Deps:
    deps: Deps = {}
    for item in items if isinstance(items, list) else []:
        m = _REQ_LINE.match(str(item))
        if m:
            deps[_norm(m.group(1))] = m.group(3).strip()
    return deps


def _table(table: Any) -> Deps:
    deps: Deps = {}
    if isinstance(table, dict):
        for name, spec in table.items():
            if isinstance(spec, dict):
                spec = spec.get("version", spec.get("git", spec.get("path", "")))
            deps[_norm(str(name))] = str(spec)
    return deps


def _pyproject(text: str) -> Deps:
    data = tomllib.loads(text)
    project = data.get("project", {})
    deps = _pep508(project.get("dependencies"))
    for group in (project.get("optional-dependencies") or {}).values():
        deps.update(_pep508(group))
    for group in (data.get("dependency-groups") or {}).values():
        deps.update(_pep508([g for g in group if isinstance(g, str)]))
    poetry = data.get("tool", {}).get("poetry", {})
    for key in ("dependencies", "dev-dependencies"):
        deps.update(_table(poetry.get(key)))
    for group in (poetry.get("group") or {}).values():
        deps.update(_table(group.get("dependencies")))
    deps.pop("python", None)
    return deps


def _package_json(text: str) -> Deps:
    data = json.loads(text)
    deps: Deps = {}
    for key in ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies"):
        section = data.get(key) if isinstance(data, dict) else None
        if isinstance(section, dict):
            deps.update({str(k): str(v) for k, v in section.items()})
    return deps


def _go_mod(text: str) -> Deps:
    deps: Deps = {}
    in_block = False
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if line.startswith("require ("):
            in_block = True
            continue
        if in_block and line == ")":
            in_block = False
            continue
        if line.startswith("require "):
            line = line[len("require ") :]
        elif not in_block:
            continue
        m = _GO_REQ.match(line)
        if m:
            deps[m.group(1)] = m.group(2)
    return deps


def _cargo(text: str) -> Deps:
    data = tomllib.loads(text)
    deps: Deps = {}
    for key in ("dependencies", "dev-dependencies", "build-dependencies"):
        deps.update(_table(data.get(key)))
    deps.update(_table((data.get("workspace") or {}).get("dependencies")))
    for target in (data.get("target") or {}).values():
        for key in ("dependencies", "dev-dependencies", "build-dependencies"):
            deps.update(_table(target.get(key)))
    return deps


def _parser_for(path: str) -> Callable[[str], Deps] | None:
    name = PurePosixPath(path).name
    if name == "pyproject.toml":
        return _pyproject
    if name == "package.json":
        return _package_json
    if name == "go.mod":
        return _go_mod
    if name == "Cargo.toml":
        return _cargo
    if name.startswith("requirements") and name.endswith((".txt", ".in")):
        return _requirements
    return None


def parse_manifest(path: str, data: bytes | None) -> Deps | None:
    """Dependencies declared in a manifest: name -> version spec; None when unparsable."""
    parser = _parser_for(path)
    if parser is None or data is None:
        return None if parser is None else {}
    try:
        return parser(data.decode("utf-8", "replace"))
    except (ValueError, tomllib.TOMLDecodeError, AttributeError, TypeError):
        return None


def _major(spec: str) -> int | None:
    m = re.search(r"(\d+)", spec)
    return int(m.group(1)) if m else None


class DependencyAnalyzer:
    """Compares manifests at base and head, and checks each manifest against its lockfile."""

    name = "dependencies"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when no manifest or lockfile changed."""
        names = {PurePosixPath(f.path).name for f in ctx.files}
        if (
            any(_parser_for(f.path) for f in ctx.files)
            or names & set(_MANIFEST_OF)
            or names & set(_LOCKFILES)
        ):
            return None
        return "no dependency manifest or lockfile changed"

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Report dependency changes and lockfile drift."""
        return await asyncio.to_thread(self._scan, ctx)

    def _scan(self, ctx: AnalyzerContext) -> list[Finding]:
        out: list[Finding] = []
        changed = {f.path for f in ctx.files}
        for fd in ctx.files:
            if _parser_for(fd.path) is not None:
                out.extend(self._manifest(ctx, fd, changed))
            name = PurePosixPath(fd.path).name
            manifest = _MANIFEST_OF.get(name)
            if manifest is not None and fd.status != FileStatus.DELETED:
                sibling = str(PurePosixPath(fd.path).with_name(manifest))
                if sibling not in changed and ctx.read(sibling, Side.RIGHT) is not None:
                    out.append(
                        self._finding(
                            fd,
                            None,
                            Severity.LOW,
                            "deps/lockfile-without-manifest",
                            f"{name} changed but {manifest} did not",
                            "The lockfile moved without a manifest change: check that the resolved "
                            "versions are intended (an unreviewed `update` can pull in new code).",
                        )
                    )
        return out

    def _manifest(self, ctx: AnalyzerContext, fd: FileDiff, changed: set[str]) -> list[Finding]:
        head = parse_manifest(fd.path, ctx.head(fd)) if fd.status != FileStatus.DELETED else {}
        base = parse_manifest(fd.path, ctx.base(fd)) if fd.status != FileStatus.ADDED else {}
        if head is None or base is None:
            if head is None and fd.status != FileStatus.DELETED and ctx.head(fd) is not None:
                return [
                    self._finding(
                        fd,
                        None,
                        Severity.MEDIUM,
                        "deps/unparsable-manifest",
                        f"{PurePosixPath(fd.path).name} does not parse",
                        "The manifest is not valid; installs will fail.",
                    )
                ]
            return []
        out = []
        head_text = (ctx.head(fd) or b"").decode("utf-8", "replace").split("\n")

        def line_of(name: str) -> int | None:
            needle = name.lower()
            for n in sorted(fd.added):
                if n <= len(head_text) and needle in head_text[n - 1].lower():
                    return n
            return None

        for name in sorted(head.keys() - base.keys()):
            out.append(
                self._finding(
                    fd,
                    line_of(name),
                    Severity.LOW,
                    "deps/added",
                    f"Dependency added: {name} {head[name]}".strip(),
                    "A new dependency: check its licence, maintenance and what it pulls in.",
                )
            )
        for name in sorted(base.keys() - head.keys()):
            out.append(
                self._finding(
                    fd,
                    None,
                    Severity.LOW,
                    "deps/removed",
                    f"Dependency removed: {name}",
                    "Check that no code still imports it.",
                )
            )
        for name in sorted(base.keys() & head.keys()):
            if base[name] == head[name]:
                continue
            old, new = _major(base[name]), _major(head[name])
            major = old is not None and new is not None and new > old
            out.append(
                self._finding(
                    fd,
                    line_of(name),
                    Severity.MEDIUM if major else Severity.LOW,
                    "deps/major-bump" if major else "deps/changed",
                    f"Dependency {name}: {base[name] or '(any)'} → {head[name] or '(any)'}",
                    "A major version bump may break APIs; read its changelog."
                    if major
                    else "Version constraint changed.",
                )
            )
        deps_changed = head != base
        locks = _LOCKFILES.get(PurePosixPath(fd.path).name, ())
        if deps_changed and fd.status != FileStatus.DELETED:
            for lock in locks:
                sibling = str(PurePosixPath(fd.path).with_name(lock))
                if sibling not in changed and ctx.read(sibling, Side.RIGHT) is not None:
                    out.append(
                        self._finding(
                            fd,
                            None,
                            Severity.MEDIUM,
                            "deps/manifest-without-lockfile",
                            f"Dependencies changed but {lock} was not updated",
                            f"Regenerate {lock} so that installs resolve what the manifest declares.",
                        )
                    )
        return out

    def _finding(
        self, fd: FileDiff, line: int | None, sev: Severity, rule: str, title: str, message: str
    ) -> Finding:
        return Finding(
            path=fd.path,
            line=line,
            severity=sev,
            lane=Lane.DEPENDENCIES,
            category="dependency",
            rule=rule,
            title=title,
            message=message,
            source=self.name,
        )
