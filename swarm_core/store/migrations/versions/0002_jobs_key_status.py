"""An index on jobs (key, status): superseding and the one-job-per-key rule stay fast as jobs pile up.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the index unless it is there (0001 creates the newest tables, index included)."""
    names = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("jobs")}
    if "ix_jobs_key_status" not in names:
        op.create_index("ix_jobs_key_status", "jobs", ["key", "status"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_jobs_key_status", table_name="jobs")
