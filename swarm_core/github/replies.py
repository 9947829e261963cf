"""swarm's own comments that must exist once: an answer per triggering comment, a sticky comment per marker.

Each is found again by a hidden marker among the comments swarm's own account wrote, so a
retried job or a redelivered webhook edits or leaves what is there instead of posting twice,
and a marker someone else writes (quoting swarm, say) never stands for swarm's comment.
"""

from __future__ import annotations

from typing import Any

from swarm_core.github.client import GitHubClient
from swarm_core.github.markers import Markers
from swarm_core.github.services import Services, gh

__all__ = ["find_own", "own_markers", "reply_in_thread", "reply_marker", "reply_once", "sticky_comment"]


def reply_marker(comment_id: Any) -> str:
    """The hidden marker of swarm's answer to one comment."""
    return f"<!-- swarm:reply={comment_id} -->"


async def own_markers(services: Services) -> Markers:
    """The markers of swarm's own account (any bot's, unsigned, when the services name none)."""
    return await gh(services.markers) if services.markers is not None else Markers(b"")


async def find_own(services: Services, client: GitHubClient, path: str, marker: str) -> dict[str, Any] | None:
    """The first comment listed at `path` that swarm's account wrote and that carries `marker`."""
    markers = await own_markers(services)
    for c in await gh(lambda: list(client.paginate(path))):
        if marker in str(c.get("body") or "") and markers.own(c):
            return dict(c)
    return None


async def _once(
    services: Services, client: GitHubClient, listing: str, post: str, comment_id: Any, text: str
) -> int:
    """Post `text` with the reply marker of `comment_id` to `post`, unless `listing` holds swarm's answer."""
    marker = reply_marker(comment_id)
    found = await find_own(services, client, listing, marker)
    if found is not None:
        return int(found["id"])
    data = await gh(client.post, post, {"body": f"{text}\n\n{marker}"}, "replying")
    return int(data["id"])


async def reply_once(
    services: Services, client: GitHubClient, repo: str, number: int, comment_id: Any, text: str
) -> int:
    """Answer a comment once with a comment on the issue or pull request; the answer's id."""
    comments = f"/repos/{repo}/issues/{number}/comments"
    return await _once(services, client, comments, comments, comment_id, text)


async def reply_in_thread(
    services: Services, client: GitHubClient, repo: str, number: int, root_id: int, comment_id: Any, text: str
) -> int:
    """Answer a review comment once, in its thread (GitHub replies to a thread's first comment)."""
    comments = f"/repos/{repo}/pulls/{number}/comments"
    return await _once(services, client, comments, f"{comments}/{root_id}/replies", comment_id, text)


async def sticky_comment(
    services: Services, client: GitHubClient, repo: str, number: int, marker: str, text: str, what: str
) -> int:
    """Post `text` (which carries `marker`) once, or edit swarm's comment that carries it; its id."""
    existing = await find_own(services, client, f"/repos/{repo}/issues/{number}/comments", marker)
    if existing is None:
        data = await gh(
            client.post, f"/repos/{repo}/issues/{number}/comments", {"body": text}, f"posting {what}"
        )
        return int(data["id"])
    comment_id = int(existing["id"])
    if existing.get("body") != text:
        await gh(
            client.patch, f"/repos/{repo}/issues/comments/{comment_id}", {"body": text}, f"updating {what}"
        )
    return comment_id
