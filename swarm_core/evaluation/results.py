"""Each task's scored result, kept in the run store so an interrupted evaluation resumes.

A result is stored as an `eval` run whose id is a hash of the repository, the commit (or
case id), the task kind, the config hash and the model: a re-run with the same settings
finds it and skips the review. Only finished results are kept; a failed task is tried again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from swarm_core.errors import RunNotFound
from swarm_core.models import Exchange
from swarm_core.store import RunStore

__all__ = ["RESULT_KIND", "ResultStore", "result_key"]

RESULT_KIND = "eval"


def result_key(repo: str, sha: str, kind: str, config_hash: str, model: str | None) -> str:
    """The run id a task's result is stored under (32 hex characters)."""
    text = "\0".join((repo, sha, kind, config_hash, model or "-"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class ResultStore:
    """Stored results over a run store; with no store nothing is kept and nothing resumes.

    Args:
        store: the run store, or None.
        fresh: ignore (and replace) results already stored.
    """

    def __init__(self, store: RunStore | None, *, fresh: bool = False) -> None:
        self.store = store
        self.fresh = fresh

    def get(self, key: str) -> dict[str, Any] | None:
        """A stored result, or None (none stored, no store, or --fresh).

        Raises:
            StoreError: the store cannot be read.
        """
        if self.store is None or self.fresh:
            return None
        try:
            document = self.store.get_run(key).document
        except RunNotFound:
            return None
        item = document.get("item")
        return item if isinstance(item, dict) else None

    def put(self, key: str, item: dict[str, Any], exchanges: Sequence[Exchange], repo: str) -> None:
        """Keep a finished result and its model evidence (so `swarm runs cost` counts it).

        Raises:
            StoreError: the store cannot be written.
        """
        if self.store is None:
            return
        self.store.delete_run(key)
        self.store.save_document(
            RESULT_KIND,
            source=f"eval {item.get('kind', '')} {repo}@{str(item.get('sha') or item.get('id', ''))[:12]}",
            status=str(item.get("verdict") or item.get("status") or ""),
            duration_s=float(item.get("seconds") or 0.0),
            document={"run_id": key, "item": item},
            exchanges=exchanges,
            counts={"findings": len(item.get("findings", []))},
            repo=repo,
        )
