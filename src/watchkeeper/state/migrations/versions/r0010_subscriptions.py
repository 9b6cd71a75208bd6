"""Change-notification subscriptions and their delivery outbox.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watchkeeper.state.db import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False, index=True),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("creator_id", sa.String(64), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("collection", sa.String(32), nullable=False),
        sa.Column("filter", sa.Text(), nullable=True),
        sa.Column("change_types", sa.JSON(), nullable=False),
        sa.Column("notification_url", sa.Text(), nullable=False),
        sa.Column("lifecycle_notification_url", sa.Text(), nullable=True),
        sa.Column("client_state", sa.String(128), nullable=True),
        sa.Column("latest_supported_tls_version", sa.String(16), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=False, index=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "subscription_id",
            sa.String(36),
            sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False, index=True),
        sa.Column("change_type", sa.String(16), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("resource_data", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_notification_deliveries_due", "notification_deliveries", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notification_deliveries_due", table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_table("subscriptions")
