"""Swarm memory in a SQL database (SQLAlchemy): the embedded SQLite file by default, or Postgres."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from swarm_core.errors import MemoryStoreError
from swarm_core.memory import MemoryEntry, dump_value
from swarm_core.store.schema import memory_table, metadata

__all__ = ["SqlMemory", "memory_engine"]


class SqlMemory:
    """Memory in a SQL database through SQLAlchemy; calls run in a worker thread.

    Args:
        engine: an engine on SQLite or Postgres; `create_all` makes the table if missing.
    """

    def __init__(self, engine: Engine, *, clock: Any = time.time) -> None:
        self._engine = engine
        self._clock = clock
        self._ready = False
        # Lanes call from several threads at once; one SQLite connection (an in-memory
        # database) must not be used concurrently, and the table is created only once.
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        if not self._ready:
            metadata.create_all(self._engine, tables=[memory_table])
            self._ready = True

    def _locked(self, fn: Any, *args: Any) -> Any:
        with self._lock:
            return fn(*args)

    async def _run(self, fn: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(self._locked, fn, *args)
        except SQLAlchemyError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MemoryStoreError(f"swarm memory (SQL) failed: {first}") from exc

    def _set(self, ns: str, key: str, text: str, ttl: float | None, by: str) -> None:
        self._ensure()
        now = self._clock()
        t = memory_table
        with self._engine.begin() as conn:
            conn.execute(t.delete().where(t.c.namespace == ns, t.c.key == key))
            conn.execute(
                t.insert().values(
                    namespace=ns,
                    key=key,
                    value=text,
                    created_by=by,
                    created_at=now,
                    expires_at=None if ttl is None else now + ttl,
                )
            )

    async def set(
        self, namespace: str, key: str, value: Any, *, ttl: float | None = None, created_by: str = ""
    ) -> None:
        """Store a value (see MemoryBackend.set)."""
        await self._run(self._set, namespace, key, dump_value(value), ttl, created_by)

    def _select(self, ns: str, key: str | None, prefix: str) -> list[MemoryEntry]:
        self._ensure()
        t = memory_table
        now = self._clock()
        query = sa.select(t).where(
            t.c.namespace == ns, sa.or_(t.c.expires_at.is_(None), t.c.expires_at > now)
        )
        if key is not None:
            query = query.where(t.c.key == key)
        elif prefix:
            query = query.where(t.c.key.startswith(prefix, autoescape=True))
        with self._engine.connect() as conn:
            rows = list(conn.execute(query.order_by(t.c.key)))
        return [
            MemoryEntry(r.key, json.loads(r.value), r.created_by, r.created_at, r.expires_at) for r in rows
        ]

    async def get(self, namespace: str, key: str) -> MemoryEntry | None:
        """The live entry, or None."""
        rows: list[MemoryEntry] = await self._run(self._select, namespace, key, "")
        return rows[0] if rows else None

    async def list(self, namespace: str, prefix: str = "") -> list[MemoryEntry]:
        """Live entries under a prefix."""
        rows: list[MemoryEntry] = await self._run(self._select, namespace, None, prefix)
        return rows

    def _delete(self, ns: str, key: str) -> bool:
        self._ensure()
        t = memory_table
        with self._engine.begin() as conn:
            return bool(conn.execute(t.delete().where(t.c.namespace == ns, t.c.key == key)).rowcount)

    async def delete(self, namespace: str, key: str) -> bool:
        """Remove a key."""
        result: bool = await self._run(self._delete, namespace, key)
        return result

    def _purge(self) -> int:
        self._ensure()
        t = memory_table
        with self._engine.begin() as conn:
            return int(conn.execute(t.delete().where(t.c.expires_at <= self._clock())).rowcount)

    async def purge_expired(self) -> int:
        """Delete expired rows (Redis expires keys itself); returns how many."""
        result: int = await self._run(self._purge)
        return result

    async def aclose(self) -> None:
        """Nothing to do: the engine belongs to the caller."""


def memory_engine() -> Engine:
    """A private in-process SQLite database for memory that need not outlive the run."""
    from sqlalchemy.pool import StaticPool

    return sa.create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
