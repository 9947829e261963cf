"""The GitHub REST client: PyGithub (App JWT → installation token, retries, rate limits), one request path.

Every call goes through `GitHubClient.request`, which turns PyGithub's exceptions into
swarm's GitHubError tree in one place. Calls block: async callers run them in a thread
(`asyncio.to_thread`), never on the event loop. Idempotent methods (GET, PATCH, PUT,
DELETE) are retried by PyGithub (urllib3's Retry) on 5xx and rate limits; a POST is
retried here, with tenacity, only after a rate-limit answer, which GitHub sends before
doing anything: at most three attempts, each wait the one GitHub asked for.

Two faults are handled here rather than by the caller:

- a 401 on an installation's client (a revoked or expired token) drops the cached token
  and mints a new one, once per call: PyGithub would otherwise send the dead token until
  its hour is up;
- in the App, a wait longer than `defer_after_s` (Retry-After, a rate-limit reset) is not
  slept through: the client raises RetryLater and the worker gives the job back to the
  queue with a not-before time. The Action and the CLI have no queue: they keep waiting.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import github
from github import Auth, GithubException
from github.Requester import Requester
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from swarm_core.errors import (
    GitHubAuthError,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubUnavailable,
    RetryLater,
)
from swarm_core.github.answers import DeferringRetry, error_for, graphql_error
from swarm_core.redact import Redactor

__all__ = ["API_VERSION", "GitHubClient", "PullRequest", "diff_from_files", "parse_link"]

API_VERSION = "2022-11-28"
MAX_FILES = 3000
_LINK = re.compile(r'<([^>]+)>;\s*rel="([a-z]+)"')
_RETRIES = re.compile(r"too many (\d{3}) error responses")
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
_POST_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class PullRequest:
    """What the engine needs to know about a pull request."""

    repo: str
    number: int
    title: str
    body: str
    head_sha: str
    base_sha: str
    draft: bool
    author: str
    author_type: str
    state: str
    default_branch: str


def parse_link(header: str | None) -> dict[str, str]:
    """The `link` header as {rel: url} (RULES 32); empty when absent."""
    return {rel: url for url, rel in _LINK.findall(header or "")}


def diff_from_files(files: Iterable[dict[str, Any]]) -> tuple[bytes, list[str]]:
    """A unified diff rebuilt from GitHub's files list (a pull request's or a compare's): (diff,
    the files without a patch: binary or too large)."""
    parts: list[str] = []
    missing: list[str] = []
    for f in files:
        path = str(f.get("filename", ""))
        patch = f.get("patch")
        if not path:
            continue
        if not isinstance(patch, str) or not patch:
            missing.append(path)
            continue
        status = str(f.get("status", "modified"))
        old = str(f.get("previous_filename") or path)
        head = [f"diff --git a/{old} b/{path}"]
        if status == "added":
            head += ["new file mode 100644", "--- /dev/null", f"+++ b/{path}"]
        elif status == "removed":
            head += ["deleted file mode 100644", f"--- a/{old}", "+++ /dev/null"]
        else:
            if old != path:
                head += [f"rename from {old}", f"rename to {path}"]
            head += [f"--- a/{old}", f"+++ b/{path}"]
        parts.append("\n".join(head) + "\n" + patch.rstrip("\n") + "\n")
    return "".join(parts).encode("utf-8", "surrogateescape"), missing


# What GitHub is only asked, never told: no body of these is ever written anywhere.
_IDEMPOTENT_READS = frozenset({"GET", "HEAD"})


def _asked_wait(state: RetryCallState) -> float:
    """The wait GitHub asked for before the next attempt (a second when it named none)."""
    exc = state.outcome.exception() if state.outcome else None
    return (exc.retry_after if isinstance(exc, GitHubRateLimited) else None) or 1.0


class GitHubClient:
    """GitHub REST calls for one installation (or one token). The constructor does no I/O.

    Args:
        requester: PyGithub's requester, already authenticated.
        sleep: used between POST retries after a rate limit (tests pass a fast one).
        max_wait_s: longest rate-limit wait before giving up (the job is retried later).
        defer_after_s: a wait longer than this raises RetryLater instead (the App: its worker
            releases the job); None waits up to `max_wait_s` (the Action, the CLI).
        renew: makes a requester with a freshly minted token; called once after a 401.
        redactor: every body the client writes (POST, PATCH, PUT) passes it: the one outward
            choke point for what reaches GitHub, whoever built the text (a review, a council
            reply, an issue analysis, an error). Without one, credential shapes are removed.
    """

    def __init__(
        self,
        requester: Requester,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_wait_s: float = 60.0,
        defer_after_s: float | None = None,
        renew: Callable[[], Requester] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self._requester = requester
        self.redactor = redactor if redactor is not None else Redactor()
        self._sleep = sleep
        self._max_wait = max_wait_s if defer_after_s is None else min(max_wait_s, defer_after_s)
        self._defer_after = defer_after_s
        self._renew = renew
        self.rate_remaining: int | None = None
        self.tokens_renewed = 0

    @staticmethod
    def _github(
        auth: Auth.Auth, api_url: str, retries: int, defer_after_s: float | None = None
    ) -> github.Github:
        wait = 60.0 if defer_after_s is None else min(60.0, defer_after_s)
        retry = DeferringRetry(
            total=retries, backoff_factor=0.5, allowed_methods=_IDEMPOTENT, max_rate_limit_wait=wait
        )
        retry.defer_after_s = defer_after_s
        return github.Github(
            auth=auth,
            base_url=api_url.rstrip("/"),
            retry=retry,
            timeout=30,
            per_page=100,
            seconds_between_requests=None,
            seconds_between_writes=None,
            user_agent="swarm-review",
        )

    @classmethod
    def for_installation(
        cls,
        app_id: int | str,
        private_key: str,
        installation_id: int,
        api_url: str,
        *,
        retries: int = 3,
        defer_after_s: float | None = None,
        redactor: Redactor | None = None,
    ) -> GitHubClient:
        """A client acting as the App's installation: JWT (RS256, iat 60 s back, exp 5 min) → token.

        PyGithub caches the installation token and mints a new one before it expires; after
        a 401 the client starts over with a new, empty cache (`renew`).
        """
        app = Auth.AppAuth(app_id, private_key, jwt_expiry=300, jwt_issued_at=-60)

        def fresh() -> Requester:
            gh = cls._github(app.get_installation_auth(installation_id), api_url, retries, defer_after_s)
            # A requester pinned to the API version; its auth (token minting included) uses it too.
            return gh.requester.withApiVersion(API_VERSION)

        return cls(fresh(), defer_after_s=defer_after_s, renew=fresh, redactor=redactor)

    @classmethod
    def for_app(cls, app_id: int | str, private_key: str, api_url: str, *, retries: int = 3) -> GitHubClient:
        """A client acting as the App itself (its JWT): for `GET /app`, never for a repository."""
        app = Auth.AppAuth(app_id, private_key, jwt_expiry=300, jwt_issued_at=-60)
        return cls(cls._github(app, api_url, retries).requester.withApiVersion(API_VERSION))

    def app_slug(self) -> str:
        """The App's slug (its bot writes as `<slug>[bot]`); needs a client made by `for_app`."""
        _, data = self.request("GET", "/app", what="reading the App")
        return str((data or {}).get("slug") or "")

    @classmethod
    def for_token(
        cls, token: str, api_url: str, *, retries: int = 3, redactor: Redactor | None = None
    ) -> GitHubClient:
        """A client with a plain token (GITHUB_TOKEN in Actions and the CLI)."""
        requester = cls._github(Auth.Token(token), api_url, retries).requester.withApiVersion(API_VERSION)
        return cls(requester, redactor=redactor)

    # the one request path ----------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        accept: str = "application/vnd.github+json",
        what: str = "",
    ) -> tuple[dict[str, Any], Any]:
        """One REST call → (headers, decoded body).

        Raises:
            GitHubError: GitHub refused the call (a subclass by status).
            RetryLater: GitHub asked to wait longer than `defer_after_s`.
        """
        headers = {"Accept": accept, "X-GitHub-Api-Version": API_VERSION}
        label = what or f"{method} {path}"
        if body is not None and method not in _IDEMPOTENT_READS:
            body = self.redactor.data(body)
        try:
            try:
                return self._attempt(method, path, params, body, headers, label)
            except GitHubAuthError:
                if self._renew is None:
                    raise
                # The cached token was revoked (or expired early): mint a new one, once.
                self._requester = self._renew()
                self.tokens_renewed += 1
                return self._attempt(method, path, params, body, headers, label)
        except GitHubRateLimited as exc:
            later = self._deferred(exc)
            if later is not None:
                raise later from exc
            raise

    def _deferred(self, exc: GitHubRateLimited) -> RetryLater | None:
        """A RetryLater when the wait GitHub asked for is longer than `defer_after_s`."""
        wait = exc.retry_after
        if self._defer_after is not None and wait is not None and wait > self._defer_after:
            return RetryLater(f"{exc}; GitHub asked to wait {wait:.0f} s", after_s=wait)
        return None

    def _attempt(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: Any,
        headers: dict[str, str],
        label: str,
    ) -> tuple[dict[str, Any], Any]:
        if method in _IDEMPOTENT:  # PyGithub's own retry already covers these
            return self._send(method, path, params, body, headers, label)
        retrying = Retrying(
            retry=retry_if_exception(self._worth_waiting),
            stop=stop_after_attempt(_POST_ATTEMPTS),
            wait=_asked_wait,
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(self._send, method, path, params, body, headers, label)

    def _worth_waiting(self, exc: BaseException) -> bool:
        # Only a rate limit is safe to retry for a POST (GitHub refused before acting), and
        # only when the wait fits: past it the job fails and the queue retries it later.
        return isinstance(exc, GitHubRateLimited) and (exc.retry_after or 0) <= self._max_wait

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: Any,
        headers: dict[str, str],
        label: str,
    ) -> tuple[dict[str, Any], Any]:
        try:
            out_headers, data = self._requester.requestJsonAndCheck(
                method, path, parameters=params, headers=headers, input=body
            )
        except GithubException as exc:
            raise error_for(exc, label) from exc
        except OSError as exc:  # requests' connection and retry errors derive from OSError
            m = _RETRIES.search(str(exc))
            if m:
                raise GitHubUnavailable(
                    f"GitHub answered {m.group(1)} to {label} on every retry", status=int(m.group(1))
                ) from exc
            raise GitHubUnavailable(f"cannot reach GitHub for {label}: {exc}") from exc
        remaining = {k.lower(): v for k, v in out_headers.items()}.get("x-ratelimit-remaining")
        if remaining is not None and remaining.isdigit():
            self.rate_remaining = int(remaining)
        return out_headers, data

    def paginate(
        self, path: str, *, key: str | None = None, limit: int = 10_000, what: str = ""
    ) -> Iterator[Any]:
        """Every item of a list endpoint, following `link: rel="next"` verbatim (RULES 32)."""
        url: str | None = path
        params: dict[str, Any] | None = {"per_page": 100}
        seen = 0
        while url:
            headers, data = self.request("GET", url, params=params, what=what or f"GET {path}")
            items = data.get(key, []) if key and isinstance(data, dict) else data
            for item in items or []:
                yield item
                seen += 1
                if seen >= limit:
                    return
            url = parse_link({k.lower(): v for k, v in headers.items()}.get("link")).get("next")
            params = None  # the next link carries its own query

    # reading ----------------------------------------------------------------------
    def pull_request(self, repo: str, number: int) -> PullRequest:
        """A pull request's metadata and its repository's default branch."""
        _, pr = self.request("GET", f"/repos/{repo}/pulls/{number}", what=f"reading {repo}#{number}")
        head, base = pr.get("head") or {}, pr.get("base") or {}
        user = pr.get("user") or {}
        base_repo = base.get("repo") or {}
        return PullRequest(
            repo=repo,
            number=number,
            title=str(pr.get("title") or ""),
            body=str(pr.get("body") or ""),
            head_sha=str(head.get("sha", "")),
            base_sha=str(base.get("sha", "")),
            draft=bool(pr.get("draft")),
            author=str(user.get("login", "")),
            author_type=str(user.get("type", "")),
            state=str(pr.get("state", "")),
            default_branch=str(base_repo.get("default_branch") or base.get("ref") or "main"),
        )

    def pull_diff(self, repo: str, number: int) -> bytes:
        """The pull request's unified diff (`application/vnd.github.diff`)."""
        _, data = self.request(
            "GET",
            f"/repos/{repo}/pulls/{number}",
            accept="application/vnd.github.diff",
            what=f"the diff of {repo}#{number}",
        )
        text = data.get("data", "") if isinstance(data, dict) else (data or "")
        return str(text).encode("utf-8", "surrogateescape")

    def merge_base(self, repo: str, base: str, head: str) -> str:
        """The merge base of two commits: the base side of a pull request's three-dot diff."""
        _, data = self.request(
            "GET", f"/repos/{repo}/compare/{base}...{head}", params={"per_page": 1}, what="comparing commits"
        )
        return str(((data or {}).get("merge_base_commit") or {}).get("sha") or base)

    def pull_diff_from_files(self, repo: str, number: int) -> tuple[bytes, list[str]]:
        """The diff rebuilt from the files list, for pull requests too large for the diff media type.

        GitHub answers 406 to `application/vnd.github.diff` past its size limits; the files
        list (up to 3,000 files) still carries each file's patch, except for binary and very
        large files, which are returned as the second value so the review can list them.
        """
        return diff_from_files(self.changed_files(repo, number))

    def commit_sha(self, repo: str, ref: str) -> str:
        """The commit a branch or tag points at."""
        _, data = self.request("GET", f"/repos/{repo}/commits/{ref}", what=f"resolving {ref}")
        return str((data or {}).get("sha") or "")

    def download_tarball(self, repo: str, ref: str, dest: str) -> None:
        """Save the repository's tarball at `ref` to a file (GitHub redirects to its archive host)."""
        try:
            self._requester.getFile(f"/repos/{repo}/tarball/{ref}", dest)
        except GithubException as exc:
            raise error_for(exc, f"downloading {repo}@{ref}") from exc
        except OSError as exc:
            raise GitHubUnavailable(f"cannot download {repo}@{ref}: {exc}") from exc

    def changed_files(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The pull request's files (paginated, at most 3,000 as GitHub lists)."""
        return list(self.paginate(f"/repos/{repo}/pulls/{number}/files", limit=MAX_FILES))

    def file(self, repo: str, path: str, ref: str) -> bytes | None:
        """A file's bytes at a ref, or None when it does not exist there or is over 1 MB."""
        try:
            _, data = self.request(
                "GET", f"/repos/{repo}/contents/{path}", params={"ref": ref}, what=f"{path} at {ref[:12]}"
            )
        except GitHubNotFound:
            return None
        if not isinstance(data, dict) or data.get("type") != "file" or data.get("encoding") != "base64":
            return None
        return base64.b64decode(data.get("content") or "")

    def permission(self, repo: str, user: str) -> str:
        """A user's permission on the repository: admin, maintain, write, triage, read or none."""
        try:
            _, data = self.request(
                "GET", f"/repos/{repo}/collaborators/{user}/permission", what=f"{user}'s permission"
            )
        except GitHubNotFound:
            return "none"
        role = str(data.get("role_name") or "") if isinstance(data, dict) else ""
        perm = str(data.get("permission") or "none") if isinstance(data, dict) else "none"
        return role if role in ("maintain", "triage") else perm

    def graphql(self, query: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        """A GraphQL call through the one request path; its `data`, or the first error raised typed.

        GitHub answers GraphQL errors with 200 and an `errors` list: FORBIDDEN and NOT_FOUND
        become the same errors their REST statuses would, RATE_LIMITED a rate limit (RetryLater
        past `defer_after_s`, as for REST), anything else a validation error.
        """
        headers, answer = self.request(
            "POST", "/graphql", body={"query": query, "variables": variables}, what=what
        )
        errors = (answer or {}).get("errors") if isinstance(answer, dict) else None
        if errors:
            exc = graphql_error(errors[0], what, headers)
            raise (self._deferred(exc) if isinstance(exc, GitHubRateLimited) else None) or exc
        return dict((answer or {}).get("data") or {}) if isinstance(answer, dict) else {}

    # writing ----------------------------------------------------------------------
    def post(self, path: str, body: dict[str, Any], what: str) -> Any:
        """POST JSON; the decoded answer."""
        return self.request("POST", path, body=body, what=what)[1]

    def patch(self, path: str, body: dict[str, Any], what: str) -> Any:
        """PATCH JSON; the decoded answer."""
        return self.request("PATCH", path, body=body, what=what)[1]
