"""Swarm memory (the seed's SwarmMemory): a shared key/value store with TTL for the lanes of a run.

Backends: SQL (the embedded SQLite file by default, or Postgres) and Redis
(`SWARM_REDIS_URL`). A run works in its own namespace (`run:<id>`), so lanes of one run
see each other's notes and nothing of other runs. Values are JSON.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from swarm_core.errors import MemoryStoreError
from swarm_core.store.schema import memory_table, metadata

__all__ = [
    "MemoryBackend",
    "MemoryEntry",
    "RedisMemory",
    "RunMemory",
    "SqlMemory",
    "memory_engine",
    "open_memory",
]


@dataclass(frozen=True, slots=True)
class MemoryEntry:
    """One stored value; `expires_at` is a Unix time or None (never expires)."""

    key: str
    value: Any
    created_by: str
    created_at: float
    expires_at: float | None = None


class MemoryBackend(Protocol):
    """Where memory lives. Every method is namespaced; expired entries are never returned."""

    async def set(
        self, namespace: str, key: str, value: Any, *, ttl: float | None = None, created_by: str = ""
    ) -> None:
        """Store a JSON-serialisable value, replacing any previous one."""
        ...

    async def get(self, namespace: str, key: str) -> MemoryEntry | None:
        """The live entry, or None."""
        ...

    async def list(self, namespace: str, prefix: str = "") -> list[MemoryEntry]:
        """Live entries whose key starts with `prefix`, sorted by key."""
        ...

    async def delete(self, namespace: str, key: str) -> bool:
        """Remove a key; True when it existed."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def _dump(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise MemoryStoreError(f"memory values must be JSON: {exc}") from exc


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
        await self._run(self._set, namespace, key, _dump(value), ttl, created_by)

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


class RedisMemory:
    """Memory in Redis: one key per entry (`swarm:mem:<namespace>:<key>`), TTL by Redis itself.

    Args:
        url: a redis:// URL (SWARM_REDIS_URL).
    """

    def __init__(self, url: str, *, prefix: str = "swarm:mem:") -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError as exc:
            raise MemoryStoreError(
                "SWARM_REDIS_URL is set but the redis package is missing: pip install 'swarm-review[redis]'"
            ) from exc
        self._client = aioredis.Redis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._url = url

    def _key(self, ns: str, key: str) -> str:
        return f"{self._prefix}{ns}:{key}"

    async def _do(self, coro: Any) -> Any:
        import redis.exceptions

        try:
            return await coro
        except redis.exceptions.RedisError as exc:
            raise MemoryStoreError(f"swarm memory (Redis) failed: {type(exc).__name__}: {exc}") from exc

    async def set(
        self, namespace: str, key: str, value: Any, *, ttl: float | None = None, created_by: str = ""
    ) -> None:
        """Store a value; Redis expires it after `ttl` seconds."""
        doc = json.dumps(
            {"v": json.loads(_dump(value)), "by": created_by, "at": time.time(), "ttl": ttl},
            ensure_ascii=False,
        )
        px = None if ttl is None else max(1, int(ttl * 1000))
        await self._do(self._client.set(self._key(namespace, key), doc, px=px))

    @staticmethod
    def _entry(key: str, raw: str | None) -> MemoryEntry | None:
        if raw is None:
            return None
        doc = json.loads(raw)
        ttl = doc.get("ttl")
        return MemoryEntry(
            key, doc["v"], doc.get("by", ""), doc["at"], None if ttl is None else doc["at"] + ttl
        )

    async def get(self, namespace: str, key: str) -> MemoryEntry | None:
        """The live entry, or None."""
        raw = await self._do(self._client.get(self._key(namespace, key)))
        return self._entry(key, raw)

    async def list(self, namespace: str, prefix: str = "") -> list[MemoryEntry]:
        """Live entries under a prefix (SCAN, so a large keyspace is not blocked)."""
        base = self._key(namespace, "")
        pattern = base + _glob_escape(prefix) + "*"
        keys: list[str] = []

        async def scan() -> None:
            async for k in self._client.scan_iter(match=pattern, count=500):
                keys.append(k)

        await self._do(scan())
        keys.sort()
        if not keys:
            return []
        values = await self._do(self._client.mget(keys))
        out = []
        for k, raw in zip(keys, values, strict=True):
            entry = self._entry(k[len(base) :], raw)
            if entry is not None:
                out.append(entry)
        return out

    async def delete(self, namespace: str, key: str) -> bool:
        """Remove a key."""
        return bool(await self._do(self._client.delete(self._key(namespace, key))))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class RunMemory:
    """The memory one run sees: a backend bound to the run's namespace and default TTL."""

    def __init__(self, backend: MemoryBackend, run_key: str, ttl: float | None) -> None:
        self.backend = backend
        self.namespace = f"run:{run_key}"
        self.ttl = ttl

    async def set(self, key: str, value: Any, *, created_by: str = "", ttl: float | None = None) -> None:
        """Store a value under this run (default TTL from config)."""
        await self.backend.set(self.namespace, key, value, ttl=ttl or self.ttl, created_by=created_by)

    async def get(self, key: str) -> Any:
        """A value, or None."""
        entry = await self.backend.get(self.namespace, key)
        return None if entry is None else entry.value

    async def list(self, prefix: str = "") -> list[MemoryEntry]:
        """This run's live entries."""
        return await self.backend.list(self.namespace, prefix)

    async def delete(self, key: str) -> bool:
        """Remove a key."""
        return await self.backend.delete(self.namespace, key)


def memory_engine() -> Engine:
    """A private in-process SQLite database for memory that need not outlive the run."""
    from sqlalchemy.pool import StaticPool

    return sa.create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})


def open_memory(redis_url: str | None, engine: Engine | None) -> MemoryBackend:
    """Redis when a URL is given, else SQL on the given engine.

    Raises:
        MemoryStoreError: neither is available, or redis is not installed.
    """
    if redis_url:
        return RedisMemory(redis_url)
    if engine is None:
        raise MemoryStoreError("no memory backend: give SWARM_REDIS_URL or a database")
    return SqlMemory(engine)
