"""The run store: each review with its findings and timings; SQLite by default, any SQLAlchemy URL."""

from __future__ import annotations

from swarm_core.store.database import normalize_url, sqlite_url
from swarm_core.store.runs import RunStore, RunSummary, SqlRunStore, StoredRun, open_store

__all__ = ["RunStore", "RunSummary", "SqlRunStore", "StoredRun", "normalize_url", "open_store", "sqlite_url"]
