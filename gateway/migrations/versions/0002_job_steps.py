"""The job-step ledger: lease, heartbeat and attempts per (job, step).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gateway_job_steps",
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("heartbeat_at", UTC_DATETIME, nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("job_id", "step", name="pk_gateway_job_steps"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["gateway_tenants.id"], name="fk_gateway_job_steps_tenant_id"
        ),
    )
    op.create_index("ix_gateway_job_steps_tenant_id", "gateway_job_steps", ["tenant_id"])
    op.create_index("ix_gateway_job_steps_status", "gateway_job_steps", ["status"])


def downgrade() -> None:
    op.drop_table("gateway_job_steps")
