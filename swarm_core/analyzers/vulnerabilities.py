"""Known vulnerabilities in the package versions a change adds or bumps, looked up in OSV.

Versions come from two places: a manifest line that pins an exact version (`jinja2==2.4.1`,
`"lodash": "4.17.19"`, every `go.mod` require, Cargo's `=1.2.3`) and the pairs a changed
lockfile (package-lock.json, Cargo.lock, poetry.lock, uv.lock) locks at head but not at
base. A range without a lockfile change names no version to ask about; the review's
analyzer table counts those. Answers are cached per (ecosystem, package, version) in the
run store; when OSV cannot be reached the analyzer raises `AdvisoryUnavailable`, the
report says "skipped" and the review carries a visible note: never a silent pass.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from swarm_core.analyzers.advisories import Advisory, Package, parse_advisory, version_key
from swarm_core.analyzers.base import AnalyzerContext
from swarm_core.analyzers.dependencies import manifest_ecosystem, parse_manifest
from swarm_core.analyzers.lockfiles import LOCKFILE_ECOSYSTEMS, parse_lockfile
from swarm_core.analyzers.osv import AdvisoryCache, OsvClient, Records
from swarm_core.changeset import split_lines
from swarm_core.config import VulnerabilitiesConfig
from swarm_core.diff import FileStatus
from swarm_core.errors import StoreError
from swarm_core.models import Finding, Lane, Severity, Side

__all__ = ["Sighting", "VulnerabilityAnalyzer", "changed_packages"]

# `==1.2.3`, `===1.2.3`, `=1.2.3` or a bare `1.2.3` (Poetry's and npm's exact pin).
_PIN = re.compile(r"^\s*(===?|=)?\s*v?(\d[0-9A-Za-z.+!-]*)\s*$")
_ORDER = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


@dataclass(frozen=True, slots=True)
class Sighting:
    """Where a change brings in one package version: the file, the line, and if it is a manifest."""

    package: Package
    path: str
    line: int | None
    manifest: bool


def _exact(ecosystem: str, spec: str) -> str | None:
    if ecosystem == "Go":
        return spec.strip().removeprefix("v") or None
    m = _PIN.match(spec)
    if m is None or "*" in spec:
        return None
    op, version = m.group(1), m.group(2)
    # Cargo reads a bare `1.2.3` as `^1.2.3`: only `=1.2.3` names one version.
    if ecosystem == "crates.io" and op != "=":
        return None
    return version


def _fold(text: str) -> str:
    # PyPI names compare case- and separator-insensitively (`Jinja2`, `typing_extensions`).
    return re.sub(r"[-_.]+", "-", text).lower()


def _line(raw: tuple[str, ...], added: frozenset[int], name: str, version: str) -> int | None:
    """The line that names `name` with `version` (or just `name`), added lines first."""
    lines = tuple(_fold(t) for t in raw)
    name, version = _fold(name), _fold(version)
    order = sorted(added) + [n for n in range(1, len(lines) + 1) if n not in added]
    for needle in (version, ""):
        for n in order:
            text = lines[n - 1] if n <= len(lines) else ""
            if name in text and needle in text:
                return n
            # A lockfile puts the version on a line of its own just after the name.
            if needle and name in text and any(version in t for t in lines[n : n + 4]):
                return next(i for i in range(n + 1, n + 5) if version in lines[i - 1])
    return None


def changed_packages(ctx: AnalyzerContext) -> tuple[list[Sighting], int]:
    """Package versions the change introduces, first sighting each; and how many changes named no version."""
    seen: dict[Package, Sighting] = {}
    unpinned = 0
    manifests = [f for f in ctx.files if manifest_ecosystem(f.path) and f.status != FileStatus.DELETED]
    locks = [
        f
        for f in ctx.files
        if PurePosixPath(f.path).name in LOCKFILE_ECOSYSTEMS and f.status != FileStatus.DELETED
    ]
    for fd in manifests:
        ecosystem = manifest_ecosystem(fd.path) or ""
        head = parse_manifest(fd.path, ctx.head(fd)) or {}
        base = parse_manifest(fd.path, ctx.base(fd)) or {}
        lines = split_lines(ctx.head(fd) or b"")
        for name, spec in sorted(head.items()):
            if base.get(name) == spec:
                continue
            version = _exact(ecosystem, spec)
            if version is None:
                unpinned += 1
                continue
            pkg = Package(ecosystem, name, version)
            seen.setdefault(pkg, Sighting(pkg, fd.path, _line(lines, fd.added, name, version), True))
    for fd in locks:
        ecosystem = LOCKFILE_ECOSYSTEMS[PurePosixPath(fd.path).name]
        head_pairs = parse_lockfile(fd.path, ctx.head(fd)) or set()
        base_pairs = parse_lockfile(fd.path, ctx.base(fd)) or set()  # None: added, or unreadable
        lines = split_lines(ctx.head(fd) or b"")
        for name, version in sorted(head_pairs - base_pairs):
            pkg = Package(ecosystem, name, version)
            if pkg not in seen:
                seen[pkg] = Sighting(pkg, fd.path, _line(lines, fd.added, f'"{name}"', version), False)
    return list(seen.values()), unpinned


def _latest(ecosystem: str, versions: list[str]) -> str:
    return max(versions, key=lambda v: version_key(ecosystem, v) or ())


class VulnerabilityAnalyzer:
    """Asks OSV about every package version a change introduces; one finding per vulnerable version.

    Args:
        config: `analyzers.vulnerabilities`.
        cache: answers kept per package version (the run store); None asks OSV every time.
        client: the OSV client (default: one for `config.url`).
    """

    name = "vulnerabilities"

    def __init__(
        self,
        config: VulnerabilitiesConfig,
        cache: AdvisoryCache | None = None,
        *,
        client: OsvClient | None = None,
    ) -> None:
        self.config = config
        self.cache = cache
        self.client = client or OsvClient(
            config.url, timeout_s=config.timeout_seconds, retries=config.retries
        )

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Never skipped up front: a skip of this check must be a visible one (see `run`)."""
        return None

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Findings for vulnerable versions.

        Raises:
            AdvisoryUnavailable: OSV could not be reached or answered something unreadable.
        """
        sightings, unpinned = await asyncio.to_thread(changed_packages, ctx)
        if unpinned:
            ctx.add_note(self.name, f"{unpinned} change(s) name a range, not a version: not checked")
        if not sightings:
            ctx.add_note(self.name, "no added or bumped package version to check")
            return []
        packages = [s.package for s in sightings]
        records = await self._records(ctx, packages)
        hits = sum(1 for p in packages if records.get(p))
        ctx.add_note(self.name, f"{len(packages)} package version(s) checked against OSV, {hits} vulnerable")
        return [f for s in sightings if (f := self._finding(ctx, s, records.get(s.package, []))) is not None]

    async def _records(self, ctx: AnalyzerContext, packages: list[Package]) -> Records:
        ttl = self.config.cache_ttl_seconds
        cached: Records = {}
        try:
            if self.cache is not None and ttl > 0:
                cached = await asyncio.to_thread(self.cache.get, packages, max_age_s=float(ttl))
        except StoreError as exc:  # the cache only saves requests: OSV itself still answers
            ctx.add_note(self.name, f"advisory cache not read: {exc}")
        fresh = await self.client.lookup([p for p in packages if p not in cached])
        try:
            if self.cache is not None and fresh:
                await asyncio.to_thread(self.cache.put, fresh)
        except StoreError as exc:
            ctx.add_note(self.name, f"advisory cache not written: {exc}")
        if cached:
            ctx.add_note(self.name, f"{len(cached)} answer(s) from the cache")
        return {**cached, **fresh}

    def _finding(self, ctx: AnalyzerContext, s: Sighting, records: list[dict[str, object]]) -> Finding | None:
        if not records:
            return None
        pkg = s.package
        advisories = sorted(
            (parse_advisory(r, pkg) for r in records), key=lambda a: (-_ORDER.index(a.severity), a.id)
        )
        worst = advisories[0].severity
        fixes = [a.fixed for a in advisories if a.fixed is not None]
        target = _latest(pkg.ecosystem, fixes) if fixes else None
        noun = "vulnerability" if len(advisories) == 1 else "vulnerabilities"
        ids = ", ".join(a.id for a in advisories)
        title = f"{pkg.name} {pkg.version} has {len(advisories)} known {noun}: {ids}"
        message = [*(_describe(a) for a in advisories), "", _advice(s, advisories, target)]
        line_text = ctx.line_text(ctx.read(s.path, Side.RIGHT), s.line) if s.line is not None else ""
        suggestion = None
        if s.manifest and target is not None and line_text.count(pkg.version) == 1:
            suggestion = line_text.replace(pkg.version, target)
        cwe = next((c for a in advisories for c in a.cwes), None)
        return Finding(
            path=s.path,
            line=s.line,
            severity=worst,
            lane=Lane.DEPENDENCIES,
            category="vulnerability",
            rule="deps/known-vulnerability",
            title=title,
            message="\n".join(message),
            source=self.name,
            suggestion=suggestion,
            cwe=cwe,
        )


def _advice(s: Sighting, advisories: list[Advisory], target: str | None) -> str:
    """What to do: the version that fixes what can be fixed, and what no release fixes."""
    unfixed = [a.id for a in advisories if a.known and a.fixed is None]
    unknown = [a.id for a in advisories if not a.known]
    if target is None:
        advice = "No release fixes this yet: pick another version or package, or mitigate it"
    else:
        advice = f"Move to {s.package.name} {target} or later"
        if not s.manifest:
            advice += " (raise the requirement that resolves it and regenerate the lockfile)"
    if target is not None and unfixed:
        advice += f"; no release fixes {', '.join(unfixed)} yet"
    advice += "."
    if unknown:
        advice += f" OSV listed {', '.join(unknown)} without returning the record: look them up on osv.dev."
    return advice


def _describe(a: Advisory) -> str:
    aliases = [x for x in a.aliases if x.startswith(("CVE-", "GHSA-", "PYSEC-", "GO-", "RUSTSEC-"))]
    head = f"- **{a.id}**" + (f" ({', '.join(aliases)})" if aliases else "")
    if not a.known:
        return f"{head}: OSV listed it but returned no record (severity unknown); see {a.url}"
    text = f"{head}, {a.severity.value}: {a.summary or '(no summary)'}"
    text += f"; fixed in {a.fixed}" if a.fixed else "; no fixed version"
    if a.cwes:
        text += "; " + ", ".join(f"CWE-{c}" for c in a.cwes)
    return text + f". {a.url}"
