"""The one redactor for text that leaves the process: configured secrets, credential shapes, model URLs.

Comments, reviews, check runs, SARIF and API answers pass through a `Redactor`. It knows the
values the face was configured with (provider keys, tokens, the webhook secret, the database
password, secrets the analyzers found) and, with no configuration at all, still removes
strings shaped like well-known credentials: a provider that echoes the key in its error
text ("Incorrect API key provided: sk-…") must not put it on a pull request.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from swarm_core.models import AnalyzerReport, Exchange, Finding, LaneResult, Review

__all__ = ["ENDPOINT", "REDACTED", "Redactor", "url_passwords"]

REDACTED = "[redacted]"
ENDPOINT = "[model endpoint]"

# Shapes of credentials whose prefix says what they are; matched even when nobody configured them.
_SHAPES = re.compile(
    r"""
    \bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}      # OpenAI, Anthropic and compatible keys
    | \bgh[pousr]_[A-Za-z0-9]{20,}               # GitHub tokens
    | \bgithub_pat_[A-Za-z0-9_]{20,}
    | \bAKIA[0-9A-Z]{16}\b                        # AWS access key ids
    | \bAIza[0-9A-Za-z_\-]{35}                    # Google API keys
    | \bxox[abposr]-[A-Za-z0-9\-]{10,}            # Slack tokens
    | \bgsk_[A-Za-z0-9]{20,}                      # Groq
    | \b[Bb]earer\s+[A-Za-z0-9._~+/\-]{16,}=*     # a bearer token quoted in an error
    """,
    re.VERBOSE,
)
# user:password@ in a URL (a database or proxy URL quoted in an error).
_USERINFO = re.compile(
    r"(?P<scheme>(?<![a-z0-9+.\-])[a-z][a-z0-9+.\-]*://[^/\s:@]+:)[^@\s/]+@", re.IGNORECASE
)
# A secret shorter than this is no real credential, and replacing it would mangle ordinary text.
_MIN_SECRET = 8

_T = TypeVar("_T")


def url_passwords(url: str | None) -> tuple[str, ...]:
    """The password in a URL such as SWARM_DATABASE_URL, as written and decoded (either may be quoted)."""
    try:
        raw = urlsplit(url).password if url else None
    except ValueError:
        return ()
    return tuple(dict.fromkeys((raw, unquote(raw)))) if raw else ()


class Redactor:
    """Replaces known secrets, credential-shaped strings and internal model URLs in outward text.

    Args:
        secrets: values to remove wherever they appear (shorter than 8 characters are ignored).
        endpoints: internal URLs (provider base URLs) that PR readers are not shown.
    """

    def __init__(self, secrets: Iterable[str | None] = (), endpoints: Iterable[str | None] = ()) -> None:
        # Longest first: a key that contains another key is removed whole.
        self._secrets = tuple(
            sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True)
        )
        urls = {u.rstrip("/") for u in endpoints if u and u.rstrip("/")}
        self._endpoints = tuple(sorted(urls, key=len, reverse=True))

    def with_secrets(self, secrets: Iterable[str | None]) -> Redactor:
        """A redactor that also knows `secrets` (found by an analyzer, say)."""
        return Redactor((*self._secrets, *secrets), self._endpoints)

    def text(self, text: str) -> str:
        """`text` with every secret, credential shape and internal URL replaced."""
        if not text:
            return text
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for url in self._endpoints:
            if url in text:
                text = text.replace(url, ENDPOINT)
        text = _USERINFO.sub(lambda m: m.group("scheme") + REDACTED + "@", text)
        return _SHAPES.sub(REDACTED, text)

    def data(self, value: _T) -> _T:
        """A JSON-like value (dicts, lists, strings) with every string redacted."""
        return self._data(value)  # type: ignore[no-any-return]

    def _data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self._data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._data(v) for v in value)
        return value

    def finding(self, f: Finding) -> Finding:
        """A finding whose texts are redacted (the fingerprint is kept: it names the finding)."""
        return dataclasses.replace(
            f,
            title=self.text(f.title),
            message=self.text(f.message),
            evidence=self.text(f.evidence),
            suggestion=self.text(f.suggestion) if f.suggestion else f.suggestion,
            verification_note=self.text(f.verification_note),
            flow=tuple(dataclasses.replace(s, note=self.text(s.note)) for s in f.flow),
        )

    def review(self, review: Review) -> Review:
        """A review with every text a reader can see redacted: notes, findings, lanes, evidence."""
        return dataclasses.replace(
            review,
            notes=tuple(self.text(n) for n in review.notes),
            findings=tuple(self.finding(f) for f in review.findings),
            analyzers=tuple(self._report(a) for a in review.analyzers),
            lanes=tuple(self._lane(lane) for lane in review.lanes),
            exchanges=tuple(self._exchange(e) for e in review.exchanges),
            skipped_files=tuple((path, self.text(why)) for path, why in review.skipped_files),
            memory=tuple((key, self.text(value)) for key, value in review.memory),
        )

    def _report(self, a: AnalyzerReport) -> AnalyzerReport:
        return dataclasses.replace(
            a, reason=self.text(a.reason), findings=tuple(self.finding(f) for f in a.findings)
        )

    def _lane(self, lane: LaneResult) -> LaneResult:
        return dataclasses.replace(
            lane,
            note=self.text(lane.note),
            model_reason=self.text(lane.model_reason),
            findings=tuple(self.finding(f) for f in lane.findings),
        )

    def _exchange(self, e: Exchange) -> Exchange:
        return dataclasses.replace(
            e, request=self.text(e.request), response=self.text(e.response), reason=self.text(e.reason)
        )
