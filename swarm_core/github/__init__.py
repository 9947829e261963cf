"""GitHub: webhook signatures, event routing, `/swarm` commands, the REST client and the idempotent publisher.

The pure parts (signature, events, commands) do no I/O; the client is the one seam that
talks to GitHub. Names load on first use, so the webhook receiver's `verify` and `route`
do not import PyGithub.
"""

from __future__ import annotations

import typing as _typing

from swarm_core._lazy import lazy_namespace as _lazy_namespace

if _typing.TYPE_CHECKING:
    from swarm_core.github.client import GitHubClient, PullRequest
    from swarm_core.github.events import (
        check_headers,
        envelope,
        installation_id,
        pr_key,
        review_comment,
        route,
    )
    from swarm_core.github.failed_job import conclude_failed_job
    from swarm_core.github.handlers import (
        Services,
        analyze_issue,
        describe_pull_request,
        handle_job,
        run_command,
    )
    from swarm_core.github.learning_job import capture_reply, reply_fields
    from swarm_core.github.markers import ACTIONS_BOT, Markers, key_from_secret
    from swarm_core.github.pr_changeset import change_from_pr, repo_config
    from swarm_core.github.publisher import Publisher, PublishResult
    from swarm_core.github.signature import sign, verify

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("GitHubClient", "PullRequest"), "client"),
    **dict.fromkeys(
        ("check_headers", "envelope", "installation_id", "pr_key", "review_comment", "route"), "events"
    ),
    **dict.fromkeys(("conclude_failed_job",), "failed_job"),
    **dict.fromkeys(
        ("Services", "analyze_issue", "describe_pull_request", "handle_job", "run_command"), "handlers"
    ),
    **dict.fromkeys(("capture_reply", "reply_fields"), "learning_job"),
    **dict.fromkeys(("ACTIONS_BOT", "Markers", "key_from_secret"), "markers"),
    **dict.fromkeys(("change_from_pr", "repo_config"), "pr_changeset"),
    **dict.fromkeys(("PublishResult", "Publisher"), "publisher"),
    **dict.fromkeys(("sign", "verify"), "signature"),
}

__all__ = [
    "ACTIONS_BOT",
    "GitHubClient",
    "Markers",
    "PublishResult",
    "Publisher",
    "PullRequest",
    "Services",
    "analyze_issue",
    "capture_reply",
    "change_from_pr",
    "check_headers",
    "conclude_failed_job",
    "describe_pull_request",
    "envelope",
    "handle_job",
    "installation_id",
    "key_from_secret",
    "pr_key",
    "reply_fields",
    "repo_config",
    "review_comment",
    "route",
    "run_command",
    "sign",
    "verify",
]

__getattr__, __dir__ = _lazy_namespace(__name__, _EXPORTS, __all__)
