"""Tables of the gateway database: tenants, API keys, rule uploads, idempotency records.

Every table carries a ``gateway_`` prefix and the migrations keep their own version table, so
the gateway can share one PostgreSQL database with the tracker and collab services.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from srlforge.db import utcnow

# Alembic's revision table for this service (the default name would clash with other services').
VERSION_TABLE = "gateway_alembic_version"


class Base(DeclarativeBase):
    # The same constraint names as the migrations, so a drift check compares like with like.
    metadata = MetaData(
        naming_convention={
            "pk": "pk_%(table_name)s",
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s",
        }
    )


class TenantRow(Base):
    __tablename__ = "gateway_tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKeyRow(Base):
    """One API key. Only ``HMAC-SHA256(server secret, key)`` is stored; ``key_id`` is the
    public, non-secret part of the key that finds the row."""

    __tablename__ = "gateway_api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("gateway_tenants.id"), index=True)
    key_hmac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RuleUploadRow(Base):
    """A rule set version a tenant uploaded, with the YAML itself so any replica can
    materialise it, and what the upload did about retraining."""

    __tablename__ = "gateway_rule_uploads"
    __table_args__ = (UniqueConstraint("tenant_id", "version", name="uq_gateway_rules_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("gateway_tenants.id"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    identity: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    base_identity: Mapped[str | None] = mapped_column(String(64), nullable=True)
    files: Mapped[dict[str, Any]] = mapped_column(JSON)  # name -> {"sha256", "uploaded"}
    contents: Mapped[dict[str, str]] = mapped_column(JSON)  # name -> YAML text
    affected_model_types: Mapped[list[str]] = mapped_column(JSON)
    retrain: Mapped[dict[str, Any]] = mapped_column(JSON)  # model type -> outcome
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdempotencyRow(Base):
    """The stored answer to a request sent with an ``Idempotency-Key``, per tenant."""

    __tablename__ = "gateway_idempotency"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_gateway_idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("gateway_tenants.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    route: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobStepRow(Base):
    """One step of a pipeline job, and who may work on it now.

    The broker can deliver a step twice (a dead worker's redelivery, Redis's visibility timeout
    re-queueing a step that still runs); this row decides: a worker owns a step only while its
    lease lasts, renews it by heartbeat, and only the owner can finish it.
    """

    __tablename__ = "gateway_job_steps"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("gateway_tenants.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobRow(Base):
    """A pipeline job: what a tenant asked for (plain parameters, never secrets), its plan of
    steps, and how it ended. Per-step progress lives in ``gateway_job_steps`` (the ledger)."""

    __tablename__ = "gateway_jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("gateway_tenants.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    executor: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan: Mapped[list[str]] = mapped_column(JSON)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
