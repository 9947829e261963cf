"""The `<untrusted>` fence: how text a pull request's author controls is quoted into a prompt."""

from __future__ import annotations

import re

__all__ = ["MAX_TEXT", "defuse", "fence_name", "untrusted"]

MAX_TEXT = 8000

# Anything a model could read as "<": the character, its look-alikes, and the escapes an
# author can write into a title or a file (HTML entities with or without ";", JSON/Python
# escapes, URL encoding). Between it and the tag name, whitespace, invisible characters
# and a slash, so `< / UNTRUSTED` and `&lt;/untrusted&gt;` are caught like `</untrusted>`.
_OPENER = r"(?:<|\uff1c|\ufe64|\u2039|&lt;?|&#0*60;?|&#x0*3c;?|\\u003c|\\x3c|%3c)"
_GAP = r"[\s\u200b-\u200f\u2060\ufeff]*"
_TAG = re.compile(_OPENER + f"(?P<rest>{_GAP}/?{_GAP}untrusted)", re.IGNORECASE)
_NAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f"<>&\\]')


def defuse(text: str) -> str:
    """Text in which no form of an `<untrusted>` or `</untrusted>` tag remains.

    Each tag-like opener is replaced by `<\\`, so `</untrusted>` reads `<\\/untrusted>`: the
    model still sees what the author wrote, but nothing that opens or closes a fence.
    """
    return _TAG.sub(lambda m: "<\\" + m.group("rest"), text)


def fence_name(name: str) -> str:
    """The fence's `name` attribute: quotes, angle brackets, `&`, backslashes and controls escaped."""
    return _NAME_UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", defuse(name))[:300]


def untrusted(name: str, text: str, limit: int = MAX_TEXT) -> str:
    """Quote text as data: inside a tag it cannot close, under a name it cannot break out of.

    Args:
        name: what the text is (a label, a path); escaped into the tag's attribute.
        text: the untrusted text; cut at `limit` characters, then defused.
        limit: the most characters kept.

    Returns:
        The fenced block, opening and closing tag on lines of their own.
    """
    body = text if len(text) <= limit else text[:limit] + "\n[... truncated]"
    return f'<untrusted name="{fence_name(name)}">\n{defuse(body)}\n</untrusted>'
