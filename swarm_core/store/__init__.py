"""The run store: each review with its findings and timings; SQLite by default, any SQLAlchemy URL."""

from __future__ import annotations

from swarm_core.store.runs import (
    RunStore,
    RunSummary,
    SqlRunStore,
    StoredRun,
    open_store,
    sqlite_url,
)

__all__ = ["RunStore", "RunSummary", "SqlRunStore", "StoredRun", "open_store", "sqlite_url"]
