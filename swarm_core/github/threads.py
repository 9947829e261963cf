"""swarm's review threads: "fixed in <sha>" replies and resolving them (GraphQL `resolveReviewThread`).

Threads are read over GraphQL (`pullRequest.reviewThreads`: node ids, resolution, and each
comment's `databaseId`) and matched to the REST review comments by those ids, so a thread
counts as swarm's only when its first comment is swarm's own with a validly signed marker.
A human's thread is never touched. A thread someone else replied in gets swarm's reply but
stays open: the conversation is theirs to close. A resolved thread is left alone, so a
later push neither replies again nor reopens it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from swarm_core.github.client import GitHubClient, PullRequest
from swarm_core.github.markers import Markers
from swarm_core.models import Finding
from swarm_core.render.sanitize import sanitize

__all__ = [
    "THREADS_QUERY",
    "SwarmThreads",
    "ThreadOutcome",
    "resolve_fixed",
    "resolved_by_people",
    "swarms_threads",
]

THREADS_QUERY = """
query($owner: String!, $name: String!, $number: Int!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $cursor) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id isResolved isOutdated path line resolvedBy { login }
          comments(first: 100) { nodes { databaseId } }
        }
      }
    }
  }
}
"""
RESOLVE = """
mutation($threadId: ID!) { resolveReviewThread(input: {threadId: $threadId}) { thread { id isResolved } } }
"""
_FIXED = re.compile(r"<!-- swarm:fixed=([0-9a-f]{8,40}) -->")
_MAX_PAGES = 20


@dataclass
class ThreadOutcome:
    """What resolution did: fingerprints resolved, replied to but left open (a human spoke), skipped."""

    resolved: list[str] = field(default_factory=list)
    left_open: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)


def review_threads(client: GitHubClient, pr: PullRequest) -> list[dict[str, Any]]:
    """Every review thread of the pull request, as GraphQL lists them."""
    owner, _, name = pr.repo.partition("/")
    threads: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        data = client.graphql(
            THREADS_QUERY,
            {"owner": owner, "name": name, "number": pr.number, "cursor": cursor},
            "listing review threads",
        )
        page = (((data.get("repository") or {}).get("pullRequest") or {}).get("reviewThreads")) or {}
        threads += [t for t in page.get("nodes") or [] if isinstance(t, dict)]
        info = page.get("pageInfo") or {}
        cursor = info.get("endCursor")
        if not info.get("hasNextPage") or not cursor:
            break
    return threads


SwarmThreads = list[tuple[dict[str, Any], list[dict[str, Any]]]]


def swarms_threads(client: GitHubClient, markers: Markers, pr: PullRequest) -> SwarmThreads:
    """The review threads swarm started, each with its REST comments in order (swarm's first).

    A thread counts as swarm's only when its first comment is swarm's own with a valid marker:
    a human's thread is never swarm's to reply in or resolve.
    """
    comments = {
        int(c["id"]): c
        for c in client.paginate(
            f"/repos/{pr.repo}/pulls/{pr.number}/comments", what="listing review comments"
        )
        if isinstance(c, dict) and c.get("id") is not None
    }
    out: SwarmThreads = []
    for thread in review_threads(client, pr):
        ids = [n.get("databaseId") for n in (thread.get("comments") or {}).get("nodes") or []]
        posts = [comments[i] for i in ids if isinstance(i, int) and i in comments]
        if posts and markers.own(posts[0]):
            out.append((thread, posts))
    return out


def resolve_fixed(
    client: GitHubClient,
    markers: Markers,
    pr: PullRequest,
    fixed: Iterable[Finding],
    sha: str,
    threads: SwarmThreads,
) -> ThreadOutcome:
    """Reply "fixed in `sha`" on swarm's thread of each fixed finding, and resolve it unless a human replied.

    `threads` is swarms_threads' listing. Idempotent: a retried job finds its earlier reply by
    marker and does not post it again.
    """
    out = ThreadOutcome()
    wanted = {f.fingerprint: f for f in fixed}
    if not wanted:
        return out
    for thread, posts in threads:
        hits = [fp for fp in markers.read(pr.repo, pr.number, posts[:1]) if fp in wanted]
        if not hits:
            continue
        fp = hits[0]
        if thread.get("isResolved"):
            out.already.append(fp)
            continue
        replied = any(fp in _FIXED.findall(str(c.get("body") or "")) and markers.own(c) for c in posts[1:])
        if not replied:
            f = wanted[fp]
            checker = "its lane" if f.source.startswith("model:") else f"`{f.source or 'its analyzer'}`"
            rule = sanitize(f.rule, repo=pr.repo, limit=80).replace("`", "'")
            client.post(
                f"/repos/{pr.repo}/pulls/{pr.number}/comments/{posts[0]['id']}/replies",
                {
                    "body": f"✅ Fixed in {sha[:12]}: re-checked by {checker}, `{rule}` is no longer "
                    f"reported here.\n\n<!-- swarm:fixed={fp} -->"
                },
                "replying on a fixed finding's thread",
            )
        if any(not markers.own(c) for c in posts[1:]):
            out.left_open.append(fp)  # someone replied: their conversation to close
            continue
        client.graphql(RESOLVE, {"threadId": str(thread["id"])}, "resolving a review thread")
        out.resolved.append(fp)
    return out


def resolved_by_people(
    markers: Markers, pr: PullRequest, still: Iterable[Finding], threads: SwarmThreads
) -> list[tuple[dict[str, Any], str]]:
    """swarm's threads a person resolved while the review of this head still reports their finding.

    Still reported means the code at the finding's site did not change to fix it: the thread
    was dismissed, which the team's learnings take as feedback.

    Returns:
        (the thread's first comment, the resolver's login) for each such thread.
    """
    reported = {f.fingerprint for f in still}
    out: list[tuple[dict[str, Any], str]] = []
    for thread, posts in threads:
        login = str((thread.get("resolvedBy") or {}).get("login") or "")
        if not thread.get("isResolved") or not login or login.endswith("[bot]"):
            continue  # open, or resolved by swarm ("fixed in") or another bot
        if any(fp in reported for fp in markers.read(pr.repo, pr.number, posts[:1])):
            out.append((posts[0], login))
    return out
