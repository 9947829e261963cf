"""A repository's history through GitHub's API: GraphQL blame, and a commit's message and patches over REST.

Blame costs one GraphQL query per file (GitHub answers the whole file's ranges; the
lines asked for are picked out here). A commit costs one REST call, `GET
/repos/{owner}/{repo}/commits/{sha}`, which carries both its message and its files'
patches; it is cached for the review. Errors are GitHub's, typed by the client, and
rate limits follow the client's rules (a long wait in the App raises RetryLater).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from swarm_core.errors import GitHubNotFound
from swarm_core.github.client import GitHubClient, diff_from_files
from swarm_core.history import Blamed, CommitSummary

__all__ = ["BLAME_QUERY", "GitHubHistory"]

BLAME_QUERY = """
query($owner: String!, $name: String!, $sha: String!, $path: String!) {
  repository(owner: $owner, name: $name) {
    object(expression: $sha) {
      ... on Commit {
        blame(path: $path) { ranges { startingLine endingLine commit { oid } } }
      }
    }
  }
}
"""


class GitHubHistory:
    """History of one repository read through the API (thread-safe cache). The constructor does no I/O.

    GraphQL blame names the commit that wrote each line but not the line's number in that
    commit, so `Blamed.orig_line` is None: the guard then finds the fix's hunk by the
    deleted lines' content instead. Each looked-up commit costs a request, hence a smaller
    `max_commits` than git's.
    """

    max_commits = 15
    # A GraphQL blame costs a query (and rate-limit points) per file: a pull request that
    # deletes lines in thousands of files must not spend the installation's budget on them.
    max_files = 40

    def __init__(self, client: GitHubClient, repo: str) -> None:
        self._client = client
        self._repo = repo
        self._lock = threading.Lock()
        self._commits: dict[str, dict[str, Any]] = {}

    def blame(self, commit: str, path: str, lines: Sequence[int]) -> dict[int, Blamed]:
        """Who last wrote each of `lines` of `path` at `commit`, from one GraphQL blame query.

        Raises:
            GitHubError: the query failed or GitHub answered an error (NOT_FOUND for an
                unknown commit or path).
        """
        owner, _, name = self._repo.partition("/")
        data = self._client.graphql(
            BLAME_QUERY,
            {"owner": owner, "name": name, "sha": commit, "path": path},
            what=f"the blame of {path} at {commit[:12]}",
        )
        found = ((data.get("repository") or {}).get("object") or {}).get("blame")
        if not isinstance(found, dict):
            raise GitHubNotFound(f"GitHub has no blame of {path} at {commit[:12]}", status=404)
        wanted = set(lines)
        out: dict[int, Blamed] = {}
        for r in found.get("ranges") or []:
            sha = str((r.get("commit") or {}).get("oid") or "")
            first, last = int(r.get("startingLine") or 0), int(r.get("endingLine") or 0)
            if sha:
                out.update((line, Blamed(sha, path)) for line in wanted.intersection(range(first, last + 1)))
        return out

    def _commit(self, sha: str) -> dict[str, Any]:
        with self._lock:
            cached = self._commits.get(sha)
        if cached is not None:
            return cached
        _, data = self._client.request(
            "GET", f"/repos/{self._repo}/commits/{sha}", what=f"reading commit {sha[:12]}"
        )
        commit = data if isinstance(data, dict) else {}
        with self._lock:
            self._commits[sha] = commit
        return commit

    def summary(self, sha: str) -> CommitSummary:
        """The commit's message (subject, body) and the paths of its files.

        Raises:
            GitHubError: GitHub would not show the commit.
        """
        data = self._commit(sha)
        message = str((data.get("commit") or {}).get("message") or "")
        subject, _, body = message.partition("\n")
        paths = tuple(str(f.get("filename")) for f in data.get("files") or [] if f.get("filename"))
        return CommitSummary(subject.strip(), body.strip(), paths)

    def diff(self, sha: str, path: str) -> bytes:
        """The commit's patch of one file as a unified diff.

        Raises:
            GitHubError: GitHub would not show the commit.
            GitHubNotFound: the file has no patch in it (binary, too large, or not touched).
        """
        files = [f for f in self._commit(sha).get("files") or [] if f.get("filename") == path]
        patch, missing = diff_from_files(files)
        if missing or not patch:
            raise GitHubNotFound(
                f"commit {sha[:12]} shows no patch of {path} (too large or binary)", status=404
            )
        return patch
