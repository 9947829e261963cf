"""The run store: each review with its findings and timings; SQLite by default, any SQLAlchemy URL.

The job queue and the delivery log are `swarm_core.store.queue`; `Backlog` is what the
queue holds right now, read for monitoring.
"""

from __future__ import annotations

from swarm_core.store.advisory_cache import SqlAdvisoryCache
from swarm_core.store.backlog import Backlog, read_backlog
from swarm_core.store.database import normalize_url, sqlite_url
from swarm_core.store.learnings import LearningStore
from swarm_core.store.runs import RunStore, RunSummary, SqlRunStore, StoredRun, open_store

__all__ = [
    "Backlog",
    "LearningStore",
    "RunStore",
    "RunSummary",
    "SqlAdvisoryCache",
    "SqlRunStore",
    "StoredRun",
    "normalize_url",
    "open_store",
    "read_backlog",
    "sqlite_url",
]
