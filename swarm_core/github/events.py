"""Webhook routing (DESIGN §5, RULES 5): event + action → a job to enqueue, or why nothing is done.

Pure: a payload in, a decision out. Unknown events and actions are ignored (GitHub keeps
adding them) and still answered 2xx by the receiver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swarm_core.github.commands import parse_command

__all__ = ["REVIEW_ACTIONS", "Route", "pr_key", "route"]

REVIEW_ACTIONS = frozenset({"opened", "reopened", "ready_for_review", "synchronize"})


@dataclass(frozen=True, slots=True)
class Route:
    """What to do with a delivery: `job` is (kind, key, payload, supersede) or None."""

    outcome: str
    job: tuple[str, str, dict[str, Any], bool] | None = None


def _obj(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}


def pr_key(repo: str, number: int) -> str:
    """The queue key of a pull request or issue: its jobs run one at a time."""
    return f"pr:{repo}#{number}"


def _repo(payload: Mapping[str, Any]) -> str:
    repo = payload.get("repository")
    return str(repo.get("full_name", "")) if isinstance(repo, Mapping) else ""


def installation_id(payload: Mapping[str, Any]) -> int | None:
    """The installation a payload belongs to (RULES 7), or None."""
    inst = payload.get("installation")
    value = inst.get("id") if isinstance(inst, Mapping) else None
    return value if isinstance(value, int) else None


def route(event: str, payload: Mapping[str, Any]) -> Route:
    """Decide what a delivery means. Never raises on odd payloads: it ignores them with a reason."""
    action = str(payload.get("action") or "")
    repo = _repo(payload)
    inst = installation_id(payload)
    if event == "ping":
        return Route("pong")
    if event == "installation":
        return Route(f"recorded: installation {action}")
    if event in ("pull_request", "issue_comment", "check_run", "check_suite", "issues") and (
        not repo or inst is None
    ):
        return Route("ignored: payload has no repository or installation")
    if event == "pull_request":
        return _pull_request(action, repo, inst, payload)
    if event == "issue_comment":
        return _comment(action, repo, inst, payload)
    if event == "check_run":
        return _check_run(action, repo, inst, payload)
    if event == "check_suite":
        return _check_suite(action, repo, inst, payload)
    if event == "issues":
        issue = _obj(payload, "issue")
        if action != "opened" or not issue.get("number"):
            return Route(f"ignored: issues {action}")
        job = {
            "installation_id": inst,
            "repo": repo,
            "number": int(issue["number"]),
            "trigger": "issues.opened",
        }
        return Route("queued: issue analysis", ("issue", pr_key(repo, int(issue["number"])), job, False))
    return Route(f"ignored: event {event or '(none)'} {action}".rstrip())


def _pull_request(action: str, repo: str, inst: int | None, payload: Mapping[str, Any]) -> Route:
    pr = payload.get("pull_request")
    if action not in REVIEW_ACTIONS or not isinstance(pr, Mapping):
        return Route(f"ignored: pull_request {action}")
    number = int(pr.get("number") or payload.get("number") or 0)
    user = _obj(pr, "user")
    job = {
        "installation_id": inst,
        "repo": repo,
        "number": number,
        "head_sha": str(_obj(pr, "head").get("sha", "")),
        "trigger": f"pull_request.{action}",
        "draft": bool(pr.get("draft")),
        "bot": str(user.get("type", "")) == "Bot" or str(user.get("login", "")).endswith("[bot]"),
    }
    return Route("queued: review", ("review", pr_key(repo, number), job, True))


def _comment(action: str, repo: str, inst: int | None, payload: Mapping[str, Any]) -> Route:
    if action != "created":
        return Route(f"ignored: issue_comment {action}")
    comment = _obj(payload, "comment")
    issue = _obj(payload, "issue")
    body = str(comment.get("body") or "")
    command = parse_command(body)
    if command is None:
        return Route("ignored: no /swarm command")
    user = _obj(comment, "user")
    if str(user.get("type", "")) == "Bot":
        return Route("ignored: comment by a bot")
    number = int(issue.get("number") or 0)
    job = {
        "installation_id": inst,
        "repo": repo,
        "number": number,
        "is_pr": "pull_request" in issue,
        "comment_id": comment.get("id"),
        "author": str(user.get("login", "")),
        "body": body[:8000],
    }
    return Route(f"queued: command {command.name}", ("command", pr_key(repo, number), job, False))


def _check_run(action: str, repo: str, inst: int | None, payload: Mapping[str, Any]) -> Route:
    if action not in ("rerequested", "requested_action"):
        return Route(f"ignored: check_run {action}")
    run = _obj(payload, "check_run")
    app = _obj(run, "app")
    prs = [p for p in run.get("pull_requests") or [] if isinstance(p, Mapping)]
    if not prs:
        return Route("ignored: check run has no pull request (a fork branch?)")
    number = int(prs[0].get("number") or 0)
    job = {
        "installation_id": inst,
        "repo": repo,
        "number": number,
        "head_sha": str(run.get("head_sha", "")),
        "trigger": f"check_run.{action}",
        "app_id": app.get("id"),
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
    suite = _obj(payload, "check_suite")
    head_sha = str(suite.get("head_sha") or "")
    numbers = sorted(
        {
            int(p["number"])
            for p in suite.get("pull_requests") or []
            if isinstance(p, Mapping) and isinstance(p.get("number"), int)
        }
    )
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
