"""Replaying history: a change reviewed as it was merged, and a bug fix reviewed reversed.

Each replay reviews exactly as `swarm pr-review --repo R --base A --head B` does: the same
git source with GitHub's diff, the repository's config, the same engine. A reversed fix
has the fix as its base and the fix's parent as its head: the change that puts the bug back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from swarm_core.changeset import ChangeSet, from_git
from swarm_core.config import CONFIG_PATH, SwarmConfig, load_config
from swarm_core.engine import Reviewer
from swarm_core.models import Review

__all__ = ["Replay", "replay", "repo_config"]


@dataclass(frozen=True, slots=True)
class Replay:
    """A replayed review, the change it reviewed, and the wall time of loading and reviewing it."""

    review: Review
    change: ChangeSet
    seconds: float


def repo_config(root: Path) -> SwarmConfig:
    """The repository's own config (REPO/.github/swarm.yml), else the defaults.

    Raises:
        ConfigError: the file exists but is not a valid config.
    """
    path = root / CONFIG_PATH
    return load_config(path) if path.is_file() else SwarmConfig()


async def replay(
    reviewer: Reviewer, config: SwarmConfig, root: Path, base: str, head: str, *, models: bool
) -> Replay:
    """Review the change from `base` to `head` of the repository at `root`.

    Args:
        reviewer: the engine's review (`Engine.review`).
        config: the run's config.
        root: the repository.
        base: the base commit (a fix, for a reversed fix).
        head: the head commit (the fix's parent, for a reversed fix).
        models: False for the deterministic lanes only.

    Raises:
        SourceError: a commit is unknown or the diff is over the limit.
    """
    start = time.perf_counter()
    change = from_git(
        root,
        base,
        head,
        max_diff_bytes=config.limits.max_diff_bytes,
        max_file_bytes=config.limits.max_file_bytes,
    )
    review = await reviewer(config, change, models=models)
    return Replay(review, change, time.perf_counter() - start)
