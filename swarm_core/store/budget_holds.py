"""Per-installation budget holds: what runs in flight may spend, reserved before they call a model.

An installation's budget (budget.py) is checked against what its stored runs spent. Runs
in flight are not stored yet, so two runs starting together would each see the whole
remainder and could spend it twice. Before its model work a run therefore reserves up to
its own cost cap out of what is left after the stored spend and the other runs' holds;
its cap is lowered to what it got, and the hold is released once the run is stored (its
evidence then counts instead).

Why a reservation and not an advisory lock held for the run: a lock would make an
installation's runs wait for each other for minutes; a hold is one short transaction.
The holds live in the `memory` table (namespace `budget-hold:<installation>`, one row per
job, with an expiry), so no migration is needed; a worker that dies keeps its hold until
it expires (`ttl_s`), which can only make the budget stricter for that long.

The transaction is serialised per installation: a Postgres advisory lock, and on SQLite
the write (clearing expired holds) that opens it takes the database's write lock.
"""

from __future__ import annotations

import json
import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from swarm_core.errors import StoreError
from swarm_core.store.database import first_line
from swarm_core.store.schema import evidence, memory_table

__all__ = ["BudgetHolds", "Hold"]

HOLD_TTL_S = 3600.0


class Hold:
    """What a reservation saw and got: the stored spend, the other runs' holds, and this run's hold."""

    __slots__ = ("granted", "held_by_others", "spent")

    def __init__(self, spent: float, held_by_others: float, granted: float) -> None:
        self.spent = spent
        self.held_by_others = held_by_others
        self.granted = granted


class BudgetHolds:
    """Holds on a SQLAlchemy engine (SQLite or Postgres) with the store's tables.

    Args:
        engine: the store's engine.
        ttl_s: how long a hold outlives a worker that never released it.
    """

    def __init__(self, engine: Engine, *, ttl_s: float = HOLD_TTL_S) -> None:
        self._engine = engine
        self._ttl = ttl_s
        self._pg = engine.dialect.name == "postgresql"

    def reserve(
        self, installation_id: int, holder: str, want_usd: float, limit_usd: float, since: float
    ) -> Hold:
        """Reserve up to `want_usd` of what the installation has left in its window.

        Args:
            installation_id: the App installation.
            holder: the job that holds it (a second reservation by the same job replaces it).
            want_usd: the run's own cost cap.
            limit_usd: the installation's budget.
            since: the start of the budget's window (epoch seconds).

        Raises:
            StoreError: the database cannot be read or written.
        """
        namespace = _namespace(installation_id)
        now = time.time()

        def work(conn: Connection) -> Hold:
            if self._pg:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": namespace})
            # The first statement writes: on SQLite it takes the write lock for the whole transaction.
            conn.execute(
                memory_table.delete().where(
                    memory_table.c.namespace == namespace,
                    sa.or_(memory_table.c.expires_at <= now, memory_table.c.key == holder),
                )
            )
            spent = float(
                conn.execute(
                    sa.select(sa.func.coalesce(sa.func.sum(evidence.c.cost_usd), 0.0)).where(
                        evidence.c.installation_id == installation_id, evidence.c.created_at >= since
                    )
                ).scalar_one()
            )
            others = conn.execute(
                sa.select(memory_table.c.value).where(memory_table.c.namespace == namespace)
            ).scalars()
            held = sum(float(json.loads(v)) for v in others)
            granted = max(0.0, min(want_usd, limit_usd - spent - held))
            if granted > 0:
                conn.execute(
                    memory_table.insert().values(
                        namespace=namespace,
                        key=holder,
                        value=json.dumps(granted),
                        created_by="budget",
                        created_at=now,
                        expires_at=now + self._ttl,
                    )
                )
            return Hold(spent, held, granted)

        try:
            with self._engine.begin() as conn:
                return work(conn)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot reserve the installation's budget: {first_line(exc)}") from exc

    def release(self, installation_id: int, holder: str) -> None:
        """Drop a job's hold (its run is stored, or it made no model call)."""
        query = memory_table.delete().where(
            memory_table.c.namespace == _namespace(installation_id), memory_table.c.key == holder
        )
        try:
            with self._engine.begin() as conn:
                conn.execute(query)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot release a budget hold: {first_line(exc)}") from exc


def _namespace(installation_id: int) -> str:
    return f"budget-hold:{installation_id}"
