"""The learnings table: the team's feedback on findings, per repository and per installation.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from swarm_core.store import schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table (with its index) unless it is there."""
    bind = op.get_bind()
    if "learnings" not in set(sa.inspect(bind).get_table_names()):
        schema.learnings.create(bind)


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("learnings")
