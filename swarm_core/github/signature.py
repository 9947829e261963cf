"""Webhook signatures (RULES 8-10): HMAC-SHA256 of the raw body, constant-time compare, fail closed."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["sign", "verify"]


def sign(secret: str | bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for this body."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.digest(key, body, hashlib.sha256).hex()


def verify(secret: str | bytes | None, body: bytes, header: str | bytes | None) -> bool:
    """True only when a secret is configured, the header is present and it matches.

    No secret configured means every delivery is refused: an App without a webhook secret
    would accept forged events. The header is compared as bytes: `compare_digest` raises
    TypeError on a str with non-ASCII characters, and a forged header must be a 401, not a 500.
    """
    if not secret or not header:
        return False
    given = header if isinstance(header, bytes) else header.encode("utf-8", "surrogateescape")
    given = given.strip()
    if not given.startswith(b"sha256="):
        return False
    return hmac.compare_digest(sign(secret, body).encode("ascii"), given)
