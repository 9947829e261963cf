"""The one error tree of swarm.

    SwarmError
    ├── ConfigError          invalid `.github/swarm.yml` or command-line option (exit code 2)
    ├── SourceError          a change cannot be read: not a git repository, unknown ref, unreadable file
    │   ├── DiffError        the input is not a unified diff, or it is corrupt or too large
    │   └── CheckoutRefused  a repository tarball is over a cap or holds an unsafe member
    ├── AnalyzerError        an analyzer could not run (reported as skipped, never fatal)
    │   └── AdvisoryUnavailable  the vulnerability database (OSV) could not be reached or read
    ├── StoreError           the run store cannot be opened or read
    │   ├── RunNotFound      no run has that id
    │   └── LearningNotFound no learning has that id
    ├── LaneError            a lane failed (its result is recorded as failed, never a lost review)
    ├── ProviderError        an LLM provider call failed (status and retryability attached)
    │   ├── ProviderTimeout       no answer within the timeout, or the connection failed
    │   ├── ProviderRateLimited   429, or 503/529 "overloaded": transient, honours Retry-After
    │   ├── ProviderUnavailable   5xx: transient
    │   ├── ProviderAuthError     401/403: the key is missing or wrong (never retried)
    │   └── MalformedOutput       the reply did not parse as the requested JSON, even after a repair
    ├── ModelSelectionError  no model satisfies the router's constraints, or a model name is unknown
    ├── LimitReached         a run's guardrail (calls, tokens, cost, wall time) stopped further calls
    ├── MemoryStoreError     swarm memory cannot be read or written
    ├── MutationError        the mutation gate cannot run: its test command does not run Python
    ├── WebhookError         a webhook delivery cannot be accepted (answered 4xx, never queued)
    │   └── InvalidPayload   a field the App reads is missing, of the wrong type or too long (named)
    ├── RetryLater           a job must wait `after_s` seconds (the worker releases it, never sleeps)
    └── GitHubError          GitHub answered with an error (status attached)
        ├── GitHubAuthError       401: bad credentials or an expired token
        ├── GitHubForbidden       403 without rate limiting: the App lacks a permission
        ├── GitHubNotFound        404 (or 410): no such repository, pull request or file
        ├── GitHubValidation      422: GitHub refused the request body
        ├── GitHubRateLimited     primary or secondary rate limit (403/429), wait `retry_after`
        └── GitHubUnavailable     5xx or no answer: transient

Every message is one line that says what failed and what to do about it; the command-line
face prints it without a traceback.
"""

from __future__ import annotations

__all__ = [
    "AdvisoryUnavailable",
    "AnalyzerError",
    "CheckoutRefused",
    "ConfigError",
    "DiffError",
    "GitHubAuthError",
    "GitHubError",
    "GitHubForbidden",
    "GitHubNotFound",
    "GitHubRateLimited",
    "GitHubUnavailable",
    "GitHubValidation",
    "InvalidPayload",
    "LaneError",
    "LearningNotFound",
    "LimitReached",
    "MalformedOutput",
    "MemoryStoreError",
    "ModelSelectionError",
    "MutationError",
    "ProviderAuthError",
    "ProviderError",
    "ProviderRateLimited",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RetryLater",
    "RunNotFound",
    "SourceError",
    "StoreError",
    "SwarmError",
    "WebhookError",
]


class SwarmError(Exception):
    """Base of every error swarm raises on purpose."""


class ConfigError(SwarmError, ValueError):
    """Configuration is invalid; the message names the file, the key and what is wrong."""


class MutationError(SwarmError):
    """The mutation gate cannot run as configured (reported in the job summary, never fatal)."""


class SourceError(SwarmError):
    """A change cannot be read from where the user pointed."""


class DiffError(SourceError, ValueError):
    """The input is not a unified diff, or it is corrupt or over the size limit."""


class CheckoutRefused(SourceError):
    """A repository tarball is over a size or count cap, or holds an unsafe member (named)."""


