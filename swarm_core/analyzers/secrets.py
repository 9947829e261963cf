"""Secrets gate: detect-secrets, CredSweeper and a JWK rule over added lines, merged by place, redacted."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence

from swarm_core.analyzers.base import AnalyzerContext, is_example_tree, is_test_path
from swarm_core.analyzers.dummy_credentials import is_dummy_basic, is_example_url_credential
from swarm_core.analyzers.jwk_private import JWK, jwk_hits
from swarm_core.analyzers.secret_engines import (
    CREDSWEEPER,
    DETECT_SECRETS,
    AddedLines,
    SecretHit,
    credsweeper_hits,
    credsweeper_missing,
    detect_secrets_hits,
)
from swarm_core.config import paths_match
from swarm_core.models import Finding, Lane, Severity
from swarm_core.redact import Redactor

__all__ = ["SecretsAnalyzer", "merge_by_place", "redact", "redact_text"]


# A vendor prefix ("ghp_", "sk-", "xoxb-", "SG.") says what a token is and is no part of the
# secret; the first characters of a password are.
_VENDOR_PREFIX = re.compile(r"[A-Za-z]{2,8}[_\-.]")


def redact(value: str) -> str:
    """A safe stand-in for a secret: its vendor prefix at most, never any of the secret itself."""
    prefix = _VENDOR_PREFIX.match(value) if len(value) >= 20 else None
    return f"{prefix.group(0) if prefix else ''}…[redacted {len(value)} chars]"


def redact_text(text: str, secrets: frozenset[str] | set[str]) -> str:
    """Replace every occurrence of the given secret values (longest first) in text."""
    for value in sorted(secrets, key=len, reverse=True):
        if value and value in text:
            text = text.replace(value, redact(value))
    return text


def _strength(hit: SecretHit) -> tuple[bool, float, int, int]:
    # The strongest evidence: a credential's own format over a keyword or entropy guess (it
    # also says what the credential is), then the surer engine, then the graver credential,
    # then the wider range (a whole key block beats one of its lines).
    return hit.specific, hit.confidence, hit.severity.rank, hit.last_line - hit.line


def merge_by_place(hits: Iterable[SecretHit]) -> list[list[SecretHit]]:
    """Group hits whose lines overlap (one line, or a key block and the lines inside it).

    Each group is one place; its strongest hit comes first.
    """
    groups: list[list[SecretHit]] = []
    end = -1
    for hit in sorted(hits, key=lambda h: (h.line, -h.last_line)):
        if groups and hit.line <= end:
            groups[-1].append(hit)
            end = max(end, hit.last_line)
        else:
            groups.append([hit])
            end = hit.last_line
    return [sorted(g, key=_strength, reverse=True) for g in groups]


def _confirmed(group: Sequence[SecretHit], swept: bool) -> bool:
    """Whether a place is reported: unless CredSweeper ran and only detect-secrets' guesses spoke.

    CredSweeper read the same added line: its rules' checks for a format (an example key, a
    key inside a URL) and its model's verdict on keyword and entropy guesses are the stronger
    evidence, and they keep test fixtures, digests and placeholders out of the review.
    bench/RESULTS.md measures the looser rules we tried. One exception: a private key block
    with a real body is a private key; CredSweeper turns encrypted ones down (a passphrase
    protects them, but a committed key is still one to rotate).
    """
    return not swept or any(h.engine != DETECT_SECRETS or h.key_block for h in group)


# Formats any string can take (a header's scheme, a keyword beside a value): not a vendor's token.
_GENERIC_FORMATS = frozenset({"Basic Authorization", "Bearer Authorization"})


def _fixture_file(path: str) -> bool:
    """Tests and example trees, where made-up credentials live (not scripts: they deploy and run)."""
    return is_test_path(path) or is_example_tree(path)


def _vendor_specific(hit: SecretHit) -> bool:
    """A vendor's own token format, a key block or JWK private members: a credential wherever it is."""
    return hit.key_block or (hit.specific and hit.kind not in _GENERIC_FORMATS)


def _dummy(hit: SecretHit, line: str, *, local: bool) -> bool:
    """Whether a hit's values are made-up credentials: dummy Basic pairs, or URLs of example hosts.

    Never for a vendor's token format or a key: those are credentials wherever they appear.

    Tests and docs write `Basic dXNlcm5hbWU6cGFzc3dvcmQ=` for the pair they pass as auth, and
    `http://user:pass@example.com/` for a URL parser's input; neither guards anything,
    whichever engine saw it. Such values are still redacted.
    """
    if _vendor_specific(hit):
        return False  # a live vendor token does not become a sample because of the host beside it
    if hit.end_line is None and is_example_url_credential(line, hit.values, local=local):
        return True
    return bool(hit.values) and all(is_dummy_basic(v) for v in hit.values)


