"""Dummy credentials: Basic values of made-up `user:password` pairs, URL credentials of example hosts."""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["DUMMY_WORDS", "is_dummy_basic", "is_example_url_credential"]

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


# A URL's user information (RFC 3986 § 3.2.1) and the host after it.
# The scheme starts where no scheme character precedes it: one start per URL, not one per letter
# of a long run (linear on untrusted lines).
_URL_USERINFO = re.compile(
    r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://(?P<userinfo>[^\s/?#@\"'`]+)@(?P<host>[^\s/?#:\"'`\]\[]+)"
)
# Names reserved for documentation and tests (RFC 2606, RFC 6761): no real service answers there.
_EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
_RESERVED_TLDS = ("example", "test", "invalid")
_LOCAL_HOSTS = ("localhost", "127.0.0.1")


def _reserved_host(host: str, *, local: bool) -> bool:
    host = host.lower().rstrip(".")
    tld = host.rsplit(".", 1)[-1]
    if any(host == d or host.endswith("." + d) for d in _EXAMPLE_DOMAINS) or tld in _RESERVED_TLDS:
        return True
    return local and (host in _LOCAL_HOSTS or tld == "localhost")


def is_example_url_credential(line: str, values: tuple[str, ...], *, local: bool = False) -> bool:
    """Whether each value is the credential of a URL whose host is reserved for examples, and of no other URL.

    `http://user:pass@example.com/` in a URL parser's tests, or in docs, reaches no service:
    RFC 2606 and RFC 6761 keep example.com/.net/.org and the .example, .test and .invalid
    names out of real use. With `local` (a test or example file), localhost counts too.
    A test's expected result may repeat the value outside the URL (`("user", "pass")`); but a
    value that is also the credential of a real host's URL on the line is a credential.

    Args:
        line: the added line the values were found on.
        values: the detected values (tokens around the credential).
        local: whether localhost and 127.0.0.1 count as reserved.

    Returns:
        True when there is at least one value and each occurs inside a reserved host's URL
        user information and inside no other URL's; False otherwise.
    """
    urls = [
        (m.span("userinfo"), _reserved_host(m.group("host"), local=local))
        for m in _URL_USERINFO.finditer(line)
    ]
    if not values or not any(reserved for _, reserved in urls):
        return False

    def sample(value: str) -> bool:
        starts = [m.start() for m in re.finditer(re.escape(value), line)] if value else []
        holders = [reserved for s in starts for (a, b), reserved in urls if a <= s and s + len(value) <= b]
        return any(holders) and all(holders)

    return all(sample(v) for v in values)
