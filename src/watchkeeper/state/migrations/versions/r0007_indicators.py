"""Threat indicators (Graph tiIndicator).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watchkeeper.state.db import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


_ADDRESSES = ("network_ipv4", "network_ipv6", "network_source_ipv4", "network_source_ipv6",
              "network_destination_ipv4", "network_destination_ipv6")  # fmt: skip
_LISTS = ("tags", "kill_chain", "activity_group_names", "malware_family_names", "details")


def upgrade() -> None:
    op.create_table(
        "ti_indicators",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("owner_app", sa.String(128), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("threat_type", sa.String(32), nullable=True),
        sa.Column("target_product", sa.String(32), nullable=False),
        sa.Column("tlp_level", sa.String(16), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(256), nullable=True),
        sa.Column("confidence", sa.Integer(), nullable=True),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("diamond_model", sa.String(16), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("passive_only", sa.Boolean(), nullable=False),
        sa.Column("expiration", UtcDateTime(), nullable=True),
        sa.Column("last_reported", UtcDateTime(), nullable=True),
        sa.Column("domain_name", sa.String(256), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        *(sa.Column(name, sa.String(64), nullable=True) for name in _ADDRESSES),
        sa.Column("file_hash_type", sa.String(32), nullable=True),
        sa.Column("file_hash_value", sa.String(256), nullable=True),
        sa.Column("email_sender_address", sa.String(256), nullable=True),
        *(sa.Column(name, sa.JSON(), nullable=False) for name in _LISTS),
        sa.Column("ingested_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_ti_indicators_owner", "ti_indicators", ["tenant_id", "owner_app"])
    op.create_index("ix_ti_indicators_external", "ti_indicators", ["tenant_id", "external_id"])


def downgrade() -> None:
    op.drop_table("ti_indicators")
