"""Issue analysis (`swarm issue`): intake of an issue's text, and fault localization over a repository.

    symptoms  an issue's text to an Intake: observed, expected, reproduction, stack frames
    index     a repository at a commit: files, definitions, BM25 over both
    localize  where the fault most likely is: files and functions, each with its evidence
    spec      with a model: root cause, fix specification, and with --trace a checked patch
    report    the analysis as markdown (the App's comment) or data
    checkout  the repository's files at a ref, cached, for the App

Names load on first use: the spec needs the model calls. `localize` is imported here
at once: a lazy name that is also a submodule's name would be shadowed by the submodule
as soon as anything imported it.
"""

from __future__ import annotations

import typing as _typing

from swarm_core._lazy import lazy_namespace as _lazy_namespace
from swarm_core.issue.localize import Localization, localize

if _typing.TYPE_CHECKING:
    from swarm_core.issue.index import RepoIndex
    from swarm_core.issue.report import NO_MODEL_NOTE, issue_to_dict, issue_to_markdown
    from swarm_core.issue.spec import FixSpec, specify_with
    from swarm_core.issue.symptoms import Intake, parse_issue

_EXPORTS: dict[str, str] = {
    "RepoIndex": "index",
    **dict.fromkeys(("NO_MODEL_NOTE", "issue_to_dict", "issue_to_markdown"), "report"),
    **dict.fromkeys(("FixSpec", "specify_with"), "spec"),
    **dict.fromkeys(("Intake", "parse_issue"), "symptoms"),
}

__all__ = [
    "NO_MODEL_NOTE",
    "FixSpec",
    "Intake",
    "Localization",
    "RepoIndex",
    "issue_to_dict",
    "issue_to_markdown",
    "localize",
    "parse_issue",
    "specify_with",
]

__getattr__, __dir__ = _lazy_namespace(__name__, _EXPORTS, __all__)
