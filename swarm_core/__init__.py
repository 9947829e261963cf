"""swarm_core: the review engine shared by the CLI, the GitHub App and the GitHub Action.

A review is one pass through these stages (docs/architecture.md has the diagram):

    source     changeset.py, github/pr_changeset.py    where the change comes from -> ChangeSet
    diff       stages/select.py                which files are read -> FileChoice
    analyzers  stages/analyze.py               deterministic gates (analyzers/) -> Analysis
    lanes      stages/lanes.py                 findings to the six lanes; plan, fan out -> LaneWork
      lane     stages/lane.py                  one lane: model pass, checks, reviewer, critic
    verify     stages/verify.py                anchor, de-duplicate, filter, fingerprint
    verdict    stages/verdict.py               BLOCK / REQUEST_CHANGES / APPROVE_WITH_NOTES / APPROVE
    render     render/, github/publisher.py    the Review as text, SARIF or a GitHub review

`Orchestrator.review` (orchestrator.py) calls diff to verdict in order. The router, the
guarded model caller (model_calls.py) and the run's memory are seams it builds and passes in.

The names below load on first use (PEP 562), so `import swarm_core` and every
`import swarm_core.<module>` stay cheap: `swarm --version` must not pay for SQLAlchemy,
the lanes and the analyzers it never touches.
"""

from __future__ import annotations

import typing as _typing
from importlib import import_module as _import_module

__version__ = "0.1.0"

if _typing.TYPE_CHECKING:
    from swarm_core.changeset import ChangeSet, from_git, from_patch
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

# Each public name and the module that defines it; `__getattr__` imports on first access.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("Chunk", "ChunkPlan", "Omission", "chunk_diff", "estimate_tokens"), "chunking"),
    **dict.fromkeys(("SwarmConfig", "load_config", "merge", "parse_config"), "config"),
    **dict.fromkeys(("Diff", "FileDiff", "FileStatus", "Hunk", "parse_diff"), "diff"),
    **dict.fromkeys(
        (
            "AnalyzerError",
            "ConfigError",
            "DiffError",
            "LaneError",
            "RunNotFound",
            "SourceError",
            "StoreError",
            "SwarmError",
        ),
        "errors",
    ),
    **dict.fromkeys(
        (
            "AnalyzerReport",
            "AnalyzerStatus",
            "Finding",
            "Lane",
            "LaneResult",
            "LaneStatus",
            "ProgressEvent",
            "Review",
            "Severity",
            "Side",
            "Verdict",
            "Verification",
        ),
        "models",
    ),
    "Orchestrator": "orchestrator",
    **dict.fromkeys(("ChangeSet", "from_git", "from_patch"), "changeset"),
}

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


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
