"""Initial schema: runs, findings, evidence, memory, deliveries, jobs.

Databases made by swarm 0.1 (tables created without alembic) are adopted: a table that
already exists is left as it is.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from swarm_core.store import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ORDER = ("runs", "findings", "evidence", "memory", "deliveries", "jobs")


def upgrade() -> None:
    """Create every table that does not exist yet."""
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for name in _ORDER:
        if name not in existing:
            schema.metadata.tables[name].create(bind)


def downgrade() -> None:
    """Drop everything (children first)."""
    for name in reversed(_ORDER):
        op.drop_table(name)
