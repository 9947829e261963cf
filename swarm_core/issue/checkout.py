"""A repository's code for issue analysis in the App and the Action: a tarball at the default branch.

Downloaded with the installation token into a private folder outside the cache, checked
member by member (caps on size and count; no absolute paths, `..`, links out of the tree or
devices) and extracted with tarfile's "data" filter where Python has it; cached per
repository and commit, one job at a time per commit, and pruned so that only the newest two
commits of a repository are kept.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from swarm_core.errors import CheckoutRefused

try:  # POSIX: the lock also holds between worker processes sharing the cache
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads of one process only
    fcntl = None  # type: ignore[assignment]

__all__ = ["CheckoutLimits", "TarballSource", "checkout", "extract"]

KEEP = 2
_PARTIAL = ".partial"  # where downloads unpack: beside the repositories, never inside one
_LOCKS = ".locks"
_HAS_DATA_FILTER = hasattr(tarfile, "data_filter")  # Python 3.11.4 and later


@dataclass(frozen=True, slots=True)
class CheckoutLimits:
    """How much of a repository an issue analysis downloads and unpacks.

    Args:
        max_tarball_bytes: the compressed archive, as downloaded.
        max_members: entries in the archive (files, folders, links).
        max_unpacked_bytes: the sum of the files' sizes once unpacked (a gzip bomb stops here).
    """

    max_tarball_bytes: int = 200 * 2**20
    max_members: int = 100_000
    max_unpacked_bytes: int = 1 * 2**30


class TarballSource(Protocol):
    """What a checkout needs from GitHub (`GitHubClient` is one)."""

    def commit_sha(self, repo: str, ref: str) -> str | None: ...

    def download_tarball(self, repo: str, ref: str, dest: str) -> None: ...


def checkout(
    client: TarballSource, repo: str, ref: str, cache_dir: Path, limits: CheckoutLimits | None = None
) -> tuple[Path, str]:
    """The repository's files at `ref` (a branch).

    Args:
        client: downloads the tarball.
        repo: "owner/name".
        ref: a branch or a commit SHA.
        cache_dir: the cache shared by every job of this process (and others on the machine).
        limits: caps on the download; the defaults when None.

    Returns:
        (directory, commit SHA).

    Raises:
        CheckoutRefused: the archive is over a cap or holds an unsafe member.
        GitHubError: the download failed.
    """
    limits = limits or CheckoutLimits()
    sha = client.commit_sha(repo, ref) or ref
    name = repo.replace("/", "+")
    if not _safe_component(name) or not _safe_component(sha):
        raise CheckoutRefused(f"cannot check out {repo!r} at {sha!r}: not a repository name and commit")
    base = cache_dir / name
    target = base / sha
    with _locked(cache_dir, name, sha):
        if not (target / ".complete").exists():
            _fetch(client, repo, sha, cache_dir, target, limits)
        _prune(cache_dir, name, base, keep=target)
    return target, sha


def _fetch(
    client: TarballSource, repo: str, sha: str, cache_dir: Path, target: Path, limits: CheckoutLimits
) -> None:
    partial = cache_dir / _PARTIAL
    partial.mkdir(parents=True, exist_ok=True)
    # mkdtemp makes the folder private (0700); the rename at the end stays on one file system.
    with tempfile.TemporaryDirectory(dir=partial, prefix="checkout-") as tmp:
        archive = Path(tmp) / "repo.tar.gz"
        client.download_tarball(repo, sha, str(archive))
        size = archive.stat().st_size
        if size > limits.max_tarball_bytes:
            raise CheckoutRefused(
                f"{repo}@{sha[:12]}: the tarball is {size} bytes, over the cap of "
                f"{limits.max_tarball_bytes} (raise max_tarball_bytes to analyze this repository)"
            )
        unpacked = Path(tmp) / "x"
        unpacked.mkdir()
        extract(archive, unpacked, limits)
        # GitHub's tarballs hold one top directory (owner-repo-sha/).
        tops = [p for p in unpacked.iterdir() if p.is_dir() and not p.is_symlink()]
        root = tops[0] if len(tops) == 1 else unpacked
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(root), str(target))
    (target / ".complete").write_text(sha)


def extract(
    archive: Path, dest: Path, limits: CheckoutLimits, *, data_filter: bool = _HAS_DATA_FILTER
) -> None:
    """Unpack a tar archive into an empty folder, refusing it whole at the first unsafe member.

    The own check runs on every Python; tarfile's "data" filter runs as well where it exists.

    Raises:
        CheckoutRefused: over a cap, or a member with an absolute path, `..`, a link out of
            the tree, or a device, FIFO or other special file.
    """
    root = os.path.realpath(dest)
    members = 0
    unpacked = 0
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in _members(tar):  # read one at a time: a bomb stops at the cap
                members += 1
                if members > limits.max_members:
                    raise CheckoutRefused(f"the archive has more than {limits.max_members} members")
                if member.isreg():
                    unpacked += member.size
                    if unpacked > limits.max_unpacked_bytes:
                        raise CheckoutRefused(
                            f"the archive unpacks to more than {limits.max_unpacked_bytes} bytes"
                        )
                _check(member, root)
                if data_filter:
                    tar.extract(member, dest, filter="data")
                else:
                    tar.extract(member, dest, set_attrs=False)  # no owners, modes or times from it
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise CheckoutRefused(f"the archive cannot be unpacked: {exc}") from exc


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while (member := tar.next()) is not None:
        yield member


def _check(member: tarfile.TarInfo, root: str) -> None:
    name = member.name
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        raise CheckoutRefused(f"the archive holds a special file (device, FIFO): {name!r}")
    _check_path(name, name)
    at = _inside(root, Path(root, name), name)
    if member.issym():
        _check_link(member.linkname, name)
        _inside(root, Path(at).parent / member.linkname, name)
    elif member.islnk():
        _check_link(member.linkname, name)
        _inside(root, Path(root, member.linkname), name)


def _check_path(path: str, member: str) -> None:
    pure = PurePosixPath(path)
    if pure.is_absolute() or path.startswith("\\"):
        raise CheckoutRefused(f"the archive holds an absolute path: {member!r}")
    if ".." in pure.parts or ".." in path.split("\\"):
        raise CheckoutRefused(f"the archive holds a path with '..': {member!r}")
    if "\x00" in path:
        raise CheckoutRefused(f"the archive holds a name with a NUL byte: {member!r}")


def _check_link(target: str, member: str) -> None:
    pure = PurePosixPath(target)
    if not target or pure.is_absolute() or target.startswith("\\"):
        raise CheckoutRefused(f"the archive holds a link to an absolute path: {member!r} -> {target!r}")


def _inside(root: str, path: Path, member: str) -> str:
    # realpath follows the links already unpacked, so a chain of relative links cannot walk out.
    real = os.path.realpath(path)
    if os.path.commonpath([root, real]) != root:
        raise CheckoutRefused(f"the archive holds a member that points out of the tree: {member!r}")
    return real


# A lock lives while a job holds or waits for it, so the table does not grow with every commit.
_THREAD_LOCKS: weakref.WeakValueDictionary[tuple[str, str], threading.Lock] = weakref.WeakValueDictionary()
_REGISTRY = threading.Lock()


@contextmanager
def _locked(cache_dir: Path, name: str, sha: str) -> Iterator[None]:
    """One job at a time per repository and commit: in this process, and between processes."""
    with _REGISTRY:
        lock = _THREAD_LOCKS.setdefault((name, sha), threading.Lock())
    with lock:
        locks = cache_dir / _LOCKS
        locks.mkdir(parents=True, exist_ok=True)
        with (locks / f"{name}@{sha}").open("a") as fh:
            _flock(fh, blocking=True)
            yield


def _flock(fh: IO[str], *, blocking: bool) -> bool:
    if fcntl is None:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(fh, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _prune(cache_dir: Path, name: str, base: Path, *, keep: Path) -> None:
    """Delete all but the newest KEEP commits; a tree another job is filling is skipped."""
    trees = sorted((p for p in base.iterdir() if p.is_dir() and p != keep), key=lambda p: p.stat().st_mtime)
    for old in trees[: max(0, len(trees) + 1 - KEEP)]:
        with _REGISTRY:
            lock = _THREAD_LOCKS.setdefault((name, old.name), threading.Lock())
        if not lock.acquire(blocking=False):
            continue
        try:
            with (cache_dir / _LOCKS / f"{name}@{old.name}").open("a") as fh:
                if _flock(fh, blocking=False):
                    shutil.rmtree(old, ignore_errors=True)
        finally:
            lock.release()


def _safe_component(text: str) -> bool:
    return (
        bool(text) and text not in {".", ".."} and "/" not in text and "\\" not in text and "\x00" not in text
    )
