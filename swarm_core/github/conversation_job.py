"""Conversation jobs: answer `/swarm ask` and replies in swarm's review threads, post `/swarm describe`.

An answer is posted once per triggering comment (found again by its reply marker among
swarm's own comments before any model is called, so a redelivered webhook or a retried job
costs nothing), where the question was asked: in the review thread, or on the pull request
for a top-level `/swarm ask`. Asking needs no write access; on a private repository the
person needs at least read access (asked of GitHub, not taken from the payload).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from swarm_core.changeset import ChangeSet
from swarm_core.config import SwarmConfig
from swarm_core.conversation import (
    ASK_NEEDS_MODEL,
    Question,
    Site,
    ThreadComment,
    answer_to_dict,
    answer_to_markdown,
)
from swarm_core.errors import DiffError, ModelSelectionError
from swarm_core.github.client import GitHubClient, PullRequest
from swarm_core.github.pr_changeset import change_from_pr, repo_config
from swarm_core.github.replies import (
    find_own,
    own_markers,
    reply_in_thread,
    reply_marker,
    reply_once,
    sticky_comment,
)
from swarm_core.github.services import Services, gh, record_document, within_budget
from swarm_core.models import Side
from swarm_core.render.walkthrough import (
    DESCRIBE_MARKER,
    WALKTHROUGH_HEADING,
    walkthrough_to_dict,
    walkthrough_to_markdown,
)
from swarm_core.store.queue import Job
from swarm_core.walkthrough import describe_change

__all__ = ["READERS", "answer_question", "answer_reply", "describe_pull_request"]

# Asking reads: on a private repository, read access is enough (write is not needed).
READERS = frozenset({"admin", "maintain", "write", "triage", "read"})


class _Where:
    """Where the answer goes: the review thread of a review comment, else the pull request."""

    def __init__(self, services: Services, client: GitHubClient, payload: dict[str, Any]) -> None:
        self.services, self.client = services, client
        self.repo, self.number = str(payload["repo"]), int(payload["number"])
        self.comment_id = payload.get("comment_id")
        thread = payload.get("review_comment")
        self.root_id: int | None = int(thread["root_id"]) if isinstance(thread, dict) else None

    async def answered(self) -> bool:
        listing = "pulls" if self.root_id is not None else "issues"
        path = f"/repos/{self.repo}/{listing}/{self.number}/comments"
        return await find_own(self.services, self.client, path, reply_marker(self.comment_id)) is not None

    async def say(self, text: str) -> int:
        if self.root_id is not None:
            return await reply_in_thread(
                self.services, self.client, self.repo, self.number, self.root_id, self.comment_id, text
            )
        return await reply_once(self.services, self.client, self.repo, self.number, self.comment_id, text)


async def _may_ask(client: GitHubClient, repo: str, author: str) -> tuple[bool, str]:
    """Anyone may ask on a public repository; on a private one, people with at least read access."""
    _, meta = await gh(client.request, "GET", f"/repos/{repo}", what=f"reading {repo}")
    if not (meta or {}).get("private"):
        return True, "public repository"
    permission = str(await gh(client.permission, repo, author))
    return permission in READERS, permission


@dataclass(frozen=True)
class _Thread:
    """A review thread as the job reads it."""

    root: dict[str, Any] | None  # its first comment (None: not found)
    talk: tuple[ThreadComment, ...]  # the conversation in order, without the triggering comment
    swarms: bool  # its first comment is swarm's own, with a validly signed finding marker
    own_trigger: bool  # swarm's own account wrote the triggering comment


async def _thread(services: Services, client: GitHubClient, payload: dict[str, Any], root_id: int) -> _Thread:
    repo, number, trigger = str(payload["repo"]), int(payload["number"]), payload.get("comment_id")
    comments = await gh(lambda: list(client.paginate(f"/repos/{repo}/pulls/{number}/comments")))
    root = next((c for c in comments if c.get("id") == root_id), None)
    if root is None:
        return _Thread(None, (), False, False)
    markers = await own_markers(services)
    members = sorted(
        [root, *(c for c in comments if c.get("in_reply_to_id") == root_id)], key=lambda c: int(c["id"])
    )
    talk = tuple(
        ThreadComment(str((c.get("user") or {}).get("login") or ""), str(c.get("body") or ""), markers.own(c))
        for c in members
        if c.get("id") != trigger
    )
    own_trigger = any(c.get("id") == trigger and markers.own(c) for c in members)
    return _Thread(root, talk, markers.own(root) and bool(markers.read(repo, number, [root])), own_trigger)


async def _change(
    services: Services, client: GitHubClient, payload: dict[str, Any]
) -> tuple[PullRequest, SwarmConfig, ChangeSet]:
    pr: PullRequest = await gh(client.pull_request, str(payload["repo"]), int(payload["number"]))
    config, _problem = await gh(repo_config, client, pr.repo, pr.default_branch)
    return pr, config, await gh(change_from_pr, client, pr, config)


async def _answer(
    job: Job,
    services: Services,
    client: GitHubClient,
    payload: dict[str, Any],
    where: _Where,
    question: Question,
    *,
    reply: bool = False,
) -> dict[str, Any]:
    """Check, ask the model within the installation's budget, record the calls, post the answer once.

    A `reply` in a thread is talk, not a command: with no model it is left to the people in
    the thread (and to the team's learnings), never answered "configure a model".
    """
    author = str(payload.get("author") or "")
    if await where.answered():
        return {"command": "ask", "skipped": "already answered"}
    allowed, access = await _may_ask(client, where.repo, author)
    if not allowed:
        await where.say(
            f"@{author} thanks! On a private repository only people with read access get answers "
            f"from swarm (your access: {access})."
        )
        return {"command": "ask", "refused": author, "permission": access}
    if services.ask is None:
        if not reply:
            await where.say(ASK_NEEDS_MODEL)
        return {"command": "ask", "skipped": "no model"}
    try:
        _pr, config, change = await _change(services, client, payload)
    except DiffError as exc:
        await where.say(f"swarm cannot read this pull request's diff: {exc}")
        return {"command": "ask", "skipped": f"diff not readable: {exc}"}
    config, _, spent = await within_budget(services, payload, config, job)
    if spent:
        await where.say(spent)
        return {"command": "ask", "skipped": "the installation's model budget is spent"}
    started = time.perf_counter()
    try:
        answer = await services.ask(config, question, change)
    except ModelSelectionError as exc:
        if not reply:
            await where.say(str(exc))
        return {"command": "ask", "skipped": str(exc)}
    run_id = await record_document(
        services,
        "ask",
        payload,
        "failed" if answer.error else "ok",
        time.perf_counter() - started,
        answer_to_dict(answer),
        answer.exchanges,
    )
    posted = await where.say(answer_to_markdown(answer, repo=where.repo))
    return {"command": "ask", "comment_id": posted, "run_id": run_id, "error": answer.error or None}


async def answer_question(job: Job, services: Services, payload: dict[str, Any], text: str) -> dict[str, Any]:
    """`/swarm ask <question>`: on the pull request, or on a diff line (that line is the site)."""
    client = services.clients(payload.get("installation_id"))
    where = _Where(services, client, payload)
    if not payload.get("is_pr"):
        await where.say("`/swarm ask` works on pull requests only.")
        return {"command": "ask", "skipped": "not a pull request"}
    thread = payload.get("review_comment")
    if not isinstance(thread, dict):
        return await _answer(job, services, client, payload, where, Question(text))
    found = await _thread(services, client, payload, int(thread["root_id"]))
    site = Site(str(thread["path"]), thread.get("line"), Side(str(thread.get("side") or "RIGHT")))
    return await _answer(job, services, client, payload, where, Question(text, site, found.talk))


async def answer_reply(job: Job, services: Services, payload: dict[str, Any]) -> dict[str, Any]:
    """A reply in a review thread: answered when swarm started the thread, and never swarm's own.

    This is the one place a reply to one of swarm's findings is read with its thread
    (`question.thread`: the finding first, then the conversation; `question.text` the reply,
    `question.site` its line): where learnings from replies hook in.
    """
    client = services.clients(payload.get("installation_id"))
    where = _Where(services, client, payload)
    thread = payload["review_comment"]
    found = await _thread(services, client, payload, int(thread["root_id"]))
    if found.root is None or not found.swarms:
        return {"skipped": "not a thread swarm started"}
    if found.own_trigger:
        return {"skipped": "swarm's own comment"}  # the loop guard, should swarm's reply get this far
    site = Site(str(found.root.get("path") or thread["path"]), found.root.get("line") or thread.get("line"))
    question = Question(str(payload.get("body") or ""), site, found.talk)
    result = await _answer(job, services, client, payload, where, question, reply=True)
    return {**result, "command": "reply"}


async def describe_pull_request(
    job: Job, services: Services, payload: dict[str, Any], *, explicit: bool
) -> dict[str, Any]:
    """The walkthrough: a sticky comment, or the PR description when the config allows it and it is empty.

    `explicit` is `/swarm describe`; otherwise (a newly opened pull request) it runs only with
    `review.describe: auto`.
    """
    client = services.clients(payload.get("installation_id"))
    repo, number = str(payload["repo"]), int(payload["number"])
    pr: PullRequest = await gh(client.pull_request, repo, number)
    config, _problem = await gh(repo_config, client, repo, pr.default_branch)
    mode = config.review.describe
    if mode == "off" or (not explicit and mode != "auto"):
        if explicit:
            await reply_once(
                services,
                client,
                repo,
                number,
                payload.get("comment_id"),
                "`review.describe` is off in .github/swarm.yml.",
            )
        return {"command": "describe", "skipped": f"review.describe is {mode}"}
    try:
        change = await gh(change_from_pr, client, pr, config)
    except DiffError as exc:
        return {"command": "describe", "skipped": f"diff not readable: {exc}"}
    config, _, spent = await within_budget(services, payload, config, job)
    started = time.perf_counter()
    if services.describe is None:
        walkthrough = await describe_change(change, config, None)
    else:
        walkthrough = await services.describe(config, change, models=not spent)
    if spent:
        walkthrough.note = spent
    run_id = await record_document(
        services,
        "describe",
        payload,
        "ok",
        time.perf_counter() - started,
        walkthrough_to_dict(walkthrough),
        walkthrough.exchanges,
    )
    text = walkthrough_to_markdown(walkthrough, repo=repo)
    result = {"command": "describe", "run_id": run_id, "model": walkthrough.model or None}
    # The description is swarm's to write only while its author left it empty (or it holds swarm's
    # own earlier walkthrough, which a re-run updates). Read again now: the author may have
    # written it while the walkthrough was being made.
    if config.review.describe_edit_body:
        pr = await gh(client.pull_request, repo, number)
    ours = pr.body.startswith(WALKTHROUGH_HEADING) and pr.body.rstrip().endswith(DESCRIBE_MARKER)
    if config.review.describe_edit_body and (not pr.body.strip() or ours):
        await gh(client.patch, f"/repos/{repo}/pulls/{number}", {"body": text}, "writing the PR description")
        return {**result, "body": True}
    comment_id = await sticky_comment(
        services, client, repo, number, DESCRIBE_MARKER, text, "the walkthrough"
    )
    return {**result, "comment_id": comment_id}
