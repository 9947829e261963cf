"""Secrets gate: detect-secrets over added lines, with every detected value redacted in all outputs."""

from __future__ import annotations

import asyncio
import re
import threading

from swarm_core.analyzers.base import AnalyzerContext
from swarm_core.config import paths_match
from swarm_core.models import Finding, Lane, Severity

__all__ = ["SecretsAnalyzer", "redact", "redact_text"]

# detect-secrets keeps its plugin settings in a process-wide object; one scan at a time.
_SCAN_LOCK = threading.Lock()

# Token formats with a vendor prefix are near-certain leaks; keyword and entropy hits less so.
_GENERIC = {
    "Secret Keyword": (Severity.HIGH, 0.7),
    "Base64 High Entropy String": (Severity.HIGH, 0.6),
    "Hex High Entropy String": (Severity.HIGH, 0.55),
    "Basic Auth Credentials": (Severity.HIGH, 0.8),
    "Public IP (ipv4)": (Severity.LOW, 0.4),
}
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-+/=.~]")


def redact(value: str) -> str:
    """A safe stand-in for a secret: a short known prefix at most, never the secret itself."""
    keep = 4 if len(value) >= 20 else 0
    return f"{value[:keep]}…[redacted {len(value)} chars]"


def _expand(line: str, value: str) -> tuple[int, int] | None:
    """The span of the whole token around a detected value (plugins sometimes report a prefix)."""
    start = line.find(value)
    if start < 0:
        return None
    end = start + len(value)
    while start > 0 and _TOKEN_CHARS.match(line[start - 1]):
        start -= 1
    while end < len(line) and _TOKEN_CHARS.match(line[end]):
        end += 1
    return start, end


def redact_text(text: str, secrets: frozenset[str] | set[str]) -> str:
    """Replace every occurrence of the given secret values (longest first) in text."""
    for value in sorted(secrets, key=len, reverse=True):
        if value and value in text:
            text = text.replace(value, redact(value))
    return text


class SecretsAnalyzer:
    """Finds credentials in added lines; the values never leave this module unredacted."""

    name = "secrets"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when nothing was added."""
        return None if any(f.added for f in ctx.files) else "no added lines"

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Scan added lines of every text file not excluded by `analyzers.secrets.exclude`."""
        return await asyncio.to_thread(self._scan, ctx)

    def _scan(self, ctx: AnalyzerContext) -> list[Finding]:
        from detect_secrets.core.scan import _process_line_based_plugins
        from detect_secrets.settings import default_settings

        excludes = ctx.config.analyzers.secrets.exclude
        out: list[Finding] = []
        with _SCAN_LOCK, default_settings():
            for fd in ctx.files:
                if fd.binary or not fd.added or paths_match(excludes, fd.path):
                    continue
                lines = [
                    (dl.target_no, dl.text.rstrip("\r"))
                    for h in fd.hunks
                    for dl in h.iter_lines()
                    if dl.kind == "+" and dl.target_no is not None
                ]
                text_by_line = dict(lines)
                for secret in _process_line_based_plugins(lines, filename=fd.path):
                    value = secret.secret_value or ""
                    line = text_by_line.get(secret.line_number, "")
                    span = _expand(line, value) if value else None
                    full = line[span[0] : span[1]] if span else value
                    for v in (value, full):
                        ctx.register_secret(v)
                    severity, confidence = _GENERIC.get(secret.type, (Severity.CRITICAL, 0.95))
                    end_line = None
                    if secret.type == "Private Key":
                        end_line = _key_block(text_by_line, secret.line_number, ctx)
                    out.append(
                        Finding(
                            path=fd.path,
                            line=secret.line_number,
                            severity=severity,
                            lane=Lane.SECURITY,
                            category="secret",
                            rule=f"secrets/{_slug(secret.type)}",
                            title=f"Possible secret added: {secret.type}",
                            message=(
                                "A credential appears in added code. Remove it, rotate it, "
                                "and load it from the environment or a secret store."
                            ),
                            source=self.name,
                            evidence=redact_text(line, {value, full}),
                            end_line=end_line,
                            cwe=798,
                            confidence=confidence,
                        )
                    )
        return out


def _key_block(lines: dict[int, str], start: int, ctx: AnalyzerContext) -> int | None:
    """Extend a private-key finding over its PEM block; every body line is registered as secret."""
    n = start + 1
    while n in lines and n - start < 200:
        body = lines[n].strip()
        if body.startswith("-----END"):
            return n
        if len(body) >= 8:
            ctx.register_secret(body)
        n += 1
    return n - 1 if n - 1 > start else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
