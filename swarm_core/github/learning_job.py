"""Learning jobs: capture feedback on swarm's review comments; answer `/swarm learn` and `/swarm learnings`.

Sources, each captured once (the store remembers every source link), and only from people
with write access (the rule for commands), so a PR author's second account cannot 👎 a
finding away:

- 👎 reactions on swarm's review comments. GitHub sends no webhook for a reaction, so a
  review job reads the reactions of swarm's comments on the pull request before it
  reviews (`poll_reactions`);
- replies in swarm's threads ("false positive", "this is intended"): the
  `pull_request_review_comment` event; `reply_fields` reads the delivery into a job
  payload and `capture_reply` runs it;
- `/swarm learn [--path GLOB] [--rule ID] [--lane NAME] [--keep] <text>` from a person
  with write access (`learn_command`; the command job checked the access).

A comment counts as swarm's only when swarm's own account wrote it and its fingerprint
marker verifies (`Markers`); the finding behind it is read from the run store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from swarm_core.errors import GitHubError
from swarm_core.github.client import GitHubClient, PullRequest
from swarm_core.github.commands import ALLOWED, Command
from swarm_core.github.markers import Markers
from swarm_core.github.services import Services, gh
from swarm_core.learnings import (
    ACTIVE,
    FORGOTTEN,
    Learning,
    LearningDraft,
    Scope,
    learning_from_command,
    learning_from_reaction,
    learning_from_reply,
    learning_from_resolution,
)
from swarm_core.models import Finding, Lane
from swarm_core.render.sanitize import sanitize
from swarm_core.store.learnings import LearningStore

__all__ = [
    "MAX_POLLED",
    "ResolvedThread",
    "capture_reply",
    "capture_resolutions",
    "learn_command",
    "learnings_for_review",
    "learnings_reply",
    "listed_learnings",
    "poll_reactions",
    "record_uses",
    "reply_fields",
]

logger = logging.getLogger(__name__)

MAX_POLLED = 50  # swarm's newest review comments whose reactions a review reads
_MAX_LISTED = 50
_MAX_BODY = 8000  # of a reply, as for a command's comment


def _store(services: Services) -> LearningStore:
    return LearningStore(services.store.engine)


async def _markers(services: Services) -> Markers:
    return await gh(services.markers) if services.markers is not None else Markers(b"")


async def _finding_of(
    services: Services, markers: Markers, repo: str, number: int, comment: Mapping[str, Any]
) -> Finding | None:
    """The stored finding a comment of swarm's is about (None: not swarm's, no valid marker, unknown)."""
    fingerprints = sorted(markers.read(repo, number, [comment]))
    if not fingerprints:
        return None
    found: Finding | None = await asyncio.to_thread(_store(services).finding, fingerprints[0])
    return found


async def _capture(
    services: Services, installation_id: int | None, repo: str, draft: LearningDraft
) -> Learning | None:
    learning, new = await asyncio.to_thread(_store(services).capture, installation_id, repo, draft)
    return learning if new else None


async def poll_reactions(
    services: Services, client: GitHubClient, pr: PullRequest, installation_id: int | None
) -> list[Learning]:
    """Capture the 👎 reactions people gave swarm's review comments on a pull request.

    Reading reactions is best effort: a GitHub error is logged and ends the poll, the
    review goes on (the next event reads them again; captured ones are not repeated).

    Returns:
        The learnings this poll captured.
    """
    repo, number = pr.repo, pr.number
    markers = await _markers(services)
    captured: list[Learning] = []
    access: dict[str, bool] = {}  # per person, asked once per poll

    async def may_teach(user: Mapping[str, Any]) -> bool:
        login = str(user.get("login") or "")
        if login not in access:
            access[login] = bool(login) and await gh(client.permission, repo, login) in ALLOWED
        return access[login]

    try:
        comments = await gh(
            lambda: list(
                client.paginate(f"/repos/{repo}/pulls/{number}/comments", what="reading review comments")
            )
        )
        for comment in [c for c in comments if markers.own(c)][-MAX_POLLED:]:
            finding = await _finding_of(services, markers, repo, number, comment)
            if finding is None:
                continue
            cid = int(comment["id"])
            reactions = await gh(
                lambda cid=cid: list(
                    client.paginate(f"/repos/{repo}/pulls/comments/{cid}/reactions", what="reading reactions")
                )
            )
            for reaction in reactions:
                user = reaction.get("user") or {}
                source = f"https://github.com/{repo}/pull/{number}#discussion_r{cid}/reactions/{reaction.get('id')}"
                draft = learning_from_reaction(
                    str(reaction.get("content")), str(user.get("type", "")), finding, source
                )
                taught = draft is not None and await may_teach(user)
                learning = (
                    await _capture(services, installation_id, repo, draft) if draft and taught else None
                )
                if learning is not None:
                    captured.append(learning)
    except GitHubError as exc:
        logger.warning("could not read the reactions on %s#%s: %s", repo, number, exc)
    return captured


@dataclass(frozen=True, slots=True)
class ResolvedThread:
    """One of swarm's review threads that a later review found resolved.

    Attributes:
        comment: the thread's first comment as GitHub lists it (swarm's, with its marker).
        resolved_by_type: the account type of whoever resolved it ("User", "Bot").
        changed_at_site: whether the new head changed the lines the finding sat on.
        url: the thread's (or its first comment's) URL.
    """

    comment: Mapping[str, Any]
    resolved_by_type: str
    changed_at_site: bool
    url: str


async def capture_resolutions(
    services: Services, pr: PullRequest, installation_id: int | None, threads: Iterable[ResolvedThread]
) -> list[Learning]:
    """Learn from threads a person resolved while the code at the finding's site stayed as it was.

    The review that reads the pull request's threads (GraphQL `reviewThreads`) calls this with
    the ones resolved since the last review; swarm's own resolutions ("fixed in <sha>") and
    threads whose lines changed teach nothing.

    Returns:
        The learnings captured (a thread already captured is not captured again).
    """
    markers = await _markers(services)
    captured: list[Learning] = []
    for thread in threads:
        finding = await _finding_of(services, markers, pr.repo, pr.number, thread.comment)
        draft = (
            learning_from_resolution(finding, thread.resolved_by_type, thread.changed_at_site, thread.url)
            if finding is not None
            else None
        )
        learning = await _capture(services, installation_id, pr.repo, draft) if draft else None
        if learning is not None:
            captured.append(learning)
    return captured


def reply_fields(delivery: Mapping[str, Any]) -> dict[str, Any] | None:
    """What `capture_reply` needs from a `pull_request_review_comment` delivery, as a job payload.

    Returns:
        The fields (installation, repository, pull request, the reply and whom it answers),
        or None for anything but a new reply (`created` with `in_reply_to_id`) that fits.
    """
    comment, pull = delivery.get("comment"), delivery.get("pull_request")
    repo, inst = delivery.get("repository"), delivery.get("installation")
    if delivery.get("action") != "created":
        return None
    if not (isinstance(comment, Mapping) and isinstance(pull, Mapping) and isinstance(repo, Mapping)):
        return None
    parent, number, name = comment.get("in_reply_to_id"), pull.get("number"), repo.get("full_name")
    user = comment.get("user") if isinstance(comment.get("user"), Mapping) else {}
    if not (isinstance(parent, int) and isinstance(number, int) and isinstance(name, str)):
        return None
    installation = inst.get("id") if isinstance(inst, Mapping) else None
    return {
        "installation_id": installation if isinstance(installation, int) else None,
        "repo": name,
        "number": number,
        "in_reply_to_id": parent,
        "body": str(comment.get("body") or "")[:_MAX_BODY],
        "author_type": str((user or {}).get("type", "")),
        "author": str((user or {}).get("login", "")),
        "url": str(comment.get("html_url") or ""),
    }


def reply_job_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    """capture_reply's fields from a queued `reply` job (events.review_comment built it).

    The reply is matched to the thread's first comment, swarm's finding; bots never get this
    far (the route drops their comments).
    """
    repo, number, comment_id = str(payload["repo"]), int(payload["number"]), payload.get("comment_id")
    return {
        "installation_id": payload.get("installation_id"),
        "repo": repo,
        "number": number,
        "in_reply_to_id": int(payload["review_comment"]["root_id"]),
        "body": str(payload.get("body") or "")[:_MAX_BODY],
        "author_type": "User",
        "author": str(payload.get("author") or ""),
        "url": f"https://github.com/{repo}/pull/{number}#discussion_r{comment_id}" if comment_id else "",
    }


async def capture_reply(services: Services, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Learn from a reply in one of swarm's review threads (`fields` from `reply_fields`).

    Returns:
        What happened: `captured` (a learning id) or `skipped` (why not).
    """
    if fields["author_type"] == "Bot":
        return {"skipped": "a bot's reply"}
    repo, number = fields["repo"], fields["number"]
    client = services.clients(fields["installation_id"])
    comments = await gh(
        lambda: list(
            client.paginate(f"/repos/{repo}/pulls/{number}/comments", what="reading review comments")
        )
    )
    parent = next((c for c in comments if c.get("id") == fields["in_reply_to_id"]), None)
    markers = await _markers(services)
    finding = await _finding_of(services, markers, repo, number, parent) if parent is not None else None
    if finding is None:
        return {"skipped": "not a reply to one of swarm's findings"}
    draft = learning_from_reply(fields["body"], finding, fields["url"])
    if draft is None:
        return {"skipped": "the reply teaches nothing"}
    permission = await gh(client.permission, repo, fields["author"]) if fields["author"] else "none"
    if permission not in ALLOWED:
        return {"skipped": f"the author has no write access ({permission})"}
    learning = await _capture(services, fields["installation_id"], repo, draft)
    return {"captured": learning.id} if learning is not None else {"skipped": "already captured"}


