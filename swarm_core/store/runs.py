"""Runs and findings tables (SQLAlchemy Core), and the RunStore interface the faces use."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from swarm_core.errors import RunNotFound, StoreError
from swarm_core.models import Exchange, Review, Usage
from swarm_core.render.json import review_from_dict, review_to_dict
from swarm_core.store.database import first_line, normalize_url, open_engine
from swarm_core.store.schema import evidence, findings, runs

__all__ = [
    "COST_GROUPS",
    "DOCUMENT_KINDS",
    "RunStore",
    "RunSummary",
    "SqlRunStore",
    "StoredRun",
    "open_store",
]


COST_GROUPS = ("run", "repo", "lane", "model", "kind")
# Runs stored with save_document.
DOCUMENT_KINDS = frozenset({"exec", "council", "issue", "eval", "ask", "describe"})


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One line of `swarm runs list`."""

    id: str
    created_at: float
    kind: str
    source: str
    verdict: str
    findings: int
    counts: dict[str, int]
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "id": self.id,
            "created_at": self.created_at,
            "kind": self.kind,
            "source": self.source,
            "verdict": self.verdict,
            "findings": self.findings,
            "counts": self.counts,
            "duration_s": self.duration_s,
        }


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A stored run: a review run has its whole `review`; other runs (an agents task,
    kind "exec") have `review` None and their stored JSON in `document`."""

    summary: RunSummary
    review: Review | None
    document: dict[str, Any]


class RunStore(Protocol):
    """Where runs are kept. Implementations: SqlRunStore (SQLite default, Postgres by URL)."""

    def save_review(self, review: Review, kind: str = "pr-review", installation_id: int | None = None) -> str:
        """Store a review; return its new run id."""
        ...

    def save_document(
        self,
        kind: str,
        *,
        source: str,
        status: str,
        duration_s: float,
        document: dict[str, Any],
        exchanges: Sequence[Exchange],
        counts: dict[str, int],
        repo: str = "",
        installation_id: int | None = None,
    ) -> str:
        """Store a run that is not a review (its JSON and model evidence); return its id."""
        ...

    def list_runs(self, limit: int = 20) -> list[RunSummary]:
        """The newest runs first."""
        ...

    def delete_run(self, run_id: str) -> None:
        """Forget a run (exact id) with its findings and evidence; no run is no error."""
        ...

    def get_evidence(self, run_id: str) -> list[Exchange]:
        """A run's model exchanges in call order (texts were redacted before storage)."""
        ...

    def cost_summary(self, by: str = "lane", limit_runs: int | None = None) -> list[dict[str, Any]]:
        """Calls, tokens and cost grouped by run, repo, lane, model or kind."""
        ...

    def spent_by_installation(self, installation_id: int, since: float) -> float:
        """USD spent on model calls since `since` for the repositories of one App installation."""
        ...

    def get_run(self, run_id: str) -> StoredRun:
        """A run by id or unique id prefix; raises RunNotFound."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class SqlRunStore:
    """RunStore over SQLAlchemy Core. The constructor does no I/O; `create` does."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (swarm memory shares the database)."""
        return self._engine

    @classmethod
    def create(cls, url: str) -> SqlRunStore:
        """Open (and create if needed) a store at a SQLAlchemy URL.

        Raises:
            StoreError: the database cannot be opened or its tables created.
        """
        return cls(open_engine(url))

    def save_review(self, review: Review, kind: str = "pr-review", installation_id: int | None = None) -> str:
        """Store a review and its findings in one transaction; return the run id.

        `installation_id` (the App's) is kept on the evidence, so the run counts against
        that installation's budget.
        """
        run_id = review.run_id or uuid.uuid4().hex[:12]
        stored = review.with_run_id(run_id)
        data = review_to_dict(stored)
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    runs.insert().values(
                        id=run_id,
                        created_at=time.time(),
                        kind=kind,
                        source=review.source,
                        base=review.base,
                        head=review.head,
                        verdict=review.verdict.value,
                        findings=len(review.findings),
                        counts=json.dumps(review.counts()),
                        duration_s=float(review.timings.get("total_s", 0.0)),
                        review=json.dumps(data, ensure_ascii=False),
                    )
                )
                _insert_evidence(conn, run_id, review.repo, review.exchanges, installation_id)
                if review.findings:
                    conn.execute(
                        findings.insert(),
                        [
                            {
                                "run_id": run_id,
                                "fingerprint": f.fingerprint,
                                "path": f.path,
                                "line": f.line,
                                "severity": f.severity.value,
                                "lane": f.lane.value,
                                "rule": f.rule,
                                "title": f.title,
                            }
                            for f in review.findings
                        ],
                    )
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot save the run: {first_line(exc)}") from exc
        return run_id

    def save_document(
        self,
        kind: str,
        *,
        source: str,
        status: str,
        duration_s: float,
        document: dict[str, Any],
        exchanges: Sequence[Exchange],
        counts: dict[str, int],
        repo: str = "",
        installation_id: int | None = None,
    ) -> str:
        """Store a run that is not a review (an agents task, a council, an issue analysis).

        `status` goes where a review keeps its verdict, so `swarm runs list` shows it, and
        the evidence rows make the run's cost count in `swarm runs cost`.
        """
        run_id = str(document.get("run_id") or "") or uuid.uuid4().hex[:12]
        stored = {**document, "run_id": run_id}
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    runs.insert().values(
                        id=run_id,
                        created_at=time.time(),
                        kind=kind,
                        source=source,
                        base=None,
                        head=None,
                        verdict=status,
                        findings=0,
                        counts=json.dumps(counts),
                        duration_s=duration_s,
                        review=json.dumps(stored, ensure_ascii=False),
                    )
                )
                _insert_evidence(conn, run_id, repo, exchanges, installation_id)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot save the run: {first_line(exc)}") from exc
        return run_id

    def delete_run(self, run_id: str) -> None:
        """Forget a run (exact id) with its findings and evidence; no run is no error."""
        try:
            with self._engine.begin() as conn:
                for table in (evidence, findings):
                    conn.execute(table.delete().where(table.c.run_id == run_id))
                conn.execute(runs.delete().where(runs.c.id == run_id))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot delete run {run_id}: {first_line(exc)}") from exc

    def list_runs(self, limit: int = 20) -> list[RunSummary]:
        """The newest runs first."""
        query = sa.select(runs).order_by(runs.c.created_at.desc()).limit(limit)
        try:
            with self._engine.connect() as conn:
                return [self._summary(row) for row in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read runs: {first_line(exc)}") from exc

    def spent_by_installation(self, installation_id: int, since: float) -> float:
        """USD spent on model calls since `since` (epoch seconds) by one App installation's runs."""
        query = sa.select(sa.func.coalesce(sa.func.sum(evidence.c.cost_usd), 0.0)).where(
            evidence.c.installation_id == installation_id, evidence.c.created_at >= since
        )
        try:
            with self._engine.connect() as conn:
                return float(conn.execute(query).scalar_one())
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read costs: {first_line(exc)}") from exc

    def get_run(self, run_id: str) -> StoredRun:
        """A run by id or by a prefix that names exactly one run."""
        run_id = run_id.strip()
        if not run_id:
            raise RunNotFound("no run id given; list runs with `swarm runs list`")
        query = sa.select(runs).where(runs.c.id.startswith(run_id, autoescape=True)).limit(2)
        try:
            with self._engine.connect() as conn:
                rows = list(conn.execute(query))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read runs: {first_line(exc)}") from exc
        if not rows:
            raise RunNotFound(f"no run {run_id!r}; list runs with `swarm runs list`")
        if len(rows) > 1:
            raise RunNotFound(f"run id prefix {run_id!r} is ambiguous; give more characters")
        row = rows[0]
        document = json.loads(row.review)
        review = review_from_dict(document) if row.kind not in DOCUMENT_KINDS else None
        return StoredRun(self._summary(row), review, document)

    def get_evidence(self, run_id: str) -> list[Exchange]:
        """A run's model exchanges in call order; `run_id` may be a unique prefix."""
        full = self.get_run(run_id).summary.id
        query = sa.select(evidence).where(evidence.c.run_id == full).order_by(evidence.c.seq)
        try:
            with self._engine.connect() as conn:
                rows = list(conn.execute(query))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read evidence: {first_line(exc)}") from exc
        return [
            Exchange(
                kind=r.kind,
                lane=r.lane,
                model=r.model,
                prompt_hash=r.prompt_hash,
                usage=Usage(
                    r.calls, r.input_tokens, r.output_tokens, r.cached_tokens, r.cost_usd, bool(r.estimated)
                ),
                latency_s=r.latency_s,
                outcome=r.outcome,
                request=r.request,
                response=r.response,
                reason=r.reason,
            )
            for r in rows
        ]

    def cost_summary(self, by: str = "lane", limit_runs: int | None = None) -> list[dict[str, Any]]:
        """Calls, tokens and cost of model exchanges grouped by run, repo, lane, model or kind.

        Args:
            by: one of COST_GROUPS.
            limit_runs: only the newest N runs.

        Raises:
            ValueError: an unknown grouping.
        """
        if by not in COST_GROUPS:
            raise ValueError(f"group by one of {', '.join(COST_GROUPS)}")
        col = evidence.c.run_id if by == "run" else evidence.c[by]
        query = (
            sa.select(
                col.label("key"),
                sa.func.count(sa.distinct(evidence.c.run_id)).label("runs"),
                sa.func.sum(evidence.c.calls).label("calls"),
                sa.func.sum(evidence.c.input_tokens).label("input_tokens"),
                sa.func.sum(evidence.c.output_tokens).label("output_tokens"),
                sa.func.sum(evidence.c.cached_tokens).label("cached_tokens"),
                sa.func.sum(evidence.c.cost_usd).label("cost_usd"),
            )
            .where(evidence.c.calls > 0)
            .group_by(col)
            .order_by(sa.func.sum(evidence.c.cost_usd).desc(), col)
        )
        if limit_runs is not None:
            newest = sa.select(runs.c.id).order_by(runs.c.created_at.desc()).limit(limit_runs)
            query = query.where(evidence.c.run_id.in_(newest.scalar_subquery()))
        try:
            with self._engine.connect() as conn:
                rows = list(conn.execute(query))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read costs: {first_line(exc)}") from exc
        return [
            {
                by: r.key or "(none)",
                "runs": int(r.runs),
                "calls": int(r.calls or 0),
                "input_tokens": int(r.input_tokens or 0),
                "output_tokens": int(r.output_tokens or 0),
                "cached_tokens": int(r.cached_tokens or 0),
                "cost_usd": round(float(r.cost_usd or 0.0), 6),
            }
            for r in rows
        ]

    def close(self) -> None:
        """Dispose of the connection pool."""
        self._engine.dispose()

    @staticmethod
    def _summary(row: Any) -> RunSummary:
        return RunSummary(
            id=row.id,
            created_at=row.created_at,
            kind=row.kind,
            source=row.source,
            verdict=row.verdict,
            findings=row.findings,
            counts=json.loads(row.counts),
            duration_s=row.duration_s,
        )


def _insert_evidence(
    conn: sa.Connection,
    run_id: str,
    repo: str,
    exchanges: Sequence[Exchange],
    installation_id: int | None = None,
) -> None:
    if not exchanges:
        return
    now = time.time()
    conn.execute(
        evidence.insert(),
        [
            {
                "run_id": run_id,
                "seq": n,
                "created_at": now,
                "repo": repo,
                "installation_id": installation_id,
                "kind": ex.kind,
                "lane": ex.lane,
                "model": ex.model,
                "prompt_hash": ex.prompt_hash,
                "calls": ex.usage.calls,
                "input_tokens": ex.usage.input_tokens,
                "output_tokens": ex.usage.output_tokens,
                "cached_tokens": ex.usage.cached_tokens,
                "cost_usd": ex.usage.cost_usd,
                "estimated": ex.usage.estimated,
                "latency_s": ex.latency_s,
                "outcome": ex.outcome,
                "reason": ex.reason,
                "request": ex.request,
                "response": ex.response,
            }
            for n, ex in enumerate(exchanges)
        ],
    )


def open_store(url: str) -> SqlRunStore:
    """Open the run store at a SQLAlchemy URL (see SqlRunStore.create)."""
    return SqlRunStore.create(normalize_url(url))
