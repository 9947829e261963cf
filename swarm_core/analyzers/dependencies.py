"""Dependency gate: runtime packages added, removed and bumped; manifests changed without their lockfile.

What is not a finding, and why:
- a runtime constraint tightened without reaching a new major (a floor raised, a re-pin within
  a major, `>=3.10` -> `>=4.10`): it is deliberate and required by the change itself, so a
  finding only restates the diff. A major upgrade and a loosened constraint (a floor lowered,
  an upper bound or pin dropped) stay findings; the walkthrough lists every change;
- a dependency added, removed or re-pinned in a dev-only group (test, lint, docs, typing
  requirements, PEP 735 groups, test extras): it never reaches a user's install, and choosing
  a test tool is the maintainers' call, not a review comment;
- a lockfile that moved with no manifest change: a lock refresh (Renovate, `uv lock
  --upgrade`) is routine. Known vulnerabilities of any locked or dev version stay the OSV
  analyzer's job (`vulnerabilities`), which checks every group.
"""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from swarm_core.analyzers.base import AnalyzerContext
from swarm_core.analyzers.constraints import change_kind
from swarm_core.analyzers.lockfiles import compiled_requirements
from swarm_core.diff import FileDiff, FileStatus
from swarm_core.models import Finding, Lane, Severity, Side

__all__ = [
    "DependencyAnalyzer",
    "is_dependency_file",
    "is_dev_group",
    "manifest_ecosystem",
    "parse_groups",
    "parse_manifest",
]

Deps = dict[str, str]
Groups = dict[str, Deps]

RUNTIME = "runtime"
# Words that mark a group as development-only: its changes never reach a user's install.
_DEV_WORDS = frozenset(
    [
        "dev",
        "develop",
        "development",
        "test",
        "tests",
        "testing",
        "lint",
        "linting",
        "doc",
        "docs",
        "typing",
        "typecheck",
        "mypy",
        "coverage",
        "cov",
        "ci",
        "bench",
        "benchmark",
        "style",
        "format",
        "devdependencies",
        "environment",
    ]
)
# A requirements file that installs the project itself (`-e .[extras]`) sets up a dev environment.
_SELF_INSTALL = re.compile(r"^\s*(-e\s+)?\.(\[[^\]]*\])?\s*$", re.MULTILINE)

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
        if not line or line.startswith(("#", "-", "git+", "http://", "https://")):  # not `httpx`
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


def _pyproject(text: str) -> Groups:
    data = tomllib.loads(text)
    project = data.get("project", {})
    groups: Groups = {RUNTIME: _pep508(project.get("dependencies"))}
    for name, group in (project.get("optional-dependencies") or {}).items():
        groups[f"extra {name}"] = _pep508(group)
    for name, group in (data.get("dependency-groups") or {}).items():
        groups[f"group {name}"] = _pep508([g for g in group if isinstance(g, str)])
    poetry = data.get("tool", {}).get("poetry", {})
    groups[RUNTIME].update(_table(poetry.get("dependencies")))
    groups["group dev"] = {**groups.get("group dev", {}), **_table(poetry.get("dev-dependencies"))}
    for name, group in (poetry.get("group") or {}).items():
        groups[f"group {name}"] = {**groups.get(f"group {name}", {}), **_table(group.get("dependencies"))}
    groups[RUNTIME].pop("python", None)
    return {k: v for k, v in groups.items() if v or k == RUNTIME}


def _package_json(text: str) -> Groups:
    data = json.loads(text)
    groups: Groups = {}
    for key in ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies"):
        section = data.get(key) if isinstance(data, dict) else None
        if isinstance(section, dict):
            groups[RUNTIME if key == "dependencies" else key] = {str(k): str(v) for k, v in section.items()}
    return groups


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


def _cargo(text: str) -> Groups:
    data = tomllib.loads(text)
    groups: Groups = {RUNTIME: {}, "dev-dependencies": {}, "build-dependencies": {}}
    tables = [data, *(data.get("target") or {}).values()]
    for table in tables:
        for key in ("dependencies", "dev-dependencies", "build-dependencies"):
            groups[RUNTIME if key == "dependencies" else key].update(_table(table.get(key)))
    groups[RUNTIME].update(_table((data.get("workspace") or {}).get("dependencies")))
    return {k: v for k, v in groups.items() if v or k == RUNTIME}


def _single(parser: Callable[[str], Deps]) -> Callable[[str], Groups]:
    return lambda text: {RUNTIME: parser(text)}


def _requirements_file(path: str) -> Callable[[str], Groups]:
    # requirements-dev.txt, requirements/test.in: the file name names the group.
    stem = PurePosixPath(path).as_posix().rsplit(".", 1)[0]
    group = RUNTIME if stem.split("/")[-1] == "requirements" else stem.split("/")[-1]

    def parse(text: str) -> Groups:
        return {"dev environment" if _SELF_INSTALL.search(text) else group: _requirements(text)}

    return parse


def _parser_for(path: str) -> Callable[[str], Groups] | None:
    p = PurePosixPath(path)
    name = p.name
    if name == "pyproject.toml":
        return _pyproject
    if name == "package.json":
        return _package_json
    if name == "go.mod":
        return _single(_go_mod)
    if name == "Cargo.toml":
        return _cargo
    if name.endswith((".txt", ".in")) and (name.startswith("requirements") or "requirements" in p.parts[:-1]):
        return _requirements_file(path)
    return None


_ECOSYSTEMS = {"pyproject.toml": "PyPI", "package.json": "npm", "go.mod": "Go", "Cargo.toml": "crates.io"}


def manifest_ecosystem(path: str) -> str | None:
    """The OSV ecosystem of a manifest swarm parses (requirements files are PyPI's), or None."""
    if _parser_for(path) is None:
        return None
    return _ECOSYSTEMS.get(PurePosixPath(path).name, "PyPI")


