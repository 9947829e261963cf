"""Dummy Basic credentials: an Authorization value that is base64 of a made-up `user:password` pair."""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["DUMMY_WORDS", "is_dummy_basic"]

# Words tests and docs use for a user or a password that guards nothing (compared without case;
# a word may carry trailing digits: "password123", "user1"). A password outside this list, or
# random-looking, is a credential and stays reported.
_PASSWORDS = {
    "123456",
    "12345678",
    "abc123",
    "changeme",
    "letmein",
    "pass",
    "passwd",
    "password",
    "pwd",
    "qwerty",
}
_USERS = {
    "admin",
    "guest",
    "login",
    "root",
    "test",
    "tester",
    "testing",
    "testpass",
    "testuser",
    "user",
    "username",
}
_FILLERS = {"bar", "baz", "demo", "dummy", "example", "fake", "foo", "foobar", "qux", "secret"}
_RFC_7617 = {"aladdin", "open sesame"}  # the RFC's own example pair
DUMMY_WORDS = frozenset(_PASSWORDS | _USERS | _FILLERS | _RFC_7617)

# An optional auth scheme, then the base64 token (RFC 7617 § 2).
_BASIC = re.compile(r"(?:(?:proxy-)?authorization:\s*)?(?:basic\s+)?([A-Za-z0-9+/]+={0,2})", re.IGNORECASE)
_TRAILING_DIGITS = re.compile(r"\d+$")


def _dummy_word(word: str) -> bool:
    word = word.lower()
    return word in DUMMY_WORDS or _TRAILING_DIGITS.sub("", word) in DUMMY_WORDS


def is_dummy_basic(value: str) -> bool:
    """Whether value is a Basic credential of dummy words.

    Args:
        value: a detected value, with or without its `Basic ` scheme (or header name) before it.

    Returns:
        True when value is base64 of `user:password` where both are dummy words (see
        `DUMMY_WORDS`; an empty user counts as dummy), or the user and the password are the same.
        False for anything else, including values that are not base64 of such a pair.
    """
    match = _BASIC.fullmatch(value.strip().strip("\"'"))
    if match is None:
        return False
    token = match.group(1)
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, colon, password = decoded.partition(":")
    if not colon or not password or not decoded.isprintable():
        return False
    return user == password or ((not user or _dummy_word(user)) and _dummy_word(password))
