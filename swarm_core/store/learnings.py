"""The learnings table: capture once per source, curate per installation, list, forget, promote, count uses.

Every write that adds or changes learnings runs the curator (`swarm_core.learnings.curator`)
over the installation's learnings in the same transaction, so the caps, merges and
quarantines hold after each capture. On Postgres the transaction takes an advisory lock
per installation, so two workers capturing at once curate in turn.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from swarm_core.errors import LearningNotFound, StoreError
from swarm_core.learnings.curator import Curation, curate
from swarm_core.learnings.learning import ACTIVE, FORGOTTEN, STATUSES, Learning, LearningDraft, Scope
from swarm_core.models import Finding, Lane, Severity
from swarm_core.store.database import first_line
from swarm_core.store.schema import findings, learnings, runs

__all__ = ["LearningStore"]


def _learning(row: Any) -> Learning:
    return Learning(
        id=int(row.id),
        installation_id=None if row.installation_id is None else int(row.installation_id),
        repo=row.repo,
        text=row.text,
        scope=Scope(row.path, row.rule, row.lane),
        effect=row.effect,
        confidence=float(row.confidence),
        utility=int(row.utility),
        status=row.status,
        origin=row.origin,
        sources=tuple(json.loads(row.sources or "[]")),
        created_at=float(row.created_at),
        updated_at=float(row.updated_at),
        last_used=None if row.last_used is None else float(row.last_used),
    )


def _values(lr: Learning) -> dict[str, Any]:
    return {
        "installation_id": lr.installation_id,
        "repo": lr.repo,
        "text": lr.text,
        "path": lr.scope.path,
        "rule": lr.scope.rule,
        "lane": lr.scope.lane,
        "effect": lr.effect,
        "confidence": lr.confidence,
        "utility": lr.utility,
        "status": lr.status,
        "origin": lr.origin,
        "sources": json.dumps(list(lr.sources)),
        "created_at": lr.created_at,
        "updated_at": lr.updated_at,
        "last_used": lr.last_used,
    }


def _of_installation(installation_id: int | None) -> sa.ColumnElement[bool]:
    col = learnings.c.installation_id
    return col.is_(None) if installation_id is None else col == installation_id


class LearningStore:
    """Learnings on the store's engine (SQLite or Postgres). The constructor does no I/O.

    Args:
        engine: the store's engine (`SqlRunStore.engine`), migrated.
        clock: the current time in epoch seconds (tests pass a fixed one).
    """

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock
        self._pg = engine.dialect.name == "postgresql"

    def _write(
        self, installation_id: int | None, what: str, work: Callable[[Connection], Any], *, lock: bool = True
    ) -> Any:
        try:
            with self._engine.begin() as conn:
                if self._pg and lock:
                    key = f"learnings:{installation_id}"
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
                return work(conn)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot {what}: {first_line(exc)}") from exc

    def _read(self, query: sa.Select[Any], what: str) -> list[Learning]:
        try:
            with self._engine.connect() as conn:
                return [_learning(r) for r in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read learnings ({what}): {first_line(exc)}") from exc

    @staticmethod
    def _installation_rows(conn: Connection, installation_id: int | None) -> list[Learning]:
        query = sa.select(learnings).where(_of_installation(installation_id)).order_by(learnings.c.id)
        return [_learning(r) for r in conn.execute(query)]

    def _curate(self, conn: Connection, installation_id: int | None) -> Curation:
        result = curate(self._installation_rows(conn, installation_id), self._clock())
        for lr in result.changed:
            conn.execute(learnings.update().where(learnings.c.id == lr.id).values(**_values(lr)))
        if result.removed:
            conn.execute(learnings.delete().where(learnings.c.id.in_(result.removed)))
        return result

    def capture(self, installation_id: int | None, repo: str, draft: LearningDraft) -> tuple[Learning, bool]:
        """Store a draft for a repository (then curate); a source already captured is not captured again.

        Returns:
            The learning that holds the draft's source now (it may have merged into an older
            one, or been quarantined), and whether the draft was new.

        Raises:
            StoreError: the database cannot be written.
        """

        def work(conn: Connection) -> tuple[Learning, bool]:
            if draft.source:
                for lr in self._installation_rows(conn, installation_id):
                    if draft.source in lr.sources:
                        return lr, False
            now = self._clock()
            new = Learning(
                id=0,
                installation_id=installation_id,
                repo=repo,
                text=draft.text,
                scope=draft.scope,
                effect=draft.effect,
                confidence=draft.confidence,
                utility=0,
                status=ACTIVE,
                origin=draft.origin,
                sources=(draft.source,) if draft.source else (),
                created_at=now,
                updated_at=now,
            )
            inserted = conn.execute(learnings.insert().values(**_values(new))).inserted_primary_key
            row_id = int(inserted[0]) if inserted is not None else 0
            self._curate(conn, installation_id)
            rows = self._installation_rows(conn, installation_id)
            held = next((lr for lr in rows if lr.id == row_id), None)
            if held is None and draft.source:  # merged into an older learning
                held = next((lr for lr in rows if draft.source in lr.sources), None)
            if held is None:  # merged with no source to follow: the same text and scope
                same = (lr for lr in rows if lr.key == new.key and lr.repo in (repo, ""))
                held = next(same, replace(new, id=row_id))
            return held, True

        result: tuple[Learning, bool] = self._write(installation_id, "store a learning", work)
        return result

    def curate(self, installation_id: int | None) -> Curation:
        """Run the curator over an installation's learnings now (a review does, so age-based
        promotion happens even when nothing new is captured).

        Raises:
            StoreError: the database cannot be written.
        """
        result: Curation = self._write(
            installation_id, "curate learnings", lambda conn: self._curate(conn, installation_id)
        )
        return result

    def list_learnings(
        self, *, installation_id: int | None = None, repo: str | None = None, status: str | None = None
    ) -> list[Learning]:
        """Learnings, newest first; each filter given narrows the list (None: no filter).

        Raises:
            ValueError: an unknown status.
            StoreError: the database cannot be read.
        """
        query = sa.select(learnings).order_by(learnings.c.id.desc())
        if installation_id is not None:
            query = query.where(learnings.c.installation_id == installation_id)
        if repo is not None:
            query = query.where(learnings.c.repo == repo)
        if status is not None:
            if status not in STATUSES:
                raise ValueError(f"unknown status {status!r}; choose one of {', '.join(STATUSES)}")
            query = query.where(learnings.c.status == status)
        return self._read(query, "list")

    def applicable(self, installation_id: int | None, repo: str) -> list[Learning]:
        """The active learnings a review of `repo` uses: the repository's own and the installation tier's."""
        query = (
            sa.select(learnings)
            .where(
                _of_installation(installation_id),
                learnings.c.status == ACTIVE,
                learnings.c.repo.in_((repo, "")),
            )
            .order_by(learnings.c.id)
        )
        return self._read(query, "for a review")

    def get(self, learning_id: int) -> Learning:
        """One learning by id.

        Raises:
            LearningNotFound: no learning has that id.
            StoreError: the database cannot be read.
        """
        found = self._read(sa.select(learnings).where(learnings.c.id == learning_id), "by id")
        if not found:
            raise LearningNotFound(f"no learning #{learning_id}; list them with `swarm learnings list`")
        return found[0]

    def _change(self, learning_id: int, what: str, values: dict[str, Any]) -> Learning:
        current = self.get(learning_id)

        def work(conn: Connection) -> None:
            conn.execute(
                learnings.update()
                .where(learnings.c.id == learning_id)
                .values(**values, updated_at=self._clock())
            )
            self._curate(conn, current.installation_id)

        self._write(current.installation_id, what, work)
        try:
            return self.get(learning_id)
        except LearningNotFound:  # merged into an installation-tier copy by the curator
            same = self.list_learnings(installation_id=current.installation_id)
            merged = next((lr for lr in same if lr.key == current.key), None)
            if merged is None:
                raise
            return merged

    def forget(self, learning_id: int) -> Learning:
        """Stop using a learning; it is kept (forgotten) so the same feedback is not captured again.

        Raises:
            LearningNotFound: no learning has that id.
        """
        return self._change(learning_id, "forget a learning", {"status": FORGOTTEN})

    def promote(self, learning_id: int) -> Learning:
        """Move a learning to its installation's tier (every repository of the installation uses it).

        Raises:
            LearningNotFound: no learning has that id.
        """
        return self._change(learning_id, "promote a learning", {"repo": "", "status": ACTIVE})

    def finding(self, fingerprint: str) -> Finding | None:
        """The newest stored finding with a fingerprint (what a review comment's marker names), or None.

        Raises:
            StoreError: the database cannot be read.
        """
        query = (
            sa.select(findings)
            .join(runs, runs.c.id == findings.c.run_id)
            .where(findings.c.fingerprint == fingerprint)
            .order_by(runs.c.created_at.desc())
            .limit(1)
        )
        try:
            with self._engine.connect() as conn:
                row = conn.execute(query).first()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read findings: {first_line(exc)}") from exc
        if row is None:
            return None
        return Finding(
            path=row.path,
            line=row.line,
            severity=Severity(row.severity),
            lane=Lane(row.lane),
            category="",
            rule=row.rule,
            title=row.title,
            fingerprint=row.fingerprint,
        )

    def record_use(self, learning_ids: Iterable[int]) -> None:
        """Count one use of each learning (it suppressed or downgraded a finding) and when."""
        counts: dict[int, int] = {}
        for i in learning_ids:
            counts[i] = counts.get(i, 0) + 1
        if not counts:
            return
        now = self._clock()

        def work(conn: Connection) -> None:
            for learning_id, n in counts.items():
                conn.execute(
                    learnings.update()
                    .where(learnings.c.id == learning_id)
                    .values(utility=learnings.c.utility + n, last_used=now)
                )

        self._write(None, "count learning uses", work, lock=False)  # no curation: no lock
