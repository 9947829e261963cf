"""swarm_core: the review engine shared by the CLI, the GitHub App and the GitHub Action."""

from __future__ import annotations

__version__ = "0.1.0"

from swarm_core.chunking import Chunk, ChunkPlan, Omission, chunk_diff, estimate_tokens
from swarm_core.config import SwarmConfig, load_config, merge, parse_config
from swarm_core.diff import Diff, FileDiff, FileStatus, Hunk, parse_diff
from swarm_core.errors import (
    AnalyzerError,
    ConfigError,
    DiffError,
    LaneError,
    RunNotFound,
    SourceError,
    StoreError,
    SwarmError,
)
from swarm_core.models import (
    AnalyzerReport,
    AnalyzerStatus,
    Finding,
    Lane,
    LaneResult,
    LaneStatus,
    ProgressEvent,
    Review,
    Severity,
    Side,
    Verdict,
    Verification,
)
from swarm_core.orchestrator import Orchestrator
from swarm_core.sources import ChangeSet, from_git, from_patch

__all__ = [
    "AnalyzerError",
    "AnalyzerReport",
    "AnalyzerStatus",
    "ChangeSet",
    "Chunk",
    "ChunkPlan",
    "ConfigError",
    "Diff",
    "DiffError",
    "FileDiff",
    "FileStatus",
    "Finding",
    "Hunk",
    "Lane",
    "LaneError",
    "LaneResult",
    "LaneStatus",
    "Omission",
    "Orchestrator",
    "ProgressEvent",
    "Review",
    "RunNotFound",
    "Severity",
    "Side",
    "SourceError",
    "StoreError",
    "SwarmConfig",
    "SwarmError",
    "Verdict",
    "Verification",
    "__version__",
    "chunk_diff",
    "estimate_tokens",
    "from_git",
    "from_patch",
    "load_config",
    "merge",
    "parse_config",
    "parse_diff",
]
