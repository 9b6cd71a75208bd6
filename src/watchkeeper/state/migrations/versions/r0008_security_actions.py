"""Security actions and the built-in provider's blocklist.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watchkeeper.state.db import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_actions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("action_reason", sa.Text(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("client_context", sa.String(256), nullable=True),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("user", sa.String(256), nullable=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("provider_ref", sa.String(256), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_info", sa.JSON(), nullable=True),
        sa.Column("states", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_action_at", UtcDateTime(), nullable=False),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("cancelled_at", UtcDateTime(), nullable=True),
    )
    op.create_table(
        "blocklist_entries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False, index=True),
        sa.Column("address", sa.String(64), nullable=False, index=True),
        sa.Column(
            "action_id", sa.String(36), sa.ForeignKey("security_actions.id"), nullable=False, index=True
        ),
        sa.Column("indicator_id", sa.String(64), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("lifted_by", sa.String(36), nullable=True),
        sa.Column("cancelled_at", UtcDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("blocklist_entries")
    op.drop_table("security_actions")
