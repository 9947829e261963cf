"""A repository's code for issue analysis in the App and the Action: a tarball at the default branch.

Downloaded with the installation token, extracted safely (tarfile's "data" filter: no
absolute paths, no links out of the tree), cached per repository and commit under the
data directory, and pruned so that only the newest two commits of a repository are kept.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path

from swarm_core.github.client import GitHubClient

__all__ = ["checkout"]

KEEP = 2


def checkout(client: GitHubClient, repo: str, ref: str, cache_dir: Path) -> tuple[Path, str]:
    """The repository's files at `ref` (a branch): (directory, commit SHA)."""
    sha = client.commit_sha(repo, ref) or ref
    base = cache_dir / repo.replace("/", "+")
    target = base / sha
    if (target / ".complete").exists():
        return target, sha
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        archive = Path(tmp) / "repo.tar.gz"
        client.download_tarball(repo, sha, str(archive))
        unpacked = Path(tmp) / "x"
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="data")
        # GitHub's tarballs hold one top directory (owner-repo-sha/).
        tops = [p for p in unpacked.iterdir() if p.is_dir()]
        root = tops[0] if len(tops) == 1 else unpacked
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(root), str(target))
    (target / ".complete").write_text(sha)
    for old in sorted(
        (p for p in base.iterdir() if p.is_dir() and p != target), key=lambda p: p.stat().st_mtime
    )[: max(0, len(list(base.iterdir())) - KEEP)]:
        shutil.rmtree(old, ignore_errors=True)
    return target, sha
