"""A fake GitHub REST server on loopback that enforces GitHub's rules (shared/github/RULES.md).

- Every request must match an operation of GitHub's OpenAPI description, and every body
  must validate against it (a mismatch is a 422 and recorded in `violations`).
- App auth: the JWT must be RS256, signed by the App's key, `iat` in the past and
  `exp - iat` at most 11 minutes; installation tokens expire after an hour.
- Review comments must sit on lines of the diff (multi-line ranges within one hunk),
  bodies at most 65,536 characters: otherwise 422 with GitHub's messages (RULES 24, 27).
- Rate-limit headers on every answer; list endpoints are paginated with `link` headers.
- History: `add_commit` makes a commit (files, message, parent); the GraphQL blame query and
  `GET /repos/{owner}/{repo}/commits/{ref}` answer from it, blame computed line by line
  along the parents, the commit's answer validated against GitHub's schema.
- Faults on demand: `fail(method, path_regex, status, headers, times)`; with `after=True`
  the request is carried out first and the fault answered instead (a 502 after GitHub
  created the review).
- Every comment and review is authored: by the App's bot (`bot_login`) for an installation
  token, by `github-actions[bot]` for a static token (or whom `token_users` names), or by
  whoever a test says wrote it (`add_review_comment`, `add_issue_comment`).

`ROUTES` lists every operation the fake answers; tests/fixtures/make_openapi_subset.py keeps
exactly those operations of GitHub's description, and tests/test_fixtures.py checks they agree.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt

from tests.fakes.openapi import find_operation, validate_body, validate_response

__all__ = ["ROUTES", "FakeGitHub", "Pull", "Request", "unified_diff"]

MAX_BODY = 65536
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.M)

Handler = Callable[..., int]

# (METHOD, OpenAPI path template) -> the method that answers it, filled by @_route. A table, not
# names derived from templates, so the OpenAPI subset and its test can read what the fake serves.
ROUTES: dict[tuple[str, str], Handler] = {}


def _route(method: str, template: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES[(method, template)] = handler
        return handler

    return register


@dataclass
class Pull:
    """A pull request the fake knows: its metadata, diff and the files at base and head."""

    number: int
    title: str
    body: str
    diff: str
    base_files: dict[str, str]
    head_files: dict[str, str]
    head_sha: str = field(default_factory=lambda: uuid.uuid4().hex + "a" * 8)
    base_sha: str = field(default_factory=lambda: uuid.uuid4().hex + "b" * 8)
    author: str = "octocat"
    author_type: str = "User"
    draft: bool = False
    diff_too_large: bool = False


@dataclass(frozen=True)
class Request:
    """A request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int


def _ranges(diff: str) -> dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]]:
    """Per file: (RIGHT hunk ranges, LEFT hunk ranges), computed independently of swarm's diff model."""
    out: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
    for section in re.split(r"^diff --git ", diff, flags=re.M)[1:]:
        m = re.search(r"^\+\+\+ b/(.+)$", section, re.M) or re.search(r"^--- a/(.+)$", section, re.M)
        if not m:
            continue
        right, left = [], []
        for h in _HUNK.finditer(section):
            ls, ll, rs, rl = int(h[1]), int(h[2] or 1), int(h[3]), int(h[4] or 1)
            right.append((rs, rs + rl - 1))
            left.append((ls, ls + ll - 1))
        out[m.group(1)] = (right, left)
    return out


