"""The team's learnings: feedback on swarm's findings, captured, curated and applied to later reviews.

`learning` holds the types, `capture` turns feedback (replies, 👎 reactions, resolved
threads, `/swarm learn`) into drafts, `curator` keeps them few and trustworthy. The store
keeps them (`swarm_core.store.learnings`); the review applies them in its learnings stage
(`swarm_core.stages.learnings`) and quotes them to the model lanes.
"""

from __future__ import annotations

from swarm_core.learnings.capture import (
    learning_from_command,
    learning_from_reaction,
    learning_from_reply,
    learning_from_resolution,
)
from swarm_core.learnings.curator import INSTALLATION_CAP, REPO_CAP, Curation, curate
from swarm_core.learnings.learning import (
    ACTIVE,
    FORGOTTEN,
    INSTALLATION,
    KEEP,
    QUARANTINED,
    REPO,
    STATUSES,
    SUPPRESS,
    Learning,
    LearningDraft,
    Scope,
    context_lines,
    normalized,
)

__all__ = [
    "ACTIVE",
    "FORGOTTEN",
    "INSTALLATION",
    "INSTALLATION_CAP",
    "KEEP",
    "QUARANTINED",
    "REPO",
    "REPO_CAP",
    "STATUSES",
    "SUPPRESS",
    "Curation",
    "Learning",
    "LearningDraft",
    "Scope",
    "context_lines",
    "curate",
    "learning_from_command",
    "learning_from_reaction",
    "learning_from_reply",
    "learning_from_resolution",
    "normalized",
]
