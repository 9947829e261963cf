"""Every table swarm keeps (one metadata): runs, findings, evidence, memory, deliveries, jobs, advisories,
learnings.

The database is created and upgraded by the alembic migrations in
swarm_core/store/migrations; `metadata` describes the newest revision.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "advisories",
    "deliveries",
    "evidence",
    "findings",
    "jobs",
    "learnings",
    "memory_table",
    "metadata",
    "runs",
]

metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("base", sa.String(64)),
    sa.Column("head", sa.String(64)),
    sa.Column("verdict", sa.String(32), nullable=False),
    sa.Column("findings", sa.Integer, nullable=False),
    sa.Column("counts", sa.Text, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("review", sa.Text, nullable=False),
)

findings = sa.Table(
    "findings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id",
        sa.String(32),
        sa.ForeignKey("runs.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("fingerprint", sa.String(40), nullable=False, index=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("line", sa.Integer),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("lane", sa.String(32), nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
)


evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id",
        sa.String(32),
        sa.ForeignKey("runs.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
    sa.Column("repo", sa.Text, nullable=False, default=""),
    # The App installation whose work made the call (None outside the App): budgets sum it.
    sa.Column("installation_id", sa.BigInteger),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("lane", sa.String(64), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("prompt_hash", sa.String(32), nullable=False),
    sa.Column("calls", sa.Integer, nullable=False),
    sa.Column("input_tokens", sa.Integer, nullable=False),
    sa.Column("output_tokens", sa.Integer, nullable=False),
    sa.Column("cached_tokens", sa.Integer, nullable=False),
    sa.Column("cost_usd", sa.Float, nullable=False),
    sa.Column("estimated", sa.Boolean, nullable=False),
    sa.Column("latency_s", sa.Float, nullable=False),
    sa.Column("outcome", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("request", sa.Text, nullable=False),
    sa.Column("response", sa.Text, nullable=False),
    sa.Index("ix_evidence_installation_created", "installation_id", "created_at"),
)

memory_table = sa.Table(
    "memory",
    metadata,
    sa.Column("namespace", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False, default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, index=True),
)


deliveries = sa.Table(
    "deliveries",
    metadata,
    # GitHub shares a delivery GUID between every hook subscribed to the event (RULES 3).
    sa.Column("hook_id", sa.String(32), primary_key=True),
    sa.Column("guid", sa.String(64), primary_key=True),
    sa.Column("received_at", sa.Float, nullable=False, index=True),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("installation_id", sa.BigInteger),
    sa.Column("repo", sa.String(256), nullable=False),
    sa.Column("outcome", sa.String(64), nullable=False),
    sa.Column("job_id", sa.String(32)),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    # Jobs with one key (a pull request) run one at a time; a newer one supersedes queued ones.
    sa.Column("key", sa.String(300), nullable=False, index=True),
    sa.Column("installation_id", sa.BigInteger),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("run_after", sa.Float, nullable=False),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_expires", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("error", sa.Text, nullable=False, default=""),
    sa.Column("result", sa.Text, nullable=False, default=""),
    sa.Index("ix_jobs_claim", "status", "run_after"),
    # Supersede and the one-per-key rule look up queued or running jobs of one key.
    sa.Index("ix_jobs_key_status", "key", "status"),
)

# OSV's answer per package version: the records (a JSON list) and when they were fetched.
advisories = sa.Table(
    "advisories",
    metadata,
    sa.Column("ecosystem", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(300), primary_key=True),
    sa.Column("version", sa.String(200), primary_key=True),
    sa.Column("records", sa.Text, nullable=False),
    sa.Column("fetched_at", sa.Float, nullable=False, index=True),
)

learnings = sa.Table(
    "learnings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # None outside the App (the CLI's own store); the curator works per installation.
    sa.Column("installation_id", sa.BigInteger),
    # "" on the installation tier.
    sa.Column("repo", sa.String(256), nullable=False, default=""),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("path", sa.String(512), nullable=False, default=""),
    sa.Column("rule", sa.String(200), nullable=False, default=""),
    sa.Column("lane", sa.String(32), nullable=False, default=""),
    sa.Column("effect", sa.String(16), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("utility", sa.Integer, nullable=False, default=0),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("sources", sa.Text, nullable=False, default="[]"),  # JSON list of URLs
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("last_used", sa.Float),
    sa.Index("ix_learnings_installation_repo", "installation_id", "repo"),
)
