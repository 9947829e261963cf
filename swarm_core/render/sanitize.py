"""Model-written text made safe to post as GitHub markdown: no mentions, HTML or foreign links.

A model's `message` is steered by the pull request it read, so it is hostile input on the way
out: it could ping people (@mentions), hide text or forge swarm's own markers (HTML and
`<!-- swarm:fp=… -->` comments), or lead readers to any site (links, images, tracking
pixels). Code spans and fenced blocks are kept as written: GitHub renders nothing inside them.
"""

from __future__ import annotations

import re

__all__ = ["MESSAGE_LIMIT", "sanitize"]

MESSAGE_LIMIT = 4000

# Fenced blocks (any fence of 3+ backticks or tildes, closed by the same fence) and code spans.
_CODE = re.compile(r"(^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\2[ \t]*$|(`+)[^`][\s\S]*?\3)", re.MULTILINE)
# @user or @org/team, not inside a word or an e-mail address.
_MENTION = re.compile(r"(?<![\w.@/`])@(?=[A-Za-z0-9])")
# ![alt](url) and [text](url), with an optional title.
_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
# [label]: url (a reference definition) on a line of its own.
_REFERENCE = re.compile(r"^[ ]{0,3}\[[^\]\n]+\]:[ \t]*\S+.*$", re.MULTILINE)
_FENCE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})", re.MULTILINE)
_BARE_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()\[\]`]+", re.IGNORECASE)


def _allowed(url: str, repo: str) -> bool:
    """A link to the repository's own pages on GitHub (files, lines, issues, commits)."""
    if not repo:
        return False
    own = f"https://github.com/{repo}".lower()
    lowered = url.lower()
    return lowered == own or lowered.startswith((own + "/", own + "#"))


def _bare(url: str, repo: str) -> str:
    """A bare URL GitHub would autolink: kept for the repository, otherwise shown as code."""
    stripped = url.rstrip(".,;:!?'\"")
    tail = url[len(stripped) :]
    return url if _allowed(stripped, repo) else f"`{stripped}`{tail}"


def _prose(text: str, repo: str) -> str:
    def link(m: re.Match[str]) -> str:
        image, label, url = m.group(1), m.group(2), m.group(3)
        if _allowed(url, repo) and not image:
            return m.group(0)
        # An image would be fetched by every reader's browser (a tracking pixel): never kept.
        return f"{label} (image removed)" if image else f"{label} (link removed)"

    text = _LINK.sub(link, text)
    text = _REFERENCE.sub("", text)
    text = _BARE_URL.sub(lambda m: _bare(m.group(0), repo), text)
    # Escaping < and > turns every tag and comment (swarm's own markers too) into visible text.
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    # A zero-width joiner after @ keeps the name readable and notifies nobody.
    return _MENTION.sub("@\u2060", text)


def sanitize(text: str, *, repo: str = "", limit: int = MESSAGE_LIMIT) -> str:
    """`text` with mentions escaped, HTML shown as text, and links kept only to `repo` on GitHub.

    Args:
        text: markdown written by a model (or anyone who could steer it).
        repo: `owner/name`; links to `https://github.com/owner/name/…` are kept, nothing else.
        limit: the longest result, in characters; longer text is cut with "…".

    Returns:
        Markdown that GitHub renders without pinging, hiding or linking out.
    """
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    out: list[str] = []
    last = 0
    for m in _CODE.finditer(text):
        out.append(_prose(text[last : m.start()], repo))
        out.append(m.group(0))
        last = m.end()
    out.append(_prose(text[last:], repo))
    return _close_fence("".join(out))


def _close_fence(text: str) -> str:
    """Close a fence left open (a cut, or a model's mistake): it would swallow what follows it,
    swarm's hidden fingerprint marker included."""
    open_fence = ""
    for m in _FENCE.finditer(text):
        fence = m.group(1)
        if not open_fence:
            open_fence = fence
        elif fence[0] == open_fence[0] and len(fence) >= len(open_fence):
            open_fence = ""
    return f"{text}\n{open_fence}" if open_fence else text
