"""Diff stage: which files of a change the review reads, and why each other file is left out."""

from __future__ import annotations

from dataclasses import dataclass, field

from swarm_core.changeset import ChangeSet
from swarm_core.config import SwarmConfig
from swarm_core.diff import FileDiff

__all__ = ["FileChoice", "select_files"]


@dataclass(frozen=True)
class FileChoice:
    """The files to review, and (path, reason) for every file left out, in diff order."""

    files: list[FileDiff] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def select_files(change: ChangeSet, config: SwarmConfig) -> FileChoice:
    """Apply the path filters, drop binaries and stop at `limits.max_files`."""
    choice = FileChoice()
    limit = config.limits.max_files
    for fd in change.diff.files:
        if not config.includes(fd.path):
            choice.skipped.append((fd.path, "excluded by paths config"))
        elif fd.binary:
            choice.skipped.append((fd.path, "binary file"))
        elif len(choice.files) >= limit:
            choice.skipped.append((fd.path, f"over limits.max_files ({limit})"))
        else:
            choice.files.append(fd)
    return choice
