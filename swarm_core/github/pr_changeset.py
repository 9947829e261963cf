"""A pull request on GitHub as a ChangeSet: its diff, contents at merge base and head, history, config.

The repository's `.github/swarm.yml` is read from the **default branch**, so a pull
request cannot change its own review rules (DESIGN §7). Contents are fetched before the
review starts, a few files at a time in threads, because the engine reads them from
analyzer code that must not block on the network.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from swarm_core.changeset import ChangeSet
from swarm_core.config import CONFIG_PATH, SwarmConfig, parse_config
from swarm_core.diff import Diff, FileStatus, decode_text, parse_diff
from swarm_core.errors import ConfigError, GitHubError
from swarm_core.github.client import GitHubClient, PullRequest
from swarm_core.github.history import GitHubHistory
from swarm_core.models import Side

__all__ = ["GitHubContents", "change_from_pr", "repo_config"]

_EXTRA_LEFT = ("AGENTS.md", ".github/AGENTS.md")


class GitHubContents:
    """Contents of a pull request read through the API and cached (thread-safe)."""

    def __init__(
        self, client: GitHubClient, repo: str, base: str, head: str, diff: Diff, max_file_bytes: int
    ) -> None:
        self._client = client
        self._repo = repo
        self._base = base
        self._head = head
        self._diff = diff
        self._max = max_file_bytes
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, Side], bytes | None] = {}

    def _fetch(self, path: str, side: Side) -> bytes | None:
        fd = self._diff.file(path)
        if side is Side.LEFT:
            if fd is not None and fd.status == FileStatus.ADDED:
                return None
            src = (fd.old_path or fd.path) if fd is not None else path
            data = self._client.file(self._repo, src, self._base)
        else:
            if fd is not None and fd.status == FileStatus.DELETED:
                return None
            data = self._client.file(self._repo, path, self._head)
        return data if data is None or len(data) <= self._max else None

    def read(self, path: str, side: Side) -> bytes | None:
        """Bytes at the merge base (LEFT) or the head (RIGHT); None when absent or too big."""
        key = (path, side)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        data = self._fetch(path, side)
        with self._lock:
            self._cache[key] = data
        return data

    def exists(self, path: str, side: Side) -> bool | None:
        """Whether the file exists on that side."""
        return self.read(path, side) is not None

    def prefetch(self, wanted: Iterable[tuple[str, Side]], workers: int = 6) -> None:
        """Fetch many files at once (GitHub asks for modest concurrency: a few at a time)."""
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="swarm-contents") as pool:
            list(pool.map(lambda k: self.read(*k), list(wanted)))


def repo_config(client: GitHubClient, repo: str, default_branch: str) -> tuple[SwarmConfig, str | None]:
    """`.github/swarm.yml` from the default branch: (config, problem). An invalid file gives the
    defaults and says why, so a typo does not stop reviews."""
    data = client.file(repo, CONFIG_PATH, default_branch)
    if data is None:
        return SwarmConfig(), None
    try:
        return parse_config(decode_text(data), f"{CONFIG_PATH}@{default_branch}"), None
    except ConfigError as exc:
        return SwarmConfig(), str(exc)


def change_from_pr(client: GitHubClient, pr: PullRequest, config: SwarmConfig) -> ChangeSet:
    """The pull request as a ChangeSet, with every text file's contents fetched.

    Raises:
        DiffError: the diff is not a diff or is over limits.max_diff_bytes.
    """
    notes: tuple[str, ...] = ()
    try:
        raw = client.pull_diff(pr.repo, pr.number)
    except GitHubError as exc:
        if exc.status not in (406, 422):
            raise
        raw, missing = client.pull_diff_from_files(pr.repo, pr.number)
        notes = (
            "GitHub would not produce this pull request's diff (too large); it was rebuilt from the "
            "per-file patches"
            + (f", and {len(missing)} file(s) without a patch were not reviewed" if missing else "")
            + ".",
        )
    diff = parse_diff(raw, max_bytes=config.limits.max_diff_bytes)
    base = client.merge_base(pr.repo, pr.base_sha, pr.head_sha)
    contents = GitHubContents(client, pr.repo, base, pr.head_sha, diff, config.limits.max_file_bytes)
    wanted: list[tuple[str, Side]] = []
    for fd in diff.files[: config.limits.max_files]:
        if fd.binary or not config.includes(fd.path):
            continue
        wanted += [(fd.path, Side.RIGHT), (fd.path, Side.LEFT)]
    wanted += [(name, Side.LEFT) for name in _EXTRA_LEFT]
    contents.prefetch(wanted)
    return ChangeSet(
        diff=diff,
        contents=contents,
        label=f"{pr.repo}#{pr.number}",
        base=base,
        head=pr.head_sha,
        title=pr.title,
        description=pr.body,
        repo=pr.repo,
        notes=notes,
        history=GitHubHistory(client, pr.repo),
    )
