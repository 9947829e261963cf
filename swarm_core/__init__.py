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

This namespace is the API the faces (app/, action/, swarm_cli/) use, together with the
packages `swarm_core.agents`, `.config`, `.github`, `.issue`, `.providers`, `.render`,
`.store` and `.store.queue`; tests/test_public_api.py keeps every name a face imports
exported here or there. The names load on first use (PEP 562), so `import swarm_core` and
every `import swarm_core.<module>` stay cheap: `swarm --version` must not pay for
SQLAlchemy, the lanes and the analyzers it never touches.
"""

from __future__ import annotations

import typing as _typing

from swarm_core._lazy import lazy_namespace as _lazy_namespace

__version__ = "0.1.0"

if _typing.TYPE_CHECKING:
    from swarm_core.budget import Budget
    from swarm_core.changeset import (
        ChangeSet,
        GitRepo,
        from_git,
        from_patch,
    )
    from swarm_core.chunking import (
        Chunk,
        ChunkPlan,
        Omission,
        chunk_diff,
        estimate_tokens,
    )
    from swarm_core.config import (
        SwarmConfig,
        load_config,
        merge,
        parse_config,
    )
    from swarm_core.conversation import Question, Site, ThreadComment, answer_to_dict, answer_to_markdown
    from swarm_core.council import convene, council_to_dict, council_to_markdown
    from swarm_core.diff import (
        Diff,
        FileDiff,
        FileStatus,
        Hunk,
        decode_text,
        parse_diff,
    )
    from swarm_core.engine import (
        PROVIDER_ENV_NAMES,
        Engine,
        ProviderKeys,
        build_engine,
    )
    from swarm_core.errors import (
        AnalyzerError,
        ConfigError,
        DiffError,
        GitHubAuthError,
        GitHubError,
        GitHubForbidden,
        GitHubNotFound,
        GitHubRateLimited,
        GitHubUnavailable,
        GitHubValidation,
        InvalidPayload,
        LaneError,
        LearningNotFound,
        LimitReached,
        MalformedOutput,
        MemoryStoreError,
        ModelSelectionError,
        MutationError,
        ProviderAuthError,
        ProviderError,
        ProviderRateLimited,
        ProviderTimeout,
        ProviderUnavailable,
        RetryLater,
        RunNotFound,
        SourceError,
        StoreError,
        SwarmError,
        WebhookError,
    )
    from swarm_core.logs import (
        configure_logging,
        current_ids,
        pop_ids,
        push_ids,
    )
    from swarm_core.memory import (
        MemoryBackend,
        open_memory,
    )
    from swarm_core.models import (
        AnalyzerReport,
        AnalyzerStatus,
        Exchange,
        Finding,
        Lane,
        LaneResult,
        LaneStatus,
        ProgressEvent,
        Review,
        Severity,
        Side,
        Usage,
        Verdict,
        Verification,
        request_counts,
    )
    from swarm_core.orchestrator import Orchestrator
    from swarm_core.redact import Redactor, url_passwords
    from swarm_core.render.walkthrough import walkthrough_to_dict, walkthrough_to_markdown
    from swarm_core.router import ModelTable, Router, load_table
    from swarm_core.sql_memory import (
        SqlMemory,
        memory_engine,
    )

# Each public name and the module that defines it; `__getattr__` imports on first access.
_EXPORTS: dict[str, str] = {
    "Budget": "budget",
    **dict.fromkeys(
        (
            "ChangeSet",
            "GitRepo",
            "from_git",
            "from_patch",
        ),
        "changeset",
    ),
    **dict.fromkeys(
        (
            "Chunk",
            "ChunkPlan",
            "Omission",
            "chunk_diff",
            "estimate_tokens",
        ),
        "chunking",
    ),
    **dict.fromkeys(
        (
            "SwarmConfig",
            "load_config",
            "merge",
            "parse_config",
        ),
        "config",
    ),
    **dict.fromkeys(
        (
            "convene",
            "council_to_dict",
            "council_to_markdown",
        ),
        "council",
    ),
    **dict.fromkeys(
        (
            "Diff",
            "FileDiff",
            "FileStatus",
            "Hunk",
            "decode_text",
            "parse_diff",
        ),
        "diff",
    ),
    **dict.fromkeys(
        (
            "PROVIDER_ENV_NAMES",
            "Engine",
            "ProviderKeys",
            "build_engine",
        ),
        "engine",
    ),
    **dict.fromkeys(
        (
            "AnalyzerError",
            "ConfigError",
            "DiffError",
            "GitHubAuthError",
            "GitHubError",
            "GitHubForbidden",
            "GitHubNotFound",
            "GitHubRateLimited",
            "GitHubUnavailable",
            "GitHubValidation",
            "InvalidPayload",
            "LaneError",
            "LimitReached",
            "MalformedOutput",
            "MemoryStoreError",
            "ModelSelectionError",
            "MutationError",
            "ProviderAuthError",
            "ProviderError",
            "ProviderRateLimited",
            "ProviderTimeout",
            "ProviderUnavailable",
            "LearningNotFound",
            "RetryLater",
            "RunNotFound",
            "SourceError",
            "StoreError",
            "SwarmError",
            "WebhookError",
        ),
        "errors",
    ),
    **dict.fromkeys(
        (
            "configure_logging",
            "current_ids",
            "pop_ids",
            "push_ids",
        ),
        "logs",
    ),
    **dict.fromkeys(
        (
            "MemoryBackend",
            "open_memory",
        ),
        "memory",
    ),
    **dict.fromkeys(
        (
            "SqlMemory",
            "memory_engine",
        ),
        "sql_memory",
    ),
    **dict.fromkeys(
        (
            "AnalyzerReport",
            "AnalyzerStatus",
            "Exchange",
            "Finding",
            "Lane",
            "LaneResult",
            "LaneStatus",
            "ProgressEvent",
            "Review",
            "Severity",
            "Side",
            "Usage",
            "Verdict",
            "Verification",
            "request_counts",
        ),
        "models",
    ),
    "Orchestrator": "orchestrator",
    **dict.fromkeys(("ChangeSet", "from_git", "from_patch"), "changeset"),
    **dict.fromkeys(
        (
            "Redactor",
            "url_passwords",
        ),
        "redact",
    ),
    **dict.fromkeys(
        ("Question", "Site", "ThreadComment", "answer_to_dict", "answer_to_markdown"), "conversation"
    ),
    **dict.fromkeys(("walkthrough_to_dict", "walkthrough_to_markdown"), "render.walkthrough"),
    **dict.fromkeys(
        (
            "ModelTable",
            "Router",
            "load_table",
        ),
        "router",
    ),
}

__all__ = [
    "PROVIDER_ENV_NAMES",
    "AnalyzerError",
    "AnalyzerReport",
    "AnalyzerStatus",
    "Budget",
    "ChangeSet",
    "Chunk",
    "ChunkPlan",
    "ConfigError",
    "Diff",
    "DiffError",
    "Engine",
    "Exchange",
    "FileDiff",
    "FileStatus",
    "Finding",
    "GitHubAuthError",
    "GitHubError",
    "GitHubForbidden",
    "GitHubNotFound",
    "GitHubRateLimited",
    "GitHubUnavailable",
    "GitHubValidation",
    "GitRepo",
    "Hunk",
    "InvalidPayload",
    "Lane",
    "LaneError",
    "LaneResult",
    "LaneStatus",
    "LearningNotFound",
    "LimitReached",
    "MalformedOutput",
    "MemoryBackend",
    "MemoryStoreError",
    "ModelSelectionError",
    "ModelTable",
    "MutationError",
    "Omission",
    "Orchestrator",
    "ProgressEvent",
    "ProviderAuthError",
    "ProviderError",
    "ProviderKeys",
    "ProviderRateLimited",
    "ProviderTimeout",
    "ProviderUnavailable",
    "Question",
    "Redactor",
    "RetryLater",
    "Review",
    "Router",
    "RunNotFound",
    "Severity",
    "Side",
    "Site",
    "SourceError",
    "SqlMemory",
    "StoreError",
    "SwarmConfig",
    "SwarmError",
    "ThreadComment",
    "Usage",
    "Verdict",
    "Verification",
    "WebhookError",
    "__version__",
    "answer_to_dict",
    "answer_to_markdown",
    "build_engine",
    "chunk_diff",
    "configure_logging",
    "convene",
    "council_to_dict",
    "council_to_markdown",
    "current_ids",
    "decode_text",
    "estimate_tokens",
    "from_git",
    "from_patch",
    "load_config",
    "load_table",
    "memory_engine",
    "merge",
    "open_memory",
    "parse_config",
    "parse_diff",
    "pop_ids",
    "push_ids",
    "request_counts",
    "url_passwords",
    "walkthrough_to_dict",
    "walkthrough_to_markdown",
]

__getattr__, __dir__ = _lazy_namespace(__name__, _EXPORTS, __all__)
