"""Alert comments (Graph's ``security.alert`` ``comments``), and an incident's Graph
determination beside its classification (Graph's ``security.incident`` ``determination``).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watchkeeper.state.db import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_comments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("alert_id", sa.String(36), sa.ForeignKey("alerts.id"), nullable=False, index=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.add_column("incidents", sa.Column("determination", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("incidents", "determination")
    op.drop_table("alert_comments")
