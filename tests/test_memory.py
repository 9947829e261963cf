"""Swarm memory on SQLite, Postgres and a real Redis server: set/get/list/delete, TTL, namespaces."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from swarm_core.errors import MemoryStoreError
from swarm_core.memory import MemoryBackend, RedisMemory, RunMemory, open_memory
from swarm_core.sql_memory import SqlMemory, memory_engine
from swarm_core.store.database import normalize_url

REDIS_URL = os.environ.get("SWARM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _backends() -> list[str]:
    kinds = ["sqlite"]
    if os.environ.get("SWARM_TEST_DATABASE_URL"):
        kinds.append("postgres")
    kinds.append("redis")
    return kinds


@pytest.fixture(params=_backends())
def backend(request: pytest.FixtureRequest) -> Iterator[MemoryBackend]:
    if request.param == "sqlite":
        yield SqlMemory(memory_engine())
    elif request.param == "postgres":
        engine = sa.create_engine(normalize_url(os.environ["SWARM_TEST_DATABASE_URL"]))
        yield SqlMemory(engine)
        engine.dispose()
    else:
        if not _redis_up():
            pytest.skip("no Redis server at 127.0.0.1:6379 (every development and CI machine has one)")
        mem = RedisMemory(REDIS_URL, prefix=f"swarm-test-{uuid.uuid4().hex[:8]}:")
        yield mem


def run(coro):
    return asyncio.run(coro)


def test_set_get_list_delete_with_namespaces(backend: MemoryBackend) -> None:
    async def go():
        ns, other = f"run:{uuid.uuid4().hex}", f"run:{uuid.uuid4().hex}"
        await backend.set(ns, "security/auth", {"helper": "require_admin"}, created_by="security")
        await backend.set(ns, "correctness/loop", "retry loop", created_by="correctness")
        await backend.set(ns, "correctness/loop", "retry loop in run()", created_by="correctness")
        await backend.set(other, "security/auth", "other run")
        got = await backend.get(ns, "security/auth")
        listed = await backend.list(ns)
        prefixed = await backend.list(ns, "correctness/")
        deleted = await backend.delete(ns, "security/auth")
        again = await backend.delete(ns, "security/auth")
        after = [e.key for e in await backend.list(ns)]
        await backend.aclose()
        return got, listed, prefixed, deleted, again, after

    got, listed, prefixed, deleted, again, after = run(go())
    assert got is not None and got.value == {"helper": "require_admin"} and got.created_by == "security"
    assert [(e.key, e.value) for e in listed] == [
        ("correctness/loop", "retry loop in run()"),
        ("security/auth", {"helper": "require_admin"}),
    ]
    assert [e.key for e in prefixed] == ["correctness/loop"]
    assert (deleted, again, after) == (True, False, ["correctness/loop"])


def test_entries_expire(backend: MemoryBackend) -> None:
    async def go():
        ns = f"run:{uuid.uuid4().hex}"
        await backend.set(ns, "short", 1, ttl=0.2)
        await backend.set(ns, "long", 2, ttl=60)
        await backend.set(ns, "forever", 3)
        before = sorted(e.key for e in await backend.list(ns))
        time.sleep(0.35)
        after = sorted(e.key for e in await backend.list(ns))
        gone = await backend.get(ns, "short")
        long = await backend.get(ns, "long")
        await backend.aclose()
        return before, after, gone, long

    before, after, gone, long = run(go())
    assert before == ["forever", "long", "short"]
    assert after == ["forever", "long"] and gone is None
    assert long is not None and long.expires_at is not None and long.expires_at > time.time()


def test_glob_characters_in_prefixes_are_literal(backend: MemoryBackend) -> None:
    async def go():
        ns = f"run:{uuid.uuid4().hex}"
        await backend.set(ns, "a*b", 1)
        await backend.set(ns, "axb", 2)
        await backend.set(ns, "a_c", 3)
        out = [e.key for e in await backend.list(ns, "a*")], [e.key for e in await backend.list(ns, "a_")]
        await backend.aclose()
        return out

    assert run(go()) == (["a*b"], ["a_c"])


def test_run_memory_binds_namespace_and_ttl() -> None:
    async def go():
        backend = SqlMemory(memory_engine())
        mine, theirs = RunMemory(backend, "r1", ttl=60), RunMemory(backend, "r2", ttl=60)
        await mine.set("k", "v", created_by="tests")
        return (
            await mine.get("k"),
            await theirs.get("k"),
            [e.expires_at is not None for e in await mine.list()],
        )

    assert run(go()) == ("v", None, [True])


def test_purge_removes_expired_sql_rows() -> None:
    async def go():
        backend = SqlMemory(memory_engine())
        await backend.set("ns", "old", 1, ttl=0.01)
        await backend.set("ns", "new", 2)
        time.sleep(0.05)
        return await backend.purge_expired()

    assert run(go()) == 1


def test_errors_are_memory_store_errors() -> None:
    with pytest.raises(MemoryStoreError, match="must be JSON"):
        run(SqlMemory(memory_engine()).set("ns", "k", object()))
    broken = SqlMemory(sa.create_engine("sqlite:////nonexistent-dir/x/memory.db"))
    with pytest.raises(MemoryStoreError, match=r"swarm memory \(SQL\) failed"):
        run(broken.get("ns", "k"))
    with pytest.raises(MemoryStoreError, match=r"swarm memory \(Redis\) failed"):
        run(RedisMemory("redis://127.0.0.1:9/0").get("ns", "k"))
    with pytest.raises(MemoryStoreError, match="no memory backend"):
        open_memory(None, None)
    assert isinstance(open_memory(REDIS_URL, None), RedisMemory)
