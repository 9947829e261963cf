"""Known-vulnerability records (OSV format) read into `Advisory` values: severity, fixes, CWEs.

Pure functions over OSV JSON (https://ossf.github.io/osv-schema/). Severity follows the
first of these an advisory carries:

- `database_specific.severity` (GitHub's label): CRITICAL → critical, HIGH → high,
  MODERATE or MEDIUM → medium, LOW → low;
- a CVSS v3 vector in `severity[]`, scored by the CVSS 3.1 base-score formula: 9.0 and up
  critical, 7.0 high, 4.0 medium, below low;
- otherwise medium (a known vulnerability whose database gives no severity).

The fixed version offered for a package is the smallest `fixed` event above the version in
use, compared by the ecosystem's own ordering (PEP 440 for PyPI, SemVer for npm, crates.io
and Go).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from swarm_core.models import Severity

__all__ = [
    "ECOSYSTEMS",
    "Advisory",
    "Package",
    "cvss3_score",
    "parse_advisory",
    "severity_of",
    "version_key",
]

# The OSV ecosystem names swarm queries.
ECOSYSTEMS = ("PyPI", "npm", "Go", "crates.io")

_LABELS = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MODERATE": Severity.MEDIUM,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}


@dataclass(frozen=True, slots=True, order=True)
class Package:
    """One package at one version in one OSV ecosystem."""

    ecosystem: str
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class Advisory:
    """What a review says about one advisory for one package version.

    `fixed` is the smallest fixed version above the version in use, or None when the
    advisory names none (no release fixes it yet, or the range has no upper bound).
    """

    id: str
    aliases: tuple[str, ...]
    summary: str
    severity: Severity
    fixed: str | None
    cwes: tuple[int, ...]
    # False when OSV listed the id but could not return the record (it was withdrawn meanwhile).
    known: bool = True

    @property
    def url(self) -> str:
        """The advisory's page on osv.dev."""
        return f"https://osv.dev/vulnerability/{self.id}"


# -- versions ---------------------------------------------------------------------------------
_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _semver_key(version: str) -> tuple[Any, ...] | None:
    m = _SEMVER.match(version.strip())
    if m is None:
        return None
    core = tuple(int(g or 0) for g in m.group(1, 2, 3))
    pre = m.group(4)
    if pre is None:
        return (*core, 1, ())  # a release sorts after all of its pre-releases
    # SemVer §11: numeric identifiers compare as numbers and sort before alphanumeric ones.
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (*core, 0, parts)


def version_key(ecosystem: str, version: str) -> tuple[Any, ...] | None:
    """A sort key for a version in its ecosystem's order; None when it does not parse."""
    if ecosystem == "PyPI":
        try:
            return (Version(version),)
        except InvalidVersion:
            return None
    return _semver_key(version)


# -- severity ---------------------------------------------------------------------------------
_CVSS3_WEIGHTS: dict[str, dict[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_CVSS3_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}


def _roundup(value: float) -> float:
    # CVSS 3.1 Appendix A: round up to one decimal without floating-point surprises.
    whole = round(value * 100_000)
    return whole / 100_000.0 if whole % 10_000 == 0 else (math.floor(whole / 10_000) + 1) / 10.0


def cvss3_score(vector: str) -> float | None:
    """The CVSS 3.x base score of a vector (`CVSS:3.1/AV:N/...`); None when it is not one."""
    if not vector.startswith(("CVSS:3.0/", "CVSS:3.1/")):
        return None
    metrics = dict(part.split(":", 1) for part in vector.split("/")[1:] if ":" in part)
    try:
        scope = metrics["S"]
        w = {k: table[metrics[k]] for k, table in _CVSS3_WEIGHTS.items()}
        pr = _CVSS3_PR[scope][metrics["PR"]]
    except KeyError:
        return None
    iss = 1 - (1 - w["C"]) * (1 - w["I"]) * (1 - w["A"])
    impact = 6.42 * iss if scope == "U" else 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    exploitability = 8.22 * w["AV"] * w["AC"] * pr * w["UI"]
    if impact <= 0:
        return 0.0
    raw = impact + exploitability if scope == "U" else 1.08 * (impact + exploitability)
    return _roundup(min(raw, 10.0))


def _from_score(score: float) -> Severity:
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW


def severity_of(doc: dict[str, Any]) -> Severity:
    """The swarm severity of an OSV record (the mapping is in this module's docstring)."""
    specific = doc.get("database_specific")
    label = specific.get("severity") if isinstance(specific, dict) else None
    if isinstance(label, str) and label.upper() in _LABELS:
        return _LABELS[label.upper()]
    for entry in doc.get("severity") or ():
        score = cvss3_score(str(entry.get("score", ""))) if isinstance(entry, dict) else None
        if score is not None:
            return _from_score(score)
    return Severity.MEDIUM


# -- records ----------------------------------------------------------------------------------
def _same_name(ecosystem: str, a: str, b: str) -> bool:
    if ecosystem == "PyPI":
        return re.sub(r"[-_.]+", "-", a).lower() == re.sub(r"[-_.]+", "-", b).lower()
    return a == b


def _fixed_above(doc: dict[str, Any], package: Package) -> str | None:
    current = version_key(package.ecosystem, package.version)
    candidates: list[tuple[tuple[Any, ...], str]] = []
    for affected in doc.get("affected") or ():
        pkg = affected.get("package") if isinstance(affected, dict) else None
        if not isinstance(pkg, dict) or pkg.get("ecosystem") != package.ecosystem:
            continue
        if not _same_name(package.ecosystem, str(pkg.get("name", "")), package.name):
            continue
        for rng in affected.get("ranges") or ():
            if not isinstance(rng, dict) or rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            for event in rng.get("events") or ():
                fixed = event.get("fixed") if isinstance(event, dict) else None
                key = version_key(package.ecosystem, str(fixed)) if fixed is not None else None
                if key is not None and (current is None or key > current):
                    candidates.append((key, str(fixed)))
    return min(candidates)[1] if candidates else None


def _cwes(doc: dict[str, Any]) -> tuple[int, ...]:
    specific = doc.get("database_specific")
    ids = specific.get("cwe_ids") if isinstance(specific, dict) else None
    out = []
    for cwe in ids if isinstance(ids, list) else ():
        m = re.fullmatch(r"CWE-(\d+)", str(cwe))
        if m:
            out.append(int(m.group(1)))
    return tuple(out)


def parse_advisory(doc: dict[str, Any], package: Package) -> Advisory:
    """One OSV record as it applies to `package`.

    Args:
        doc: the record as `GET /v1/vulns/{id}` returns it.
        package: the package and version the review found.

    Returns:
        The advisory with its severity, the fix above `package.version` and its CWEs.
    """
    summary = str(doc.get("summary") or "").strip()
    if not summary:
        details = str(doc.get("details") or "").strip()
        summary = details.split("\n", 1)[0][:200]
    return Advisory(
        id=str(doc.get("id", "")),
        aliases=tuple(str(a) for a in doc.get("aliases") or () if isinstance(a, str)),
        summary=summary,
        severity=severity_of(doc),
        fixed=_fixed_above(doc, package),
        cwes=_cwes(doc),
        known="modified" in doc,  # the schema requires it: a bare {"id"} is a record OSV could not return
    )
