"""Webhook routing (DESIGN §5, RULES 5): event + action → a job to enqueue, or why nothing is done.

Pure: a payload in, a decision out. Unknown events and actions are ignored (GitHub keeps
adding them) and still answered 2xx by the receiver. The parts of a payload the App reads
are validated by the typed models in `swarm_core.github.payloads` first: a payload that does
not fit raises InvalidPayload naming the field, so it is a 400, never a 5xx or a doomed job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swarm_core.github.commands import parse_command
from swarm_core.github.payloads import (
    CheckRunEvent,
    CheckSuiteEvent,
    Comment,
    Envelope,
    IssueCommentEvent,
    IssuesEvent,
    PullRequestEvent,
    ReviewCommentEvent,
    check_headers,
    validated,
)

__all__ = [
    "REVIEW_ACTIONS",
    "Route",
    "check_headers",
    "envelope",
    "installation_id",
    "pr_key",
    "review_comment",
    "route",
]

REVIEW_ACTIONS = frozenset({"opened", "reopened", "ready_for_review", "synchronize"})

# deliveries.outcome is a VARCHAR(64): an outcome quoting a long event name is cut to fit.
_OUTCOME_MAX = 64


@dataclass(frozen=True, slots=True)
class Route:
    """What to do with a delivery: `job` is (kind, key, payload, supersede) or None."""

    outcome: str
    job: tuple[str, str, dict[str, Any], bool] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", self.outcome[:_OUTCOME_MAX])


def pr_key(repo: str, number: int) -> str:
    """The queue key of a pull request or issue: its jobs run one at a time."""
    return f"pr:{repo}#{number}"


def envelope(payload: Mapping[str, Any]) -> Envelope:
    """The fields every delivery is recorded with: action, installation, repository.

    Raises:
        InvalidPayload: one of them has the wrong type or does not fit its column.
    """
    return validated(Envelope, payload)


def installation_id(payload: Mapping[str, Any]) -> int | None:
    """The installation a payload belongs to (RULES 7), or None (also when it does not validate)."""
    inst = payload.get("installation")
    value = inst.get("id") if isinstance(inst, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        return None
    return value


def route(event: str, payload: Mapping[str, Any], env: Envelope | None = None) -> Route:
    """Decide what a delivery means.

    Args:
        env: the payload's envelope when the caller validated it already (the webhook does,
            to record the delivery); validated here otherwise.

    Raises:
        InvalidPayload: a field the App reads for this event and action does not fit.
    """
    env = env if env is not None else envelope(payload)
    action, repo, inst = env.action or "", env.repo, env.installation_id
    if event == "ping":
        return Route("pong")
    if event == "installation":
        return Route(f"recorded: installation {action}")
    if event in (
        "pull_request",
        "issue_comment",
        "pull_request_review_comment",
        "check_run",
        "check_suite",
        "issues",
    ) and (not repo or inst is None):
        return Route("ignored: payload has no repository or installation")
    if event == "pull_request":
        return _pull_request(action, repo, inst, payload)
    if event == "issue_comment":
        return _comment(action, repo, inst, payload)
    if event == "pull_request_review_comment":
        return review_comment(action, repo, inst, payload)
    if event == "check_run":
        return _check_run(action, repo, inst, payload)
    if event == "check_suite":
        return _check_suite(action, repo, inst, payload)
    if event == "issues":
        if action != "opened":
            return Route(f"ignored: issues {action}")
        number = validated(IssuesEvent, payload).issue.number
        job = {"installation_id": inst, "repo": repo, "number": number, "trigger": "issues.opened"}
        return Route("queued: issue analysis", ("issue", pr_key(repo, number), job, False))
    return Route(f"ignored: event {event or '(none)'} {action}".rstrip())


def _pull_request(action: str, repo: str, inst: int | None, payload: Mapping[str, Any]) -> Route:
    if action not in REVIEW_ACTIONS:
        return Route(f"ignored: pull_request {action}")
    pr = validated(PullRequestEvent, payload).pull_request
    user = pr.user
    job = {
        "installation_id": inst,
        "repo": repo,
        "number": pr.number,
        "head_sha": pr.head.sha,
        "trigger": f"pull_request.{action}",
        "draft": bool(pr.draft),
        "bot": user is not None and (user.type == "Bot" or user.login.endswith("[bot]")),
    }
    return Route("queued: review", ("review", pr_key(repo, pr.number), job, True))


def _comment(action: str, repo: str, inst: int | None, payload: Mapping[str, Any]) -> Route:
    if action != "created":
        return Route(f"ignored: issue_comment {action}")
    event = validated(IssueCommentEvent, payload)
    comment, issue = event.comment, event.issue
    command = parse_command(comment.body)
    if command is None:
        return Route("ignored: no /swarm command")
    if comment.user.type == "Bot":
        return Route("ignored: comment by a bot")
    job = _comment_job(inst, repo, issue.number, issue.is_pr, comment)
    return Route(f"queued: command {command.name}", ("command", pr_key(repo, issue.number), job, False))


def _comment_job(inst: int | None, repo: str, number: int, is_pr: bool, comment: Comment) -> dict[str, Any]:
    """What a command job is told about the comment that asked for it."""
    return {
        "installation_id": inst,
        "repo": repo,
        "number": number,
        "is_pr": is_pr,
        "comment_id": comment.id,
        "author": comment.user.login,
        "body": comment.body[:8000],
    }


def review_comment(action: str, repo: str, inst: int | None, payload: Mapping[str, Any]) -> Route:
    """A `/swarm` command written on a diff line, or a reply that may continue one of swarm's threads.

    Never a comment by a bot: swarm's own answers arrive here too, and answering them (or
    another bot's) would loop. Whether a reply's thread is swarm's is asked of GitHub by the job.
    """
    if action != "created":
        return Route(f"ignored: pull_request_review_comment {action}")
    event = validated(ReviewCommentEvent, payload)
    comment, number = event.comment, event.pull_request.number
    if comment.user.type == "Bot" or comment.user.login.endswith("[bot]"):
        return Route("ignored: comment by a bot")
    command = parse_command(comment.body)
    if command is None and comment.in_reply_to_id is None:
        return Route("ignored: no /swarm command")
    job = {
        **_comment_job(inst, repo, number, True, comment),
        "review_comment": {
            "root_id": comment.in_reply_to_id or comment.id,
            "path": comment.path,
            "line": comment.line,
            "side": comment.side or "RIGHT",
        },
    }
    if command is None:
        return Route("queued: reply in a review thread", ("reply", pr_key(repo, number), job, False))
    return Route(f"queued: command {command.name}", ("command", pr_key(repo, number), job, False))


def _check_run(action: str, repo: str, inst: int | None, payload: Mapping[str, Any]) -> Route:
    if action not in ("rerequested", "requested_action"):
        return Route(f"ignored: check_run {action}")
    run = validated(CheckRunEvent, payload).check_run
    if not run.pull_requests:
        return Route("ignored: check run has no pull request (a fork branch?)")
    number = run.pull_requests[0].number
    job = {
        "installation_id": inst,
        "repo": repo,
        "number": number,
        "head_sha": run.head_sha,
        "trigger": f"check_run.{action}",
        "app_id": run.app.id if run.app is not None else None,
        "draft": False,
        "bot": False,
        "rerun": True,
    }
    return Route("queued: review", ("review", pr_key(repo, number), job, True))


def _check_suite(action: str, repo: str, inst: int | None, payload: Mapping[str, Any]) -> Route:
    # "requested" comes with every push, which pull_request.synchronize already reviews;
    # "rerequested" is a person pressing "Re-run all checks".
    if action != "rerequested":
        return Route(f"ignored: check_suite {action}")
    suite = validated(CheckSuiteEvent, payload).check_suite
    head_sha = suite.head_sha
    numbers = sorted({p.number for p in suite.pull_requests})
    if not numbers:
        return Route("ignored: check suite has no pull request (a fork branch?)")
    job = {
        "installation_id": inst,
        "repo": repo,
        "numbers": numbers,
        "head_sha": head_sha,
        "trigger": "check_suite.rerequested",
    }
    return Route("queued: re-run of the check suite", ("suite", f"suite:{repo}@{head_sha}", job, False))