_MAX_PATH, _MAX_RULE = 512, 200


async def learn_command(
    services: Services, payload: Mapping[str, Any], command: Command
) -> tuple[str, dict[str, Any]]:
    """`/swarm learn`: store the learning; returns the reply to post and the job's result."""
    repo, number = str(payload["repo"]), int(payload["number"])
    lane = command.option("--lane")
    lanes = [lane_.value for lane_ in Lane]
    if lane and lane not in lanes:
        return f"Unknown lane `{sanitize(lane[:40])}`; choose one of {', '.join(lanes)}.", {
            "error": "unknown lane"
        }
    path, rule = command.option("--path"), command.option("--rule")
    if len(path) > _MAX_PATH or len(rule) > _MAX_RULE:  # the store's column widths
        return f"`--path` takes at most {_MAX_PATH} characters and `--rule` {_MAX_RULE}.", {
            "error": "option too long"
        }
    scope = Scope(path, rule, lane)
    source = f"https://github.com/{repo}/pull/{number}#issuecomment-{payload.get('comment_id')}"
    draft = learning_from_command(command.text, scope, keep="--keep" in command.flags, source=source)
    inst = payload.get("installation_id")
    learning, _ = await asyncio.to_thread(_store(services).capture, inst, repo, draft)
    state = (
        "" if learning.status == ACTIVE else f" It is **{learning.status}**: it contradicts another learning."
    )
    use = (
        "Findings in its scope are suppressed from now on."
        if scope.deterministic and learning.effect == "suppress"
        else "The model lanes read it with every review (name a `--rule` or `--lane` to suppress findings)."
    )
    reply = (
        f"Learned #{learning.id} ({scope.describe()}): {sanitize(learning.text, repo=repo)}\n\n{use}{state}"
    )
    return reply, {"learning": learning.id, "status": learning.status}


