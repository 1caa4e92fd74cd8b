"""Tables of the tracker (SQLAlchemy 2 ORM). The migrations in ``migrations/`` create exactly these.

Every table is prefixed ``tracker_`` so the services can share one PostgreSQL database.

Metric points are stored against a ``metric_series`` row (model version, metric, split), so the
hot table holds only integers and one double per point. Count windows read it through the
``(series_id, ts_us)`` index; long time ranges read the per-minute ``metric_rollups`` instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from srlforge.db import UTCDateTime, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias), not BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# Alembic's revision table for this service (the default name would clash with other services').
VERSION_TABLE = "tracker_alembic_version"

# Named constraints so migrations and autogenerate comparisons agree on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Run(Base):
    """A training/generation job and the exact inputs it ran with."""

    __tablename__ = "tracker_runs"

    run_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rules_version: Mapped[str | None] = mapped_column(String(100))
    dataset_hash: Mapped[str | None] = mapped_column(String(128))
    git_revision: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegistryHead(Base):
    """One row per model type: the row registry changes lock, and the version counter."""

    __tablename__ = "tracker_registry_heads"

    model_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelVersionRow(Base):
    __tablename__ = "tracker_model_versions"
    __table_args__ = (
        UniqueConstraint("model_type", "version", name="uq_tracker_model_versions_type_version"),
        # The database itself guarantees one production version per type, whatever the code does.
        Index(
            "uq_tracker_model_versions_one_production",
            "model_type",
            unique=True,
            postgresql_where=text("stage = 'production'"),
            sqlite_where=text("stage = 'production'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(String(200), unique=True)
    model_type: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(20))
    parent_model_id: Mapped[str | None] = mapped_column(String(200))
    training_stage: Mapped[str | None] = mapped_column(String(50))
    run_id: Mapped[str | None] = mapped_column(ForeignKey("tracker_runs.run_id"))
    dataset_hash: Mapped[str | None] = mapped_column(String(128))
    rules_version: Mapped[str | None] = mapped_column(String(100))
    git_revision: Mapped[str | None] = mapped_column(String(100))
    artifact_uri: Mapped[str | None] = mapped_column(String(1000))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    replaced_model_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stage_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StageTransitionRow(Base):
    """Audit trail: every registry transition, in order."""

    __tablename__ = "tracker_stage_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("tracker_model_versions.model_id"), index=True)
    model_type: Mapped[str] = mapped_column(String(64), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvaluationRow(Base):
    __tablename__ = "tracker_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("tracker_model_versions.model_id"), index=True)
    split: Mapped[str] = mapped_column(String(20))
    metrics: Mapped[dict[str, float]] = mapped_column(JSON)
    feature_breakdown: Mapped[dict[str, dict[str, float]]] = mapped_column(JSON, default=dict)
    n_scenarios: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetricSeriesRow(Base):
    __tablename__ = "tracker_metric_series"
    __table_args__ = (
        UniqueConstraint("model_version_id", "metric", "split", name="uq_tracker_metric_series"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("tracker_model_versions.id"))
    metric: Mapped[str] = mapped_column(String(100))
    split: Mapped[str] = mapped_column(String(20))


class MetricPointRow(Base):
    __tablename__ = "tracker_metric_points"
    __table_args__ = (Index("ix_tracker_metric_points_series_ts", "series_id", "ts_us"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("tracker_metric_series.id"))
    # Microseconds since the epoch: exact, and cheap to bucket with integer arithmetic in SQL.
    ts_us: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int | None] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Double)
    run_id: Mapped[str | None] = mapped_column(String(200))


class MetricRollupRow(Base):
    """Per-minute aggregates of each series, updated in the same transaction as the points, so a
    trend over a long range reads one row per minute (a 60th of a 1 Hz series) instead of
    every point."""

    __tablename__ = "tracker_metric_rollups"

    series_id: Mapped[int] = mapped_column(ForeignKey("tracker_metric_series.id"), primary_key=True)
    minute_us: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    n_points: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[float] = mapped_column(Double)
    min_value: Mapped[float] = mapped_column(Double)
    max_value: Mapped[float] = mapped_column(Double)
    first_ts_us: Mapped[int] = mapped_column(BigInteger)
    last_ts_us: Mapped[int] = mapped_column(BigInteger)
    min_step: Mapped[int | None] = mapped_column(BigInteger)
    max_step: Mapped[int | None] = mapped_column(BigInteger)


class IngestBatchRow(Base):
    """Batch ids already written, so a retried RecordMetrics does not double the points."""

    __tablename__ = "tracker_ingest_batches"

    batch_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    n_points: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WeaknessRow(Base):
    __tablename__ = "tracker_weaknesses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("tracker_model_versions.model_id"), index=True)
    model_type: Mapped[str] = mapped_column(String(64), index=True)
    metric: Mapped[str] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(Double)
    threshold: Mapped[float] = mapped_column(Double)
    bound: Mapped[str] = mapped_column(String(3))
    severity: Mapped[str] = mapped_column(String(10))
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertRow(Base):
    __tablename__ = "tracker_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("tracker_model_versions.model_id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    metric: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RetrainTriggerRow(Base):
    __tablename__ = "tracker_retrain_triggers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_type: Mapped[str] = mapped_column(String(64), index=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("tracker_model_versions.model_id"), index=True)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    job_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
