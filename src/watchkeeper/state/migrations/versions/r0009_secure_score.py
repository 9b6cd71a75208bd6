"""Secure score: daily snapshots per tenant and control states.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watchkeeper.state.db import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secure_score_snapshots",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False, index=True),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("current_score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("control_scores", sa.JSON(), nullable=False),
        sa.Column("enabled_services", sa.JSON(), nullable=False),
        sa.Column("active_user_count", sa.Integer(), nullable=False),
        sa.Column("licensed_user_count", sa.Integer(), nullable=False),
        sa.Column("average_comparative_scores", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "day"),
    )
    op.create_table(
        "control_profile_states",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("control_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("assigned_to", sa.String(256), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(256), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index(
        "ix_control_profile_states_tenant_control", "control_profile_states", ["tenant_id", "control_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_control_profile_states_tenant_control", table_name="control_profile_states")
    op.drop_table("control_profile_states")
    op.drop_table("secure_score_snapshots")
