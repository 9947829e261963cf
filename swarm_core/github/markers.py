"""Hidden fingerprint markers: signed with a key the App holds, trusted only from its own bot account.

A marker (`<!-- swarm:fp=FINGERPRINT:MAC -->`) tells a later run that a finding is already
on the pull request, so it is not posted again. Fingerprints are a hash of public data,
so an unsigned marker could be written by anyone: a PR author could silence chosen
findings by writing their markers in a comment. Two checks close that:

- the author: only comments and reviews written by swarm's own account count (the App's
  `<slug>[bot]`; `github-actions[bot]` for the Action's GITHUB_TOKEN);
- the MAC: HMAC-SHA256 over the repository, the pull request number and the fingerprint,
  so a marker copied from another pull request (or made up) does not verify. It matters
  where the author check alone is weak: every workflow of a repository writes as
  `github-actions[bot]`.

Keys: the App derives its key from its webhook secret (`key_from_secret`): rotating the
secret makes older markers untrusted, and those findings may be posted once more. The
Action uses SWARM_MARKER_KEY when the workflow sets it (from a repository secret); without
one its MACs are not secret and trust rests on the author check alone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ACTIONS_BOT", "Markers", "key_from_secret"]

ACTIONS_BOT = "github-actions[bot]"
_MARKER = re.compile(r"<!-- swarm:fp=([0-9a-f]{8,40}):([0-9a-f]{16}) -->")
_KEY_LABEL = b"swarm fingerprint markers v1"


def key_from_secret(secret: str) -> bytes:
    """A marker key derived from a secret (the webhook secret), never the secret itself."""
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Markers:
    """Signs markers for one account and trusts only that account's valid ones.

    Args:
        key: the HMAC key.
        bot_login: the login swarm writes as; None trusts any account of type Bot (tests
            and tools that do not know their identity).
    """

    key: bytes
    bot_login: str | None = None

    def _mac(self, repo: str, number: int, fingerprint: str) -> str:
        message = f"{repo.lower()}#{number}:{fingerprint}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:16]

    def marker(self, repo: str, number: int, fingerprint: str) -> str:
        """The hidden marker for a finding posted on `repo#number`."""
        return f"<!-- swarm:fp={fingerprint}:{self._mac(repo, number, fingerprint)} -->"

    def own(self, item: Mapping[str, Any]) -> bool:
        """Whether swarm's own account wrote this comment or review."""
        user = item.get("user") or {}
        if self.bot_login is None:
            return str(user.get("type", "")) == "Bot"
        return str(user.get("login", "")).lower() == self.bot_login.lower()

    def read(self, repo: str, number: int, items: Iterable[Mapping[str, Any]]) -> set[str]:
        """The fingerprints in swarm's own, validly signed markers among `items` (comments, reviews)."""
        found: set[str] = set()
        for item in items:
            if not self.own(item):
                continue
            for fingerprint, mac in _MARKER.findall(str(item.get("body") or "")):
                if hmac.compare_digest(mac, self._mac(repo, number, fingerprint)):
                    found.add(fingerprint)
        return found