class FakeGitHub:
    """`with FakeGitHub(private_key_pem=...) as gh:`; `gh.url` is the API base URL."""

    def __init__(self, *, app_id: int = 4242, public_key: str | None = None, per_page_cap: int = 100) -> None:
        self.app_id = app_id
        self.public_key = public_key
        self.per_page_cap = per_page_cap
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self.tokens: dict[str, float] = {}
        self.static_tokens: set[str] = set()
        self.token_users: dict[str, str] = {}  # a static token's user (default github-actions[bot])
        self.app_slug = "swarm-review"
        self.read_only_tokens: set[str] = set()  # a fork's GITHUB_TOKEN: reads only
        self.repos: dict[str, dict[str, Any]] = {}
        self.pulls: dict[tuple[str, int], Pull] = {}
        self.check_runs: list[dict[str, Any]] = []
        self.reviews: list[dict[str, Any]] = []
        self.review_comments: list[dict[str, Any]] = []
        self.issue_comments: list[dict[str, Any]] = []
        self.reactions: list[dict[str, Any]] = []
        self.comment_reactions: list[dict[str, Any]] = []  # on review comments, by people
        self.permissions: dict[str, str] = {}
        self.issues: dict[tuple[str, int], dict[str, Any]] = {}
        self.parents: dict[str, str] = {}  # commit -> its parent: compare tells ahead from diverged
        self.messages: dict[str, str] = {}  # commit -> its message (add_commit)
        self.threads: dict[str, dict[str, Any]] = {}  # review thread node id -> isResolved, resolvedBy
        self.rate_remaining = 4999
        self._faults: list[list[Any]] = []
        self._ids = iter(range(1000, 10**9))
        self._server: ThreadingHTTPServer | None = None

    # state --------------------------------------------------------------------------
    def add_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        files: dict[str, str] | None = None,
        private: bool = False,
    ) -> None:
        """A repository with files on its default branch (the repo config lives there)."""
        self.repos[full_name] = {
            "default_branch": default_branch,
            "files": {default_branch: dict(files or {})},
            "private": private,
        }

    def add_commit(self, repo: str, files: dict[str, str], message: str, parent: str | None = None) -> str:
        """A commit of the whole tree `files` with its message, a child of `parent`; returns its SHA."""
        sha = uuid.uuid4().hex + "c" * 8
        self.repos[repo]["files"][sha] = dict(files)
        self.messages[sha] = message
        if parent is not None:
            self.parents[sha] = parent
        return sha

    def add_pull(self, repo: str, pull: Pull) -> Pull:
        """A pull request; its base and head files become readable at their SHAs."""
        self.pulls[(repo, pull.number)] = pull
        files = self.repos[repo]["files"]
        files[pull.base_sha] = pull.base_files
        files[pull.head_sha] = pull.head_files
        self.parents.setdefault(pull.head_sha, pull.base_sha)
        return pull

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
        body: Any = None,
        after: bool = False,
    ) -> None:
        """The next `times` requests matching method and path (a regex) get this answer.

        With `after`, each request is carried out first (a review is created, say) and the
        fault answered instead of GitHub's usual answer.
        """
        with self.lock:
            self._faults.append([method, re.compile(path), status, headers or {}, times, body, after])

    @property
    def bot_login(self) -> str:
        """The login the App's installation tokens write as."""
        return f"{self.app_slug}[bot]"

    def add_review_comment(
        self,
        repo: str,
        number: int,
        body: str,
        login: str,
        path: str = "svc.py",
        *,
        line: int = 1,
        in_reply_to_id: int | None = None,
        user_type: str = "User",
    ) -> dict[str, Any]:
        """A review comment someone else wrote (a PR author, say); a reply when `in_reply_to_id` is set."""
        comment = {
            "id": next(self._ids),
            "repo": repo,
            "pull": number,
            "path": path,
            "line": line,
            "side": "RIGHT",
            "body": body,
            "user": {"login": login, "type": user_type},
        }
        if in_reply_to_id is not None:
            comment["in_reply_to_id"] = in_reply_to_id
        with self.lock:
            self.review_comments.append(comment)
        return comment

    def add_issue_comment(self, repo: str, number: int, body: str, login: str) -> None:
        """A comment on an issue or pull request someone else wrote."""
        with self.lock:
            self.issue_comments.append(
                {
                    "id": next(self._ids),
                    "repo": repo,
                    "issue": number,
                    "body": body,
                    "user": {"login": login, "type": "User"},
                }
            )

    def _author(self, h: BaseHTTPRequestHandler) -> dict[str, str]:
        token = (h.headers.get("authorization") or "").partition(" ")[2]
        if token in self.static_tokens:
            return {"login": self.token_users.get(token, "github-actions[bot]"), "type": "Bot"}
        return {"login": self.bot_login, "type": "Bot"}

    def posted(self, method: str, pattern: str) -> list[Request]:
        """Successful requests matching method and a path regex."""
        return [
            r for r in self.requests if r.method == method and re.search(pattern, r.path) and r.status < 300
        ]

    # server ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PATCH(self) -> None:
                fake._handle(self, "PATCH")

            def do_PUT(self) -> None:
                fake._handle(self, "PUT")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # plumbing -----------------------------------------------------------------------------
    def _send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        raw: str | None = None,
    ) -> int:
        data = raw.encode() if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        h.send_response(status)
        h.send_header(
            "content-type",
            "text/plain; charset=utf-8" if raw is not None else "application/json; charset=utf-8",
        )
        h.send_header("content-length", str(len(data)))
        with self.lock:
            remaining = self.rate_remaining = max(0, self.rate_remaining - 1)
        h.send_header("x-ratelimit-limit", "5000")
        h.send_header("x-ratelimit-remaining", str(remaining))
        h.send_header("x-ratelimit-used", str(5000 - remaining))
        h.send_header("x-ratelimit-reset", str(int(time.time()) + 3600))
        h.send_header("x-ratelimit-resource", "core")
        h.send_header("x-github-api-version-selected", "2022-11-28")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
        return status

    def _error(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        message: str,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> int:
        body: dict[str, Any] = {
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": str(status),
        }
        if errors is not None:
            body["errors"] = errors
        return self._send(h, status, body, headers)

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(h.path)
        path, query = split.path, parse_qs(split.query)
        length = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(length) if length else b""
        body: Any = None
        status = 500
        try:
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    status = self._error(h, 400, "Problems parsing JSON")
                    return
            status = self._dispatch(h, method, path, query, body)
        finally:
            with self.lock:
                self.requests.append(Request(method, path, query, dict(h.headers), body, status))

    def _fault(self, method: str, path: str) -> tuple[int, dict[str, str], Any, bool] | None:
        with self.lock:
            for fault in self._faults:
                if fault[0] == method and fault[1].search(path) and fault[4] > 0:
                    fault[4] -= 1
                    return fault[2], fault[3], fault[5], fault[6]
        return None

    def _auth(self, h: BaseHTTPRequestHandler, path: str) -> str | None:
        """None when authorised, else the 401 message."""
        header = h.headers.get("authorization") or ""
        scheme, _, cred = header.partition(" ")
        if path.startswith("/app"):
            if scheme.lower() != "bearer":
                return "A JSON web token could not be decoded"
            try:
                claims = jwt.decode(
                    cred, self.public_key, algorithms=["RS256"], options={"verify_iat": False}
                )
            except jwt.PyJWTError as exc:
                return f"A JSON web token could not be decoded ({exc})"
            now = time.time()
            if claims.get("iat", now + 1) > now or claims.get("exp", 0) - claims["iat"] > 660:
                return "'Expiration time' claim ('exp') is too far in the future"
            if str(claims.get("iss")) != str(self.app_id):
                return "Integration not found"
            return None
        with self.lock:
            expires = self.tokens.get(cred)
        if cred in self.static_tokens or (expires is not None and expires > time.time()):
            return None
        return "Bad credentials"

    def _dispatch(
        self, h: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> int:
        if method == "POST" and path == "/graphql":  # not REST: no OpenAPI operation describes it
            denied = self._auth(h, path)
            if denied:
                return self._error(h, 401, denied)
            fault = self._fault(method, path)
            if fault is None:
                return self._graphql(h, body)
            if fault[2] is not None:  # an answer given whole: GraphQL's errors come with a 200
                return self._send(h, fault[0], fault[2], fault[1])
            return self._error(h, fault[0], "injected", headers=fault[1])
        template = find_operation(method, path)
        if template is None:
            return self._error(h, 404, "Not Found")
        problems = validate_body(method, template, body)
        if problems:
            self.violations.append(f"{method} {template}: {problems}")
            return self._error(h, 422, "Invalid request.", [{"message": p} for p in problems])
        denied = self._auth(h, path)
        if denied:
            return self._error(h, 401, denied)
        token = (h.headers.get("authorization") or "").partition(" ")[2]
        if method != "GET" and token in self.read_only_tokens:
            return self._error(h, 403, "Resource not accessible by integration")
        parts = path.strip("/").split("/")
        handler = ROUTES.get((method, template))
        fault = self._fault(method, path)
        if fault is not None:
            st, headers, fbody, after = fault
            if after and handler is not None:
                handler(self, _Unanswered(h), parts, query, body)  # done, but the answer is lost
            if fbody is not None:
                return self._send(h, st, fbody, headers)
            message = (
                "You have exceeded a secondary rate limit." if st in (403, 429) and headers else "injected"
            )
            return self._error(h, st, message, headers=headers)
        if handler is None:
            return self._error(h, 404, f"the fake does not implement {method} {template}")
        return int(handler(self, h, parts, query, body))

    # endpoints ----------------------------------------------------------------------------
    @_route("GET", "/app")
    def _app_get(self, h: Any, parts: list[str], q: Any, body: Any) -> int:
        return self._send(
            h,
            200,
            {"id": self.app_id, "slug": self.app_slug, "name": self.app_slug, "owner": {"login": "octo-org"}},
        )

    @_route("POST", "/app/installations/{installation_id}/access_tokens")
    def _app_installations_installation_id_access_tokens_post(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        token = "ghs_" + uuid.uuid4().hex
        expires = time.time() + 3600
        with self.lock:
            self.tokens[token] = expires
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
        return self._send(
            h,
            201,
            {
                "token": token,
                "expires_at": at,
                "permissions": {"pull_requests": "write", "checks": "write"},
                "repository_selection": "all",
            },
        )

    def _repo(self, parts: list[str]) -> str:
        return f"{parts[1]}/{parts[2]}"

    def _pull(self, h: Any, parts: list[str]) -> Pull | None:
        return self.pulls.get((self._repo(parts), int(parts[4])))

    @_route("GET", "/repos/{owner}/{repo}")
    def _repos_owner_repo_get(self, h: Any, parts: list[str], q: Any, body: Any) -> int:
        repo = self.repos.get(self._repo(parts))
        if repo is None:
            return self._error(h, 404, "Not Found")
        return self._send(
            h,
            200,
            {
                "full_name": self._repo(parts),
                "default_branch": repo["default_branch"],
                "private": bool(repo.get("private")),
            },
        )

    @_route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")
    def _repos_owner_repo_pulls_pull_number_get(self, h: Any, parts: list[str], q: Any, body: Any) -> int:
        pull = self._pull(h, parts)
        if pull is None:
            return self._error(h, 404, "Not Found")
        if "diff" in (h.headers.get("accept") or ""):
            if pull.diff_too_large:
                return self._error(h, 406, "Sorry, the diff exceeded the maximum number of lines (20000)")
            return self._send(h, 200, None, raw=pull.diff)
        repo = self._repo(parts)
        return self._send(
            h,
            200,
            {
                "number": pull.number,
                "title": pull.title,
                "body": pull.body,
                "state": "open",
                "draft": pull.draft,
                "user": {"login": pull.author, "type": pull.author_type},
                "head": {"sha": pull.head_sha, "ref": "feature", "repo": {"full_name": repo}},
                "base": {
                    "sha": pull.base_sha,
                    "ref": "main",
                    "repo": {"full_name": repo, "default_branch": self.repos[repo]["default_branch"]},
                },
            },
        )

    def _page(self, h: Any, path: str, q: dict[str, list[str]], items: list[Any]) -> int:
        per_page = min(int((q.get("per_page") or ["30"])[0]), self.per_page_cap)
        page = int((q.get("page") or ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []
        last = max(1, -(-len(items) // per_page))
        if page < last:
            links.append(
                f'<{self.url}{path}?{urlencode({"per_page": per_page, "page": page + 1})}>; rel="next"'
            )
            links.append(f'<{self.url}{path}?{urlencode({"per_page": per_page, "page": last})}>; rel="last"')
        return self._send(h, 200, chunk, {"link": ", ".join(links)} if links else None)

    @_route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files")
    def _repos_owner_repo_pulls_pull_number_files_get(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        pull = self._pull(h, parts)
        if pull is None:
            return self._error(h, 404, "Not Found")
        return self._page(h, "/" + "/".join(parts), q, _files_of(pull.diff))

    @_route("GET", "/repos/{owner}/{repo}/contents/{path}")
    def _repos_owner_repo_contents_path_get(self, h: Any, parts: list[str], q: Any, body: Any) -> int:
        repo = self.repos.get(self._repo(parts))
        ref = (q.get("ref") or [None])[0]
        if repo is None:
            return self._error(h, 404, "Not Found")
        files = repo["files"].get(ref or repo["default_branch"], {})
        path = "/".join(parts[4:])
        if path not in files:
            return self._error(h, 404, "Not Found")
        content = base64.b64encode(files[path].encode()).decode()
        return self._send(h, 200, {"type": "file", "encoding": "base64", "path": path, "content": content})

    @_route("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
    def _repos_owner_repo_collaborators_username_permission_get(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        perm = self.permissions.get(parts[4], "read")
        return self._send(h, 200, {"permission": perm, "role_name": perm, "user": {"login": parts[4]}})

    @_route("POST", "/repos/{owner}/{repo}/check-runs")
    def _repos_owner_repo_check_runs_post(self, h: Any, parts: list[str], q: Any, body: Any) -> int:
        run = {
            "id": next(self._ids),
            "repo": self._repo(parts),
            **body,
            "annotations": list((body.get("output") or {}).get("annotations") or []),
        }
        with self.lock:
            self.check_runs.append(run)
        return self._send(h, 201, {k: v for k, v in run.items() if k != "repo"})

    @_route("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
    def _repos_owner_repo_check_runs_check_run_id_patch(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        run_id = int(parts[4])
        with self.lock:
            run = next((r for r in self.check_runs if r["id"] == run_id), None)
            if run is None:
                return self._error(h, 404, "Not Found")
            annotations = (body.get("output") or {}).get("annotations") or []
            run.update({k: v for k, v in body.items() if k != "output"})
            if "output" in body:
                run["output"] = {k: v for k, v in body["output"].items() if k != "annotations"}
            run["annotations"] = run["annotations"] + list(annotations)  # appended (RULES 18)
        return self._send(h, 200, {"id": run_id, "status": run.get("status")})

    @_route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs")
    def _repos_owner_repo_commits_ref_check_runs_get(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        sha, name = parts[4], (q.get("check_name") or [None])[0]
        runs = [r for r in self.check_runs if r["head_sha"] == sha and (name is None or r["name"] == name)]
        return self._send(
            h,
            200,
            {
                "total_count": len(runs),
                "check_runs": [
                    {
                        "id": r["id"],
                        "name": r["name"],
                        "status": r.get("status", "queued"),
                        "head_sha": sha,
                        "output": {"annotations_count": len(r["annotations"])},
                    }
                    for r in runs
                ],
            },
        )

    @_route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
    def _repos_owner_repo_pulls_pull_number_reviews_post(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        pull = self._pull(h, parts)
        if pull is None:
            return self._error(h, 404, "Not Found")
        if len(body.get("body") or "") > MAX_BODY:
            return self._error(
                h,
                422,
                "Validation Failed",
                [
                    {
                        "resource": "PullRequestReview",
                        "code": "custom",
                        "field": "body",
                        "message": "Body is too long (maximum is 65536 characters)",
                    }
                ],
            )
        if body.get("event") in ("REQUEST_CHANGES", "COMMENT") and not body.get("body"):
            return self._error(h, 422, "Unprocessable Entity", ["Body is required"])
        ranges = _ranges(pull.diff)
        for c in body.get("comments") or []:
            problem = self._comment_problem(ranges, c)
            if problem:
                return self._error(h, 422, "Unprocessable Entity", [problem])  # all or nothing (RULES 24)
        review_id = next(self._ids)
        user = self._author(h)
        with self.lock:
            self.reviews.append({"id": review_id, "pull": pull.number, "user": user, **body})
            for c in body.get("comments") or []:
                self.review_comments.append(
                    {
                        "id": next(self._ids),
                        "pull": pull.number,
                        "pull_request_review_id": review_id,
                        "user": user,
                        "commit_id": body.get("commit_id") or pull.head_sha,
                        **c,
                    }
                )
        return self._send(h, 200, {"id": review_id, "state": "COMMENTED", "body": body.get("body", "")})

    @_route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
    def _repos_owner_repo_pulls_pull_number_reviews_get(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        number = int(parts[4])
        items = [
            {
                "id": r["id"],
                "body": r.get("body") or "",
                "user": r["user"],
                "state": "COMMENTED",
                "commit_id": r.get("commit_id"),
            }
            for r in self.reviews
            if r["pull"] == number
        ]
        return self._page(h, "/" + "/".join(parts), q, items)

    @staticmethod
    def _comment_problem(ranges: dict[str, Any], c: dict[str, Any]) -> str | None:
        if c["path"] not in ranges:
            return "Pull request review thread path is invalid"
        if len(c.get("body") or "") > MAX_BODY:
            return "Body is too long (maximum is 65536 characters)"
        if "line" not in c:
            return None if "position" in c else "Pull request review thread line must be part of the diff"
        right, left = ranges[c["path"]]
        spans = left if c.get("side") == "LEFT" else right
        line = c["line"]
        hunk = next((i for i, (a, b) in enumerate(spans) if a <= line <= b), None)
        if hunk is None:
            return "Pull request review thread line must be part of the diff"
        if "start_line" in c:
            a, _b = spans[hunk]
            if not a <= c["start_line"] <= line:
                return "Pull request review thread start line must be part of the same hunk as the line."
        return None

    @_route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/comments")
    def _repos_owner_repo_pulls_pull_number_comments_get(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        number = int(parts[4])
        keys = ("id", "body", "path", "side", "user", "in_reply_to_id")
        items = [
            {**{k: c[k] for k in keys if k in c}, "line": c.get("line")}  # GitHub: null when outdated
            for c in self.review_comments
            if c["pull"] == number
        ]
        return self._page(h, "/" + "/".join(parts), q, items)

    @_route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies")
    def _repos_owner_repo_pulls_pull_number_comments_comment_id_replies_post(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        number, target = int(parts[4]), int(parts[6])
        with self.lock:
            root = next((c for c in self.review_comments if c["id"] == target and c["pull"] == number), None)
        if root is None:
            return self._error(h, 404, "Not Found")
        if "in_reply_to_id" in root:  # GitHub: replies to replies are not supported
            return self._error(h, 422, "Validation Failed", ["in_reply_to_id must be a top-level comment"])
        if len(body["body"]) > MAX_BODY:
            return self._error(
                h, 422, "Validation Failed", ["Body is too long (maximum is 65536 characters)"]
            )
        with self.lock:
            comment = {**self._reply_to(root, body["body"]), "user": self._author(h)}
            self.review_comments.append(comment)
        return self._send(h, 201, {k: v for k, v in comment.items() if k not in ("repo", "pull")})

    @_route("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}")
    def _repos_owner_repo_pulls_pull_number_patch(self, h: Any, parts: list[str], q: Any, body: Any) -> int:
        pull = self._pull(h, parts)
        if pull is None:
            return self._error(h, 404, "Not Found")
        if "body" in body:
            pull.body = body["body"] or ""
        return self._send(h, 200, {"number": pull.number, "title": pull.title, "body": pull.body})

    @_route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
    def _repos_owner_repo_issues_issue_number_comments_get(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        number = int(parts[4])
        items = [
            dict(c) for c in self.issue_comments if c["issue"] == number and c["repo"] == self._repo(parts)
        ]
        return self._page(h, "/" + "/".join(parts), q, items)

    @_route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
    def _repos_owner_repo_issues_issue_number_comments_post(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        if len(body["body"]) > MAX_BODY:
            return self._error(
                h,
                422,
                "Validation Failed",
                [
                    {
                        "resource": "IssueComment",
                        "code": "unprocessable",
                        "field": "data",
                        "message": "Body is too long (maximum is 65536 characters)",
                    }
                ],
            )
        comment = {
            "id": next(self._ids),
            "repo": self._repo(parts),
            "issue": int(parts[4]),
            "body": body["body"],
            "user": self._author(h),
        }
        with self.lock:
            self.issue_comments.append(comment)
        return self._send(h, 201, comment)

    @_route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
    def _repos_owner_repo_issues_comments_comment_id_patch(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        if len(body["body"]) > MAX_BODY:
            return self._error(
                h,
                422,
                "Validation Failed",
                [
                    {
                        "resource": "IssueComment",
                        "code": "unprocessable",
                        "field": "data",
                        "message": "Body is too long (maximum is 65536 characters)",
                    }
                ],
            )
        cid = int(parts[5])
        with self.lock:
            comment = next((c for c in self.issue_comments if c["id"] == cid), None)
            if comment is None:
                return self._error(h, 404, "Not Found")
            comment["body"] = body["body"]
        return self._send(h, 200, comment)

    @_route("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions")
    def _repos_owner_repo_issues_comments_comment_id_reactions_post(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        with self.lock:
            self.reactions.append({"comment_id": int(parts[5]), "content": body["content"]})
        return self._send(h, 201, {"id": next(self._ids), "content": body["content"]})

    @_route("GET", "/repos/{owner}/{repo}/compare/{basehead}")
    def _repos_owner_repo_compare_basehead_get(self, h: Any, parts: list[str], q: Any, body: Any) -> int:
        base, _, head = parts[4].partition("...")
        files = (self.repos.get(self._repo(parts)) or {}).get("files", {})
        if base not in files or head not in files:
            return self._error(h, 404, "Not Found")
        ahead, behind = self._lineage(head), self._lineage(base)
        merge_base = next((c for c in ahead if c in behind), None)
        if merge_base is None:
            return self._error(h, 404, f"No common ancestor between {base} and {head}.")
        ahead_by, behind_by = ahead.index(merge_base), behind.index(merge_base)
        status = (
            "identical"
            if ahead_by == behind_by == 0
            else "ahead"
            if behind_by == 0
            else "behind"
            if ahead_by == 0
            else "diverged"
        )
        return self._send(
            h,
            200,
            {
                "status": status,
                "ahead_by": ahead_by,
                "behind_by": behind_by,
                "merge_base_commit": {"sha": merge_base},
                "files": _files_of(unified_diff(files[merge_base], files[head])),
            },
        )

    def _parent(self, sha: str) -> str | None:
        # A head a test set on a Pull by hand is taken as a child of the pull request's base.
        return self.parents.get(sha) or next(
            (p.base_sha for p in self.pulls.values() if p.head_sha == sha and p.base_sha != sha), None
        )

    def _lineage(self, sha: str) -> list[str]:
        """A commit and its ancestors, nearest first."""
        out = [sha]
        while len(out) < 10_000:
            parent = self._parent(out[-1])
            if parent is None or parent in out:
                return out
            out.append(parent)
        return out

    @_route("GET", "/repos/{owner}/{repo}/commits/{ref}")
    def _repos_owner_repo_commits_ref_get(self, h: Any, parts: list[str], q: Any, body: Any) -> int:
        name, ref = self._repo(parts), parts[4]
        repo = self.repos.get(name)
        if repo is None:
            return self._error(h, 404, "Not Found")
        if ref not in repo["files"]:
            return self._error(h, 422, f"No commit found for SHA: {ref}")
        sha = ref
        if ref not in self.messages and ref not in self.parents:  # a branch: a commit of its own
            sha = repo.setdefault("shas", {}).setdefault(ref, uuid.uuid4().hex + "0" * 8)
            repo["files"].setdefault(sha, repo["files"][ref])
        answer = self._commit_answer(name, sha)
        problems = validate_response("GET", "/repos/{owner}/{repo}/commits/{ref}", 200, answer)
        if problems:
            self.violations.append(f"answer of GET /repos/{{owner}}/{{repo}}/commits/{{ref}}: {problems}")
            return self._error(h, 500, "the fake's answer does not match GitHub's schema")
        return self._send(h, 200, answer)

    def _commit_answer(self, repo: str, sha: str) -> dict[str, Any]:
        """GitHub's commit object: message, parents, and each changed file with its patch."""
        files = self.repos[repo]["files"]
        parent = self._parent(sha)
        api, web = f"{self.url}/repos/{repo}", f"https://github.com/{repo}"
        entries = []
        for f in _files_of(unified_diff(files.get(parent, {}) if parent else {}, files[sha])):
            patch = f.get("patch", "")
            adds = sum(1 for ln in patch.split("\n") if ln.startswith("+"))
            dels = sum(1 for ln in patch.split("\n") if ln.startswith("-"))
            path = f["filename"]
            entries.append(
                {
                    **f,
                    "sha": uuid.uuid5(uuid.NAMESPACE_URL, f"{sha}:{path}").hex + "0" * 8,
                    "additions": adds,
                    "deletions": dels,
                    "changes": adds + dels,
                    "blob_url": f"{web}/blob/{sha}/{path}",
                    "raw_url": f"{web}/raw/{sha}/{path}",
                    "contents_url": f"{api}/contents/{path}?ref={sha}",
                }
            )
        person = {"name": "Octo Cat", "email": "octocat@example.com", "date": "2026-01-01T00:00:00Z"}
        return {
            "url": f"{api}/commits/{sha}",
            "sha": sha,
            "node_id": "C_" + sha[:20],
            "html_url": f"{web}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{sha}",
                "author": person,
                "committer": person,
                "message": self.messages.get(sha, ""),
                "comment_count": 0,
                "tree": {"sha": sha[::-1], "url": f"{api}/git/trees/{sha[::-1]}"},
            },
            # No GitHub account behind the fake's author: GitHub answers an empty object then.
            "author": {},
            "committer": {},
            "parents": [
                {"sha": parent, "url": f"{api}/commits/{parent}", "html_url": f"{web}/commit/{parent}"}
            ]
            if parent
            else [],
            "stats": {
                "additions": sum(e["additions"] for e in entries),
                "deletions": sum(e["deletions"] for e in entries),
                "total": sum(e["changes"] for e in entries),
            },
            "files": entries,
        }

    def blame(self, repo: str, sha: str, path: str) -> list[str] | None:
        """The commit that last wrote each line of `path` at `sha` (git's rule: a line is passed
        to the parent while the parent has it, matched by difflib); None when the file is absent."""
        import difflib

        files = self.repos[repo]["files"]
        text = files.get(sha, {}).get(path)
        if text is None:
            return None
        current = text.splitlines()
        owner: list[str] = [""] * len(current)
        pending = {i: i for i in range(len(current))}  # line in `commit` -> line at `sha`
        commit: str | None = sha
        while pending and commit is not None:
            parent = self._parent(commit)
            older = files.get(parent, {}).get(path) if parent else None
            if older is None:
                break
            older_lines = older.splitlines()
            matcher = difflib.SequenceMatcher(None, older_lines, current, autojunk=False)
            passed = {}
            for a, b, n in matcher.get_matching_blocks():
                for k in range(n):
                    if b + k in pending:
                        passed[a + k] = pending.pop(b + k)
            for final in pending.values():
                owner[final] = commit
            pending, commit, current = passed, parent, older_lines
        for final in pending.values():
            owner[final] = commit or sha
        return owner

    @_route("GET", "/repos/{owner}/{repo}/tarball/{ref}")
    def _repos_owner_repo_tarball_ref_get(self, h: Any, parts: list[str], q: Any, body: Any) -> int:
        import io
        import tarfile

        repo = self.repos.get(self._repo(parts))
        files = (repo or {}).get("files", {}).get(parts[4])
        if files is None:
            return self._error(h, 404, "Not Found")
        buf = io.BytesIO()
        top = f"{parts[1]}-{parts[2]}-{parts[4][:7]}"
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for name, text in files.items():
                data = text.encode()
                info = tarfile.TarInfo(f"{top}/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        payload = buf.getvalue()
        h.send_response(200)
        h.send_header("content-type", "application/x-gzip")
        h.send_header("content-length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)
        return 200

    @_route("GET", "/repos/{owner}/{repo}/issues/{issue_number}")
    def _repos_owner_repo_issues_issue_number_get(self, h: Any, parts: list[str], q: Any, body: Any) -> int:
        issue = self.issues.get((self._repo(parts), int(parts[4])))
        pull = self.pulls.get((self._repo(parts), int(parts[4])))
        if issue is None and pull is not None:  # every pull request is an issue too
            issue = {"title": pull.title, "body": pull.body, "pull_request": {"url": "x"}}
        if issue is None:
            return self._error(h, 404, "Not Found")
        return self._send(h, 200, {"number": int(parts[4]), **issue})

    # reactions on review comments (learnings) -------------------------------------------
    # GitHub sends no webhook for a reaction: swarm reads them when the pull request next
    # gets an event. People react through GitHub's UI, so tests add them with add_reaction.
    REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")

    def add_reaction(self, comment_id: int, content: str, login: str, user_type: str = "User") -> int:
        """A reaction someone gave a review comment; returns the reaction's id."""
        if content not in self.REACTIONS:
            raise ValueError(f"GitHub has no reaction {content!r}")
        with self.lock:
            if not any(c["id"] == comment_id for c in self.review_comments):
                raise KeyError(f"no review comment {comment_id}")
            reaction_id = next(self._ids)
            self.comment_reactions.append(
                {
                    "id": reaction_id,
                    "comment_id": comment_id,
                    "content": content,
                    "user": {"login": login, "type": user_type},
                    "created_at": "2026-01-01T00:00:00Z",
                }
            )
        return reaction_id

    @_route("GET", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions")
    def _repos_owner_repo_pulls_comments_comment_id_reactions_get(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        cid = int(parts[5])
        if not any(c["id"] == cid for c in self.review_comments):
            return self._error(h, 404, "Not Found")
        wanted = (q.get("content") or [None])[0]
        items = [
            {k: v for k, v in r.items() if k != "comment_id"}
            for r in self.comment_reactions
            if r["comment_id"] == cid and (wanted is None or r["content"] == wanted)
        ]
        return self._page(h, "/" + "/".join(parts), q, items)

    def comments_on(self, number: int) -> Iterator[dict[str, Any]]:
        """Issue comments on a pull request or issue."""
        return (c for c in self.issue_comments if c["issue"] == number)

    # pushes ---------------------------------------------------------------------------------
    def push(
        self,
        repo: str,
        number: int,
        head_files: dict[str, str],
        *,
        force: bool = False,
        base_files: dict[str, str] | None = None,
    ) -> Pull:
        """A new head for a pull request: a child of the old head, or with `force` a rewritten
        history (a child of the base, so compare with the old head says "diverged").
        `base_files` moves the base too (the base branch gained commits)."""
        old = self.pulls[(repo, number)]
        base = dict(old.base_files if base_files is None else base_files)
        pull = Pull(
            number=number,
            title=old.title,
            body=old.body,
            diff=unified_diff(base, head_files),
            base_files=base,
            head_files=dict(head_files),
            base_sha=old.base_sha if base_files is None else uuid.uuid4().hex + "b" * 8,
            author=old.author,
            author_type=old.author_type,
        )
        if base_files is not None:
            self.parents[pull.base_sha] = old.base_sha
        self.parents[pull.head_sha] = pull.base_sha if force else old.head_sha
        return self.add_pull(repo, pull)

    # review threads (GraphQL), replies and reactions on review comments ----------------------
    # A thread is a top-level review comment and its replies; its node id is "PRRT_<comment id>".
    # GitHub's rules: only the thread's starter or a participant with write access resolves it;
    # resolving a resolved thread is a no-op; a push never reopens a thread; a thread whose line
    # changed since its comment's commit is outdated.

    def add_review_reply(self, repo: str, number: int, comment_id: int, body: str, login: str) -> int:
        """A reply someone else wrote in the thread of review comment `comment_id`."""
        root = self._thread_root(comment_id)
        assert root is not None, f"no review comment {comment_id}"
        with self.lock:
            reply = {**self._reply_to(root, body), "user": {"login": login, "type": "User"}}
            self.review_comments.append(reply)
        return int(reply["id"])

    def add_review_reaction(self, comment_id: int, content: str, login: str) -> None:
        """A reaction someone else left on a review comment (a 👎 is content "-1")."""
        self.add_reaction(comment_id, content, login)

    def resolve_thread(self, thread_id: str, login: str) -> None:
        """A person resolves a thread (in GitHub's web page)."""
        with self.lock:
            self.threads.setdefault(thread_id, {})["resolvedBy"] = {"login": login}

    def thread_of(self, comment_id: int) -> dict[str, Any]:
        """The state of the thread holding review comment `comment_id`."""
        root = self._thread_root(comment_id)
        assert root is not None
        return self._thread_node(root)

    def _thread_root(self, comment_id: int) -> dict[str, Any] | None:
        c = next((c for c in self.review_comments if c["id"] == comment_id), None)
        while c is not None and "in_reply_to_id" in c:
            c = next((r for r in self.review_comments if r["id"] == c["in_reply_to_id"]), None)
        return c

    def _reply_to(self, root: dict[str, Any], body: str) -> dict[str, Any]:
        keep = ("pull", "repo", "path", "line", "side", "commit_id", "pull_request_review_id")
        return {
            "id": next(self._ids),
            **{k: root[k] for k in keep if k in root},
            "in_reply_to_id": root["id"],
            "body": body,
        }

    def _thread_node(self, root: dict[str, Any]) -> dict[str, Any]:
        tid = f"PRRT_{root['id']}"
        state = self.threads.get(tid, {})
        comments = [root, *(c for c in self.review_comments if c.get("in_reply_to_id") == root["id"])]
        return {
            "id": tid,
            "isResolved": "resolvedBy" in state,
            "resolvedBy": state.get("resolvedBy"),
            "isOutdated": self._outdated(root),
            "path": root["path"],
            "line": root.get("line"),
            "comments": {
                "nodes": [
                    {
                        "databaseId": c["id"],
                        # GraphQL names a bot by its slug, without REST's "[bot]" suffix.
                        "author": {"login": str(c["user"]["login"]).removesuffix("[bot]")},
                        "body": c["body"],
                    }
                    for c in comments
                ]
            },
        }

    def _outdated(self, root: dict[str, Any]) -> bool:
        pull = next((p for (_r, n), p in self.pulls.items() if n == root["pull"]), None)
        commit = root.get("commit_id")
        if pull is None or commit is None or commit == pull.head_sha or root.get("line") is None:
            return False
        files = next((r["files"] for r in self.repos.values() if commit in r["files"]), {})
        then = (files.get(commit) or {}).get(root["path"], "").split("\n")
        now = pull.head_files.get(root["path"], "").split("\n")
        line = int(root["line"]) - 1
        return line >= len(now) or line >= len(then) or then[line] != now[line]

    def _graphql(self, h: Any, body: Any) -> int:
        query = str((body or {}).get("query") or "")
        variables = dict((body or {}).get("variables") or {})
        if "resolveReviewThread" in query:
            return self._resolve_mutation(h, str(variables.get("threadId") or ""))
        if "blame(" in query:
            return self._blame_query(h, variables)
        if "reviewThreads" in query:
            key = (f"{variables.get('owner')}/{variables.get('name')}", int(variables.get("number") or 0))
            if key not in self.pulls:
                message = f"Could not resolve to a PullRequest with the number of {key[1]}."
                return self._send(
                    h, 200, {"data": None, "errors": [{"type": "NOT_FOUND", "message": message}]}
                )
            roots = [c for c in self.review_comments if c["pull"] == key[1] and "in_reply_to_id" not in c]
            page = {
                "pageInfo": {"hasNextPage": False, "endCursor": None},
                "nodes": [self._thread_node(r) for r in roots],
            }
            data = {"repository": {"pullRequest": {"reviewThreads": page}}}
            return self._send(h, 200, {"data": data})
        return self._send(
            h, 200, {"errors": [{"message": "the fake answers blame, reviewThreads and resolveReviewThread"}]}
        )

    def _blame_query(self, h: Any, variables: dict[str, Any]) -> int:
        repo = f"{variables.get('owner')}/{variables.get('name')}"
        if repo not in self.repos:
            message = f"Could not resolve to a Repository with the name '{repo}'."
            return self._send(
                h, 200, {"data": {"repository": None}, "errors": [{"type": "NOT_FOUND", "message": message}]}
            )
        sha, path = str(variables.get("sha") or ""), str(variables.get("path") or "")
        if sha not in self.repos[repo]["files"]:
            return self._send(h, 200, {"data": {"repository": {"object": None}}})
        owners = self.blame(repo, sha, path)
        if owners is None:
            message = f"Could not resolve file for path '{path}'."
            return self._send(h, 200, {"data": None, "errors": [{"type": "NOT_FOUND", "message": message}]})
        ranges: list[dict[str, Any]] = []
        for line, oid in enumerate(owners, 1):
            if ranges and ranges[-1]["commit"]["oid"] == oid:
                ranges[-1]["endingLine"] = line
            else:
                ranges.append({"startingLine": line, "endingLine": line, "commit": {"oid": oid}})
        blame = {"ranges": ranges}
        return self._send(h, 200, {"data": {"repository": {"object": {"blame": blame}}}})

    def _resolve_mutation(self, h: Any, thread_id: str) -> int:
        root = self._thread_root(int(thread_id[5:])) if re.fullmatch(r"PRRT_\d+", thread_id) else None
        if root is None or "in_reply_to_id" in root:
            message = f"Could not resolve to a node with the global id of '{thread_id}'"
            return self._send(h, 200, {"data": None, "errors": [{"type": "NOT_FOUND", "message": message}]})
        login = self._author(h)["login"]
        comments = [root, *(c for c in self.review_comments if c.get("in_reply_to_id") == root["id"])]
        participant = any(c["user"]["login"] == login for c in comments)
        writer = self.permissions.get(login) in ("write", "maintain", "admin")
        if root["user"]["login"] != login and not (participant and writer):
            message = "Resource not accessible by integration"
            return self._send(h, 200, {"data": None, "errors": [{"type": "FORBIDDEN", "message": message}]})
        with self.lock:
            self.threads.setdefault(thread_id, {}).setdefault(
                "resolvedBy", {"login": login}
            )  # no-op if resolved
        thread = {"id": thread_id, "isResolved": True}
        return self._send(h, 200, {"data": {"resolveReviewThread": {"thread": thread}}})

    @_route("POST", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions")
    def _repos_owner_repo_pulls_comments_comment_id_reactions_post(
        self, h: Any, parts: list[str], q: Any, body: Any
    ) -> int:
        cid = int(parts[5])
        if not any(c["id"] == cid for c in self.review_comments):
            return self._error(h, 404, "Not Found")
        user = self._author(h)
        with self.lock:
            same = next(
                (
                    r
                    for r in self.comment_reactions
                    if r["comment_id"] == cid and r["content"] == body["content"] and r["user"] == user
                ),
                None,
            )
            if same is None:
                reaction = {
                    "id": next(self._ids),
                    "comment_id": cid,
                    "content": body["content"],
                    "user": user,
                }
                self.comment_reactions.append(reaction)
        # GitHub answers 200 with the reaction the user already left, 201 with a new one.
        status, reaction = (201, reaction) if same is None else (200, same)
        return self._send(h, status, {k: v for k, v in reaction.items() if k != "comment_id"})


def unified_diff(base: dict[str, str], head: dict[str, str]) -> str:
    """A git-style diff between two trees of files (what GitHub shows for a pull request)."""
    import difflib

    out = []
    for path in sorted(set(base) | set(head)):
        old, new = base.get(path), head.get(path)
        if old == new:
            continue
        head_lines = [] if new is None else new.splitlines(keepends=True)
        body = "".join(
            difflib.unified_diff(
                [] if old is None else old.splitlines(keepends=True),
                head_lines,
                "/dev/null" if old is None else f"a/{path}",
                "/dev/null" if new is None else f"b/{path}",
                n=3,
            )
        )
        mode = (
            "new file mode 100644\n" if old is None else "deleted file mode 100644\n" if new is None else ""
        )
        out.append(f"diff --git a/{path} b/{path}\n{mode}{body}")
    return "".join(out)


def _files_of(diff: str) -> list[dict[str, Any]]:
    """GitHub's files list (filename, status, patch) for a diff."""
    files = []
    for section in re.split(r"^diff --git ", diff, flags=re.M)[1:]:
        m = re.search(r"^\+\+\+ b/(.+)$", section, re.M) or re.search(r"^--- a/(.+)$", section, re.M)
        if not m:
            continue
        status = (
            "added"
            if "\nnew file mode" in section
            else "removed"
            if "\ndeleted file mode" in section
            else "modified"
        )
        at = section.find("\n@@")
        entry: dict[str, Any] = {"filename": m.group(1), "status": status}
        if at != -1:
            entry["patch"] = section[at + 1 :].rstrip("\n")
        files.append(entry)
    return files


class _Unanswered:
    """Stands in for the HTTP handler when a request is carried out but its answer is lost."""

    def __init__(self, h: BaseHTTPRequestHandler) -> None:
        self.headers = h.headers
        self.wfile = io.BytesIO()

    def send_response(self, *args: Any) -> None:
        pass

    def send_header(self, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        pass
