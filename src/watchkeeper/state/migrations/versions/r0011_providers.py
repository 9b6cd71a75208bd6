"""Alert providers: their configuration, checkpoints, and the alerts they brought.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watchkeeper.state.db import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_providers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False, index=True),
        sa.Column("workspace_id", sa.String(36), sa.ForeignKey("workspaces.id"), nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_table(
        "provider_checkpoints",
        sa.Column("provider_id", sa.String(36), sa.ForeignKey("alert_providers.id"), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "provider_alerts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "provider_id", sa.String(36), sa.ForeignKey("alert_providers.id"), nullable=False, index=True
        ),
        sa.Column("provider_alert_id", sa.String(256), nullable=False),
        sa.Column("alert_id", sa.String(36), sa.ForeignKey("alerts.id"), nullable=False, index=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("provider_id", "provider_alert_id"),
    )


def downgrade() -> None:
    for table in ("provider_alerts", "provider_checkpoints", "alert_providers"):
        op.drop_table(table)
