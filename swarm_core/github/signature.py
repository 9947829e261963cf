"""Webhook signatures (RULES 8-10): HMAC-SHA256 of the raw body, constant-time compare, fail closed."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["sign", "verify"]


def sign(secret: str | bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for this body."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.digest(key, body, hashlib.sha256).hex()


def verify(secret: str | bytes | None, body: bytes, header: str | None) -> bool:
    """True only when a secret is configured, the header is present and it matches.

    No secret configured means every delivery is refused: an App without a webhook secret
    would accept forged events.
    """
    if not secret or not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())
