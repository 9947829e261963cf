"""OSV's answers kept per (ecosystem, package, version) in the run store, SQLite or Postgres.

A row holds the records OSV returned for one package version (an empty list when none
affect it) and when they were fetched; `get` ignores rows older than the caller's TTL and
`put` replaces them. Two workers storing the same version at once is harmless: the
second insert loses to the first, and both answers are the same.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from swarm_core.analyzers.advisories import Package
from swarm_core.analyzers.osv import Records
from swarm_core.errors import StoreError
from swarm_core.store.database import first_line
from swarm_core.store.schema import advisories

__all__ = ["SqlAdvisoryCache"]


class SqlAdvisoryCache:
    """The advisory cache on the store's engine (satisfies `swarm_core.analyzers.AdvisoryCache`).

    Args:
        engine: the run store's engine (migrated to the newest schema).
        clock: the time in epoch seconds (tests pass a fixed one).
    """

    def __init__(self, engine: Engine, *, clock: Any = time.time) -> None:
        self._engine = engine
        self._clock = clock

    def get(self, packages: Sequence[Package], *, max_age_s: float) -> Records:
        """Stored answers no older than `max_age_s`.

        Raises:
            StoreError: the database cannot be read.
        """
        wanted = set(packages)
        if not wanted:
            return {}
        since = self._clock() - max_age_s
        out: Records = {}
        try:
            with self._engine.connect() as conn:
                for ecosystem in sorted({p.ecosystem for p in wanted}):
                    names = sorted({p.name for p in wanted if p.ecosystem == ecosystem})
                    rows = conn.execute(
                        sa.select(advisories.c.name, advisories.c.version, advisories.c.records).where(
                            advisories.c.ecosystem == ecosystem,
                            advisories.c.name.in_(names),
                            advisories.c.fetched_at >= since,
                        )
                    )
                    for name, version, records in rows:
                        pkg = Package(ecosystem, name, version)
                        if pkg in wanted:
                            out[pkg] = json.loads(records)
        except (SQLAlchemyError, ValueError) as exc:
            raise StoreError(f"cannot read the advisory cache: {first_line(exc)}") from exc
        return out

    def put(self, records: Mapping[Package, list[dict[str, Any]]]) -> None:
        """Store these answers, stamped now, replacing older ones (one transaction).

        Raises:
            StoreError: the database cannot be written.
        """
        now = self._clock()
        rows = [
            {"ecosystem": p.ecosystem, "name": p.name, "version": p.version, "records": json.dumps(found)}
            for p, found in records.items()
        ]
        try:
            try:
                self._write(rows, now)
            except IntegrityError:
                # Another worker stored some of these meanwhile: store the rest one by one.
                for row in rows:
                    with contextlib.suppress(IntegrityError):
                        self._write([row], now)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write the advisory cache: {first_line(exc)}") from exc

    def _write(self, rows: list[dict[str, str]], now: float) -> None:
        if not rows:
            return
        with self._engine.begin() as conn:
            stale = self._stored(conn, {(r["ecosystem"], r["name"], r["version"]) for r in rows})
            for row in (r for r in rows if (r["ecosystem"], r["name"], r["version"]) in stale):
                conn.execute(
                    sa.delete(advisories).where(
                        (advisories.c.ecosystem == row["ecosystem"])
                        & (advisories.c.name == row["name"])
                        & (advisories.c.version == row["version"])
                    )
                )
            conn.execute(sa.insert(advisories), [{**row, "fetched_at": now} for row in rows])

    @staticmethod
    def _stored(conn: Connection, keys: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        """Which of these (ecosystem, name, version) keys have a row already."""
        found: set[tuple[str, str, str]] = set()
        for ecosystem in sorted({k[0] for k in keys}):
            names = sorted({k[1] for k in keys if k[0] == ecosystem})
            query = sa.select(advisories.c.name, advisories.c.version).where(
                advisories.c.ecosystem == ecosystem, advisories.c.name.in_(names)
            )
            found.update((ecosystem, n, v) for n, v in conn.execute(query) if (ecosystem, n, v) in keys)
        return found