async def listed_learnings(services: Services, payload: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """`/swarm learnings`: a reply listing the repository's and the installation's learnings."""
    repo, inst = str(payload["repo"]), payload.get("installation_id")
    every = await asyncio.to_thread(_store(services).list_learnings, installation_id=inst)
    if inst is None:
        every = [lr for lr in every if lr.installation_id is None]
    shown = [lr for lr in every if lr.repo in (repo, "") and lr.status != FORGOTTEN]
    return learnings_reply(shown, repo), {"listed": len(shown)}


def learnings_reply(learnings: list[Learning], repo: str) -> str:
    """`/swarm learnings`: the repository's and the installation's learnings as a table."""
    if not learnings:
        return "swarm has learned nothing for this repository yet. Teach it with `/swarm learn <text>`."
    rows = [
        "| # | tier | status | scope | confidence | used | learning |",
        "|---|---|---|---|---|---|---|",
    ]
    for lr in learnings[:_MAX_LISTED]:
        text = sanitize(" ".join(lr.text.split()), repo=repo).replace("|", "\\|")[:200]
        scope = lr.scope.describe().replace("|", "\\|")
        rows.append(
            f"| {lr.id} | {lr.tier} | {lr.status} | `{scope}` | {lr.confidence:.2f} | {lr.utility} | {text} |"
        )
    more = (
        f"\n\n… and {len(learnings) - _MAX_LISTED} more (`swarm learnings list`)."
        if len(learnings) > _MAX_LISTED
        else ""
    )
    return f"**What swarm learned** ({len(learnings)}):\n\n" + "\n".join(rows) + more


async def learnings_for_review(
    services: Services, installation_id: int | None, repo: str
) -> tuple[Learning, ...]:
    """The active learnings a review of `repo` applies (its own and its installation's), freshly curated."""
    store = _store(services)
    await asyncio.to_thread(store.curate, installation_id)
    return tuple(await asyncio.to_thread(store.applicable, installation_id, repo))


async def record_uses(services: Services, learning_ids: list[int]) -> None:
    """Count what the learnings did in a stored review (their utility)."""
    if learning_ids:
        await asyncio.to_thread(_store(services).record_use, learning_ids)