class SecretsAnalyzer:
    """Finds credentials in added lines; the values never leave this module unredacted.

    Args:
        engines: the engines to run (detect-secrets, CredSweeper, and swarm's own rule for
            JWK private members); CredSweeper is skipped, with a note, when it is not
            installed (it is an optional extra).
    """

    name = "secrets"

    def __init__(self, engines: Sequence[str] = (DETECT_SECRETS, CREDSWEEPER, JWK)) -> None:
        self.engines = tuple(engines)

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when nothing was added."""
        return None if any(f.added for f in ctx.files) else "no added lines"

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Scan added lines of every text file not excluded by `analyzers.secrets.exclude`."""
        return await asyncio.to_thread(self._scan, ctx)

    def _scan(self, ctx: AnalyzerContext) -> list[Finding]:
        excludes = ctx.config.analyzers.secrets.exclude
        files: dict[str, AddedLines] = {
            fd.path: [
                (dl.target_no, dl.text.rstrip("\r"))
                for h in fd.hunks
                for dl in h.iter_lines()
                if dl.kind == "+" and dl.target_no is not None
            ]
            for fd in ctx.files
            if not fd.binary and fd.added and not paths_match(excludes, fd.path)
        }
        hits: dict[str, list[SecretHit]] = {path: [] for path in files}
        if DETECT_SECRETS in self.engines:
            for path, lines in files.items():
                hits[path] += detect_secrets_hits(path, lines)
        if JWK in self.engines:
            for path, lines in files.items():
                hits[path] += jwk_hits(lines)
        swept = False
        if CREDSWEEPER in self.engines:
            missing = credsweeper_missing()
            if missing is not None:
                # Never a silent pass: the review says which engine did not look.
                ctx.add_note(self.name, f"{missing}; scanned with detect-secrets alone")
            else:
                for path, found in credsweeper_hits(files).items():
                    hits[path] += found
                swept = True
        out = []
        for path, lines in files.items():
            text_by_line = dict(lines)
            for value in (v for h in hits[path] for v in h.values):
                ctx.register_secret(value)
            local = _fixture_file(path)
            for group in merge_by_place(hits[path]):
                # CredSweeper's word on a place confirms it even when its own hit there is a
                # sample (a URL of an example host that also holds a vendor's token).
                real = [h for h in group if not _dummy(h, text_by_line.get(h.line, ""), local=local)]
                if real and _confirmed(group, swept):
                    out.append(self._finding(path, real, text_by_line))
        return out

    def _finding(self, path: str, group: Sequence[SecretHit], text_by_line: dict[int, str]) -> Finding:
        best = group[0]
        values = {v for h in group for v in h.values}
        line = min(h.line for h in group)
        last = max(h.last_line for h in group)
        # The engine's value first (a prefix kept), then any other credential shape on the line.
        evidence = Redactor(values).text(redact_text(text_by_line.get(line, ""), values))
        engines = sorted({h.engine for h in group})
        others = [f"{h.kind} ({h.engine})" for h in group[1:]]
        return Finding(
            path=path,
            line=line,
            severity=_severity(path, group),
            lane=Lane.SECURITY,
            category="secret",
            rule=f"secrets/{_slug(best.kind)}",
            title=f"Possible secret added: {best.kind}",
            message=(
                "A credential appears in added code. Remove it, rotate it, and load it from "
                f"the environment or a secret store. Found by {' and '.join(engines)}."
            ),
            source=self.name,
            evidence=evidence,
            end_line=last if last > line else None,
            cwe=798,
            confidence=best.confidence,
            also_reported_by=tuple(dict.fromkeys(others)),
        )


def _severity(path: str, group: Sequence[SecretHit]) -> Severity:
    """The strongest hit's severity; at most MEDIUM for a guess in a test or example file.

    Test suites pass made-up passwords, tokens and Authorization headers on purpose: a keyword
    or entropy guess there is reported for a person to look at, but does not block the change.
    A vendor's token or a private key in a test file is still a leaked credential.
    """
    severity = group[0].severity
    fixture = _fixture_file(path) and not any(_vendor_specific(h) for h in group)
    if fixture and severity.rank > Severity.MEDIUM.rank:
        return Severity.MEDIUM
    return severity


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