class AnalyzerError(SwarmError):
    """An analyzer could not run; the engine reports it as skipped with this reason."""


class AdvisoryUnavailable(AnalyzerError):
    """OSV could not be reached or answered something unreadable; the review says the check was skipped."""


class StoreError(SwarmError):
    """The run store cannot be opened, written or read."""


class LearningNotFound(StoreError, KeyError):
    """No stored learning has the id the user gave."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "learning not found"


class RunNotFound(StoreError, KeyError):
    """No stored run matches the id the user gave."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a user should see the plain sentence.
        return str(self.args[0]) if self.args else "run not found"


class LaneError(SwarmError):
    """A lane failed; the review records it as a failed lane and goes on."""


class ProviderError(SwarmError):
    """An LLM provider call failed.

    Attributes:
        status: the HTTP status, or None when no response arrived.
        retryable: True when the same call may succeed later (timeouts, 429, 5xx).
        transient: True for rate limiting and overload (429/503/529), which draw on the
            run's transient budget instead of counting towards the circuit breaker.
        retry_after: seconds the provider asked us to wait, if it said.
    """

    retryable = False
    transient = False

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ProviderTimeout(ProviderError, TimeoutError):
    """The provider did not answer in time, or the connection could not be made."""

    retryable = True


class ProviderRateLimited(ProviderError):
    """429 Too Many Requests, or 503/529 overloaded: wait (Retry-After) and try again."""

    retryable = True
    transient = True


class ProviderUnavailable(ProviderError):
    """A 5xx answer other than overload."""

    retryable = True


class ProviderAuthError(ProviderError, PermissionError):
    """401/403: the API key is missing, wrong or lacks access to the model."""


class MalformedOutput(ProviderError, ValueError):
    """The model's reply is not the JSON the lane asked for, even after one repair request."""


class ModelSelectionError(SwarmError, ValueError):
    """No model fits the router's constraints, or a model name is not `provider/model`."""


class LimitReached(SwarmError):
    """A guardrail stopped the run from making more model calls; what finished is kept."""


class MemoryStoreError(SwarmError):
    """Swarm memory (SQLite, Postgres or Redis) cannot be read or written."""


class WebhookError(SwarmError):
    """A webhook delivery cannot be accepted; the receiver answers 4xx and queues nothing."""


class InvalidPayload(WebhookError, ValueError):
    """A delivery does not fit what the App reads from it.

    Attributes:
        field: the dotted path of the first offending field (`pull_request.number`).
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class RetryLater(SwarmError):
    """A job cannot go on for `after_s` seconds (a long Retry-After, an exhausted rate limit).

    Raised out of a job's handler, it makes the worker give the job back to the queue with
    a not-before time instead of sleeping; the wait does not count as a failed attempt.

    Attributes:
        after_s: seconds to wait before the job may run again.
    """

    def __init__(self, message: str, *, after_s: float) -> None:
        super().__init__(message)
        self.after_s = max(0.0, after_s)


class GitHubError(SwarmError):
    """GitHub answered with an error.

    Attributes:
        status: the HTTP status (None when no answer arrived).
        retry_after: seconds to wait before retrying, when GitHub said.
        retryable: True for rate limits and 5xx.
    """

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class GitHubAuthError(GitHubError, PermissionError):
    """401: bad credentials, an expired token, or a JWT GitHub refused."""


class GitHubForbidden(GitHubError, PermissionError):
    """403 without rate limiting: the token lacks a permission (a read-only token, say)."""


class GitHubNotFound(GitHubError, LookupError):
    """404 or 410: the repository, pull request, file or comment does not exist (or is hidden)."""


class GitHubValidation(GitHubError, ValueError):
    """422: GitHub refused the body (a comment outside the diff, a body over 65,536 characters)."""


class GitHubRateLimited(GitHubError):
    """A primary or secondary rate limit: wait `retry_after` seconds."""

    retryable = True


class GitHubUnavailable(GitHubError):
    """5xx, or GitHub could not be reached."""

    retryable = True
