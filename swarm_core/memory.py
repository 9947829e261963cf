"""Swarm memory (the seed's SwarmMemory): a shared key/value store with TTL for the lanes of a run.

Backends: SQL (`swarm_core.sql_memory`: the embedded SQLite file by default, or Postgres)
and Redis (`SWARM_REDIS_URL`). This module imports neither driver, so a review that keeps no
memory (no model) does not pay for SQLAlchemy's import. A run works in its own namespace
(`run:<id>`), so lanes of one run see each other's notes and nothing of other runs. Values
are JSON.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from swarm_core.errors import MemoryStoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["MemoryBackend", "MemoryEntry", "RedisMemory", "RunMemory", "dump_value", "open_memory"]


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


def dump_value(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise MemoryStoreError(f"memory values must be JSON: {exc}") from exc


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
            {"v": json.loads(dump_value(value)), "by": created_by, "at": time.time(), "ttl": ttl},
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


def open_memory(redis_url: str | None, engine: Engine | None) -> MemoryBackend:
    """Redis when a URL is given, else SQL on the given engine.

    Raises:
        MemoryStoreError: neither is available, or redis is not installed.
    """
    if redis_url:
        return RedisMemory(redis_url)
    if engine is None:
        raise MemoryStoreError("no memory backend: give SWARM_REDIS_URL or a database")
    from swarm_core.sql_memory import SqlMemory

    return SqlMemory(engine)
