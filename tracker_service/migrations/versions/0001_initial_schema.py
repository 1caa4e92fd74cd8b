"""Initial tracker schema: runs, registry, metrics (+ rollups), evaluations, weaknesses, alerts,
triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

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
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PRODUCTION_ONLY = sa.text("stage = 'production'")


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def _model_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["model_id"], ["tracker_model_versions.model_id"], name=f"fk_{table}_model_id"
    )


def upgrade() -> None:
    op.create_table(
        "tracker_runs",
        sa.Column("run_id", sa.String(200), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("rules_version", sa.String(100)),
        sa.Column("dataset_hash", sa.String(128)),
        sa.Column("git_revision", sa.String(100)),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_tracker_runs"),
    )
    op.create_table(
        "tracker_registry_heads",
        sa.Column("model_type", sa.String(64), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("model_type", name="pk_tracker_registry_heads"),
    )
    op.create_table(
        "tracker_ingest_batches",
        sa.Column("batch_id", sa.String(100), nullable=False),
        sa.Column("n_points", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name="pk_tracker_ingest_batches"),
    )
    op.create_table(
        "tracker_model_versions",
        _id(),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("model_type", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("parent_model_id", sa.String(200)),
        sa.Column("training_stage", sa.String(50)),
        sa.Column("run_id", sa.String(200)),
        sa.Column("dataset_hash", sa.String(128)),
        sa.Column("rules_version", sa.String(100)),
        sa.Column("git_revision", sa.String(100)),
        sa.Column("artifact_uri", sa.String(1000)),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("replaced_model_id", sa.String(200)),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("stage_changed_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["tracker_runs.run_id"], name="fk_tracker_model_versions_run_id"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_model_versions"),
        sa.UniqueConstraint("model_id", name="uq_tracker_model_versions_model_id"),
        sa.UniqueConstraint("model_type", "version", name="uq_tracker_model_versions_type_version"),
    )
    op.create_index(
        "ix_tracker_model_versions_model_type", "tracker_model_versions", ["model_type"]
    )
    op.create_index(
        "uq_tracker_model_versions_one_production",
        "tracker_model_versions",
        ["model_type"],
        unique=True,
        postgresql_where=PRODUCTION_ONLY,
        sqlite_where=PRODUCTION_ONLY,
    )
    op.create_table(
        "tracker_stage_transitions",
        _id(),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("model_type", sa.String(64), nullable=False),
        sa.Column("from_stage", sa.String(20)),
        sa.Column("to_stage", sa.String(20), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        _model_fk("tracker_stage_transitions"),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_stage_transitions"),
    )
    op.create_index(
        "ix_tracker_stage_transitions_model_id", "tracker_stage_transitions", ["model_id"]
    )
    op.create_index(
        "ix_tracker_stage_transitions_model_type", "tracker_stage_transitions", ["model_type"]
    )
    op.create_table(
        "tracker_evaluations",
        _id(),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("split", sa.String(20), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("feature_breakdown", sa.JSON(), nullable=False),
        sa.Column("n_scenarios", sa.Integer()),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        _model_fk("tracker_evaluations"),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_evaluations"),
    )
    op.create_index("ix_tracker_evaluations_model_id", "tracker_evaluations", ["model_id"])
    op.create_table(
        "tracker_metric_series",
        _id(),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(100), nullable=False),
        sa.Column("split", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["tracker_model_versions.id"],
            name="fk_tracker_metric_series_model_version_id",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_metric_series"),
        sa.UniqueConstraint("model_version_id", "metric", "split", name="uq_tracker_metric_series"),
    )
    op.create_table(
        "tracker_metric_points",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("ts_us", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.BigInteger()),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("run_id", sa.String(200)),
        sa.ForeignKeyConstraint(
            ["series_id"], ["tracker_metric_series.id"], name="fk_tracker_metric_points_series_id"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_metric_points"),
    )
    op.create_index(
        "ix_tracker_metric_points_series_ts", "tracker_metric_points", ["series_id", "ts_us"]
    )
    op.create_table(
        "tracker_metric_rollups",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("minute_us", sa.BigInteger(), nullable=False),
        sa.Column("n_points", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Double(), nullable=False),
        sa.Column("min_value", sa.Double(), nullable=False),
        sa.Column("max_value", sa.Double(), nullable=False),
        sa.Column("first_ts_us", sa.BigInteger(), nullable=False),
        sa.Column("last_ts_us", sa.BigInteger(), nullable=False),
        sa.Column("min_step", sa.BigInteger()),
        sa.Column("max_step", sa.BigInteger()),
        sa.ForeignKeyConstraint(
            ["series_id"], ["tracker_metric_series.id"], name="fk_tracker_metric_rollups_series_id"
        ),
        sa.PrimaryKeyConstraint("series_id", "minute_us", name="pk_tracker_metric_rollups"),
    )
    op.create_table(
        "tracker_weaknesses",
        _id(),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("model_type", sa.String(64), nullable=False),
        sa.Column("metric", sa.String(100), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("threshold", sa.Double(), nullable=False),
        sa.Column("bound", sa.String(3), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("detected_at", UTC_DATETIME, nullable=False),
        sa.Column("resolved_at", UTC_DATETIME),
        _model_fk("tracker_weaknesses"),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_weaknesses"),
    )
    op.create_index("ix_tracker_weaknesses_model_id", "tracker_weaknesses", ["model_id"])
    op.create_index("ix_tracker_weaknesses_model_type", "tracker_weaknesses", ["model_type"])
    op.create_table(
        "tracker_alerts",
        _id(),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("metric", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        _model_fk("tracker_alerts"),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_alerts"),
    )
    op.create_index("ix_tracker_alerts_model_id", "tracker_alerts", ["model_id"])
    op.create_table(
        "tracker_retrain_triggers",
        _id(),
        sa.Column("model_type", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("job_id", sa.String(200)),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        _model_fk("tracker_retrain_triggers"),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_retrain_triggers"),
    )
    op.create_index(
        "ix_tracker_retrain_triggers_model_id", "tracker_retrain_triggers", ["model_id"]
    )
    op.create_index(
        "ix_tracker_retrain_triggers_model_type", "tracker_retrain_triggers", ["model_type"]
    )


def downgrade() -> None:
    for table in (
        "tracker_retrain_triggers",
        "tracker_alerts",
        "tracker_weaknesses",
        "tracker_metric_rollups",
        "tracker_metric_points",
        "tracker_metric_series",
        "tracker_evaluations",
        "tracker_stage_transitions",
        "tracker_model_versions",
        "tracker_ingest_batches",
        "tracker_registry_heads",
        "tracker_runs",
    ):
        # Dropping a table drops its indexes with it on both backends.
        op.drop_table(table)
