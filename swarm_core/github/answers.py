"""GitHub's answers: errors as typed errors, how long it asks to wait, a retry that will not sleep it out."""

from __future__ import annotations

import json
import time
from typing import Any

from github import GithubException, GithubRetry

from swarm_core.errors import (
    GitHubAuthError,
    GitHubError,
    GitHubForbidden,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubUnavailable,
    GitHubValidation,
)

__all__ = ["DeferringRetry", "error_for", "graphql_error", "retry_after"]


def error_for(exc: GithubException, what: str) -> GitHubError:
    """GitHub's error answer as the typed error for its status (rate limits told apart from refusals)."""
    status = exc.status
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or "").strip()
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        message += ": " + (first if isinstance(first, str) else str(first.get("message") or first))
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    text = f"GitHub answered {status} to {what}" + (f": {message}" if message else "")
    rate_limited = status == 429 or (
        status == 403
        and (
            "rate limit" in message.lower()
            or headers.get("x-ratelimit-remaining") == "0"
            or "retry-after" in headers
        )
    )
    if rate_limited:
        return GitHubRateLimited(text, status=status, retry_after=retry_after(headers))
    if status == 401:
        return GitHubAuthError(text, status=status)
    if status == 403:
        return GitHubForbidden(text, status=status)
    if status in (404, 410):
        return GitHubNotFound(text, status=status)
    if status == 422:
        return GitHubValidation(text, status=status)
    if status >= 500:
        return GitHubUnavailable(text, status=status)
    return GitHubError(text, status=status)


# GraphQL's rate limits come as a 200 whose first error has one of these types (GitHub has sent both).
_GRAPHQL_RATE_LIMITED = frozenset({"RATE_LIMITED", "RATE_LIMIT"})


def graphql_error(error: Any, what: str, headers: dict[str, str]) -> GitHubError:
    """GraphQL's first error (in a 200 answer) as the typed error its REST status would be.

    FORBIDDEN and NOT_FOUND as 403 and 404, RATE_LIMITED a rate limit (its wait read from
    the answer's headers), anything else a validation error.
    """
    first = error if isinstance(error, dict) else {}
    kind, message = str(first.get("type") or ""), str(first.get("message") or error)
    text = f"GitHub refused {what}: {message}"
    if kind in _GRAPHQL_RATE_LIMITED:
        return GitHubRateLimited(
            text, status=200, retry_after=retry_after({k.lower(): v for k, v in headers.items()})
        )
    if kind == "FORBIDDEN":
        return GitHubForbidden(text, status=403)
    if kind == "NOT_FOUND":
        return GitHubNotFound(text, status=404)
    return GitHubValidation(text, status=422)


def retry_after(headers: dict[str, str]) -> float | None:
    """Seconds GitHub asks to wait (Retry-After, else the rate-limit reset; lower-cased headers)."""
    if "retry-after" in headers:
        try:
            return max(0.0, float(headers["retry-after"]))
        except ValueError:
            return None
    if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
        try:
            return max(0.0, float(headers["x-ratelimit-reset"]) - time.time())
        except ValueError:
            return None
    return 60.0  # a secondary limit with no hint: wait at least a minute (RULES 30)


class DeferringRetry(GithubRetry):
    """PyGithub's retry, except that a Retry-After longer than `defer_after_s` is raised, not slept.

    urllib3 sleeps whatever Retry-After says (120 s kept a worker asleep for over 150 s);
    raising it as GitHub's answer lets the client turn it into RetryLater.
    """

    defer_after_s: float | None = None

    def new(self, **kw: Any) -> DeferringRetry:
        retry = super().new(**kw)
        retry.defer_after_s = self.defer_after_s
        return retry

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Any:  # urllib3's Retry: not imported, swarm does not depend on urllib3 directly
        if response is not None and response.status in (403, 429) and self.defer_after_s is not None:
            asked = retry_after({k.lower(): v for k, v in response.headers.items()})
            if "retry-after" in {k.lower() for k in response.headers} and (asked or 0) > self.defer_after_s:
                try:
                    data = json.loads(self.get_content(response, url or ""))
                except ValueError:
                    data = {}
                raise GithubException(response.status, data, dict(response.headers))
        return super().increment(method, url, response, error, _pool, _stacktrace)
