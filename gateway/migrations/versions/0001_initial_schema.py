"""Initial gateway schema: tenants, API keys, rule uploads, idempotency records.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Types are spelled out here rather than imported from ``orm`` so this revision keeps creating the
same schema when the ORM changes later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["gateway_tenants.id"], name=f"fk_{table}_tenant_id"
    )


def upgrade() -> None:
    op.create_table(
        "gateway_tenants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_tenants"),
        sa.UniqueConstraint("name", name="uq_gateway_tenants_name"),
    )
    op.create_table(
        "gateway_api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("key_hmac", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_api_keys"),
        sa.UniqueConstraint("key_id", name="uq_gateway_api_keys_key_id"),
        _tenant_fk("gateway_api_keys"),
    )
    op.create_index("ix_gateway_api_keys_tenant_id", "gateway_api_keys", ["tenant_id"])
    op.create_table(
        "gateway_rule_uploads",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("identity", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("base_identity", sa.String(64), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("contents", sa.JSON(), nullable=False),
        sa.Column("affected_model_types", sa.JSON(), nullable=False),
        sa.Column("retrain", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_rule_uploads"),
        sa.UniqueConstraint("tenant_id", "version", name="uq_gateway_rules_version"),
        _tenant_fk("gateway_rule_uploads"),
    )
    op.create_index("ix_gateway_rule_uploads_tenant_id", "gateway_rule_uploads", ["tenant_id"])
    op.create_table(
        "gateway_idempotency",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("route", sa.String(300), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_idempotency"),
        sa.UniqueConstraint("tenant_id", "key", name="uq_gateway_idempotency_key"),
        _tenant_fk("gateway_idempotency"),
    )
    op.create_index("ix_gateway_idempotency_tenant_id", "gateway_idempotency", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("gateway_idempotency")
    op.drop_table("gateway_rule_uploads")
    op.drop_table("gateway_api_keys")
    op.drop_table("gateway_tenants")
