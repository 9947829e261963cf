"""Typed models of the parts of each webhook payload the App reads, validated at the edge.

Only the fields the router and the intake use are modelled; everything else in GitHub's
payloads is ignored. Ids, numbers and strings are strict (no "1" for 1, no True for 1) and
bounded by the columns they are written to (swarm_core/store/schema.py), so a value the
database cannot hold is refused here, before the write, the same way on SQLite and Postgres.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from swarm_core.errors import InvalidPayload

__all__ = [
    "CheckRunEvent",
    "CheckSuiteEvent",
    "Comment",
    "Envelope",
    "IssueCommentEvent",
    "IssuesEvent",
    "PullRequestEvent",
    "ReviewCommentEvent",
    "check_headers",
    "validated",
]

# BIGINT columns hold up to 2**63 - 1; GitHub's ids are positive.
Id = Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]
# A header or action name: short, and no NUL (Postgres refuses it in text columns).
Name = Annotated[str, StringConstraints(strict=True, max_length=64, pattern=r"^[\w.\-]*$")]
# deliveries.repo is VARCHAR(256); GitHub's owner and repository names are [\w.-].
FullName = Annotated[str, StringConstraints(strict=True, max_length=256, pattern=r"^[\w.\-]+/[\w.\-]+$")]
Sha = Annotated[str, StringConstraints(strict=True, pattern=r"^[0-9a-f]{40}([0-9a-f]{24})?$")]
Login = Annotated[str, StringConstraints(strict=True, max_length=256, pattern=r"^[^\x00]*$")]
Text = Annotated[str, StringConstraints(strict=True, max_length=1_000_000)]

_M = TypeVar("_M", bound=BaseModel)


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Installation(_Part):
    id: Id


class Repository(_Part):
    full_name: FullName


class Envelope(_Part):
    """What every delivery is recorded with (the deliveries table)."""

    action: Name | None = None
    installation: Installation | None = None
    repository: Repository | None = None

    @property
    def repo(self) -> str:
        return self.repository.full_name if self.repository is not None else ""

    @property
    def installation_id(self) -> int | None:
        return self.installation.id if self.installation is not None else None


class User(_Part):
    login: Login = ""
    type: Login = ""


class Head(_Part):
    sha: Sha


class PullRequest(_Part):
    number: Id
    head: Head
    draft: bool | None = None
    user: User | None = None


class PullRequestEvent(_Part):
    """`pull_request` opened, reopened, ready_for_review, synchronize."""

    pull_request: PullRequest


class Comment(_Part):
    id: Id
    body: Text
    user: User


class Issue(_Part):
    number: Id
    pull_request: Any = None

    @property
    def is_pr(self) -> bool:
        """GitHub marks an issue that is a pull request with a `pull_request` object."""
        return "pull_request" in self.model_fields_set


class IssueCommentEvent(_Part):
    """`issue_comment` created: a possible `/swarm` command."""

    comment: Comment
    issue: Issue


class ReviewComment(Comment):
    path: Annotated[str, StringConstraints(strict=True, max_length=4096, pattern=r"^[^\x00]*$")] = ""
    line: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)] | None = None
    side: Literal["LEFT", "RIGHT"] | None = None
    in_reply_to_id: Id | None = None


class ReviewCommentEvent(_Part):
    """`pull_request_review_comment` created: a reply in a review thread, or a `/swarm` command on a line."""

    comment: ReviewComment
    pull_request: PullRef


class IssuesEvent(_Part):
    """`issues` opened."""

    issue: Issue


class App(_Part):
    id: Id


class PullRef(_Part):
    number: Id


class CheckRun(_Part):
    head_sha: Sha
    app: App | None = None
    pull_requests: list[PullRef] = Field(default_factory=list)


class CheckRunEvent(_Part):
    """`check_run` rerequested or requested_action."""

    check_run: CheckRun


class CheckSuite(_Part):
    head_sha: Sha
    pull_requests: list[PullRef] = Field(default_factory=list)


class CheckSuiteEvent(_Part):
    """`check_suite` rerequested ("Re-run all checks")."""

    check_suite: CheckSuite


def validated(model: type[_M], payload: Mapping[str, Any]) -> _M:
    """`payload` as `model`.

    Raises:
        InvalidPayload: naming the first field that does not fit and why.
    """
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "payload"
        raise InvalidPayload(field, str(first["msg"])) from exc


# The delivery headers end in VARCHAR columns: event(64), guid(64), hook_id(32).
_HEADER_LIMITS = (("X-GitHub-Event", 64), ("X-GitHub-Delivery", 64), ("X-GitHub-Hook-ID", 32))
_HEADER_CHARS = re.compile(r"^[\w.\-]*$")


def check_headers(event: str, guid: str, hook_id: str) -> None:
    """Refuse delivery headers the deliveries table cannot hold.

    Raises:
        InvalidPayload: a header is longer than its column or has characters outside [A-Za-z0-9_.-].
    """
    for (name, limit), value in zip(_HEADER_LIMITS, (event, guid, hook_id), strict=True):
        if len(value) > limit:
            raise InvalidPayload(name, f"longer than {limit} characters")
        if not _HEADER_CHARS.match(value):
            raise InvalidPayload(name, "only letters, digits, '_', '.' and '-' are allowed")
