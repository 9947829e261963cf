"""Evidence rows carry the App installation, so a per-installation budget can sum its spend.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column and its index unless they are there (0001 creates the newest tables)."""
    inspector = sa.inspect(op.get_bind())
    if "installation_id" not in {c["name"] for c in inspector.get_columns("evidence")}:
        op.add_column("evidence", sa.Column("installation_id", sa.BigInteger, nullable=True))
    if "ix_evidence_installation_created" not in {ix["name"] for ix in inspector.get_indexes("evidence")}:
        op.create_index("ix_evidence_installation_created", "evidence", ["installation_id", "created_at"])


def downgrade() -> None:
    """Drop the index and the column."""
    op.drop_index("ix_evidence_installation_created", table_name="evidence")
    op.drop_column("evidence", "installation_id")