def is_dependency_file(path: str) -> bool:
    """A manifest swarm reads (pyproject.toml, package.json, requirements*.txt, ...) or a lockfile."""
    name = PurePosixPath(path).name
    return _parser_for(path) is not None or name in _MANIFEST_OF or name in _LOCKFILES


def parse_groups(path: str, data: bytes | None) -> Groups | None:
    """Dependencies declared in a manifest per group (runtime, extras, dev groups); None when unparsable."""
    parser = _parser_for(path)
    if parser is None or data is None:
        return None if parser is None else {}
    try:
        return parser(data.decode("utf-8", "replace"))
    except (ValueError, tomllib.TOMLDecodeError, AttributeError, TypeError):
        return None


def parse_manifest(path: str, data: bytes | None) -> Deps | None:
    """Dependencies of a manifest, all groups together: name -> version spec; None when unparsable."""
    groups = parse_groups(path, data)
    if groups is None:
        return None
    flat: Deps = {}
    for name, deps in groups.items():
        if name != RUNTIME:
            flat.update(deps)
    flat.update(groups.get(RUNTIME, {}))
    return flat


def is_dev_group(group: str) -> bool:
    """True for groups that only developers install (tests, lint, docs, typing, devDependencies).

    PEP 735 `[dependency-groups]` and Poetry's non-main groups never reach a published
    package's metadata, whatever their name.
    """
    return group.startswith("group ") or bool(set(re.split(r"[^a-z]+", group.lower())) & _DEV_WORDS)


class DependencyAnalyzer:
    """Compares manifests at base and head, group by group, and checks each against its lockfile.

    Args:
        describe: also list what dev-only groups gained (the walkthrough describes every
            change; a review reports only what reaches users).
    """

    name = "dependencies"

    def __init__(self, *, describe: bool = False) -> None:
        self.describe = describe

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when no manifest changed."""
        if any(_parser_for(f.path) for f in ctx.files):
            return None
        return "no dependency manifest changed"

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Report runtime dependency changes and manifests whose lockfile did not follow."""
        return await asyncio.to_thread(self._scan, ctx)

    def _scan(self, ctx: AnalyzerContext) -> list[Finding]:
        out: list[Finding] = []
        changed = {f.path for f in ctx.files}
        for fd in ctx.files:
            if _parser_for(fd.path) is not None and not compiled_requirements(ctx, fd):
                out.extend(self._manifest(ctx, fd, changed))
        return out

    def _manifest(self, ctx: AnalyzerContext, fd: FileDiff, changed: set[str]) -> list[Finding]:
        head = parse_groups(fd.path, ctx.head(fd)) if fd.status != FileStatus.DELETED else {}
        base = parse_groups(fd.path, ctx.base(fd)) if fd.status != FileStatus.ADDED else {}
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
        head_text = [_norm(t) for t in (ctx.head(fd) or b"").decode("utf-8", "replace").split("\n")]

        for group in sorted(head.keys() | base.keys()):

            def line_of(name: str, group: str = group) -> int | None:
                # Look below the group's own header first: a name can sit in several groups.
                label = _norm(group.rsplit(" ", 1)[-1])
                start = next((i for i, t in enumerate(head_text, 1) if label in t), 0)
                needle = _norm(name)
                added = sorted(fd.added)
                for n in [n for n in added if n >= start] + added:
                    if n <= len(head_text) and needle in head_text[n - 1]:
                        return n
                return None

            out.extend(self._group(fd, group, base.get(group, {}), head.get(group, {}), line_of))
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

    def _group(
        self, fd: FileDiff, group: str, base: Deps, head: Deps, line_of: Callable[[str], int | None]
    ) -> list[Finding]:
        """One group's additions, removals and constraint changes; a dev group's never reach a user."""
        dev = is_dev_group(group)
        if dev and not self.describe:
            return []
        where = "" if group == RUNTIME else f" ({'dev-only ' if dev else ''}{group})"
        out = []
        for name in sorted(head.keys() - base.keys()):
            out.append(
                self._finding(
                    fd,
                    line_of(name),
                    Severity.LOW,
                    "deps/added",
                    f"Dependency added{where}: {name} {head[name]}".strip(),
                    "A new dependency: check its licence, maintenance and what it pulls in.",
                )
            )
        if dev:
            return out  # the walkthrough names a new test or lint tool; its re-pins are routine
        for name in sorted(base.keys() - head.keys()):
            out.append(
                self._finding(
                    fd,
                    None,
                    Severity.LOW,
                    "deps/removed",
                    f"Dependency removed{where}: {name}",
                    "Check that no code still imports it.",
                )
            )
        for name in sorted(base.keys() & head.keys()):
            if base[name] == head[name]:
                continue
            kind = change_kind(base[name], head[name])
            if kind in ("floor", "other") and not self.describe:
                continue  # deliberate and required by the change itself; the walkthrough lists it
            rule, severity, message = {
                "major": (
                    "deps/major-bump",
                    Severity.MEDIUM,
                    "A major version bump may break APIs; read its changelog.",
                ),
                "floor": (
                    "deps/floor-raised",
                    Severity.LOW,
                    "The minimum supported version rose: users pinned to older releases must upgrade.",
                ),
                "loosened": (
                    "deps/loosened",
                    Severity.LOW,
                    "The constraint now accepts versions it refused: check they work.",
                ),
                "other": ("deps/changed", Severity.LOW, "Version constraint changed."),
            }[kind]
            out.append(
                self._finding(
                    fd,
                    line_of(name),
                    severity,
                    rule,
                    f"Dependency{where} {name}: {base[name] or '(any)'} → {head[name] or '(any)'}",
                    message,
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
