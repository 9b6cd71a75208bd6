"""Delegated access: a managing tenant's user holds roles in a customer tenant
(``tenant_delegations``), and a console session has an active tenant (``active_tenant_id``; empty
means the user's own tenant).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watchkeeper.state.db import UtcDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_delegations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "managing_tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False, index=True
        ),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column(
            "customer_tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False, index=True
        ),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "customer_tenant_id"),
    )
    # no foreign key: SQLite cannot add one to an existing table; every request checks the value
    # against the delegations anyway
    op.add_column("console_sessions", sa.Column("active_tenant_id", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        batch.drop_column("active_tenant_id")
    op.drop_table("tenant_delegations")
