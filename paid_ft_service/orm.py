"""Tables of the paid fine-tuning service: jobs, their events, tenant budgets and holds.

``PaidFTDatabase(url)`` creates the tables on first use (``create_all``; the schema is small
and additive so far). SQLite is the embedded default, PostgreSQL the deployed one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from srlforge.db import make_engine, utcnow


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "paid_ft_jobs"
    __table_args__ = (UniqueConstraint("tenant", "idempotency_key", name="uq_job_idempotency"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant: Mapped[str] = mapped_column(String(100), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(40))
    model_type: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(20), index=True)  # submitting|queued|running|…
    provider_status: Mapped[str] = mapped_column(String(40), default="")
    provider_job_id: Mapped[str | None] = mapped_column(String(300))
    tuned_model: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(Text)
    estimate_usd: Mapped[float] = mapped_column(Float, default=0.0)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    price_confirmed: Mapped[bool] = mapped_column(default=False)
    dataset_sha256: Mapped[str] = mapped_column(String(64), default="")
    training_tokens: Mapped[int] = mapped_column(Integer, default=0)
    trained_tokens: Mapped[int | None] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_event_id: Mapped[str | None] = mapped_column(String(200))
    poll_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JobEventRow(Base):
    __tablename__ = "paid_ft_job_events"
    __table_args__ = (UniqueConstraint("job_id", "provider_event_id", name="uq_job_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("paid_ft_jobs.id"), index=True)
    provider_event_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    level: Mapped[str] = mapped_column(String(20), default="info")
    type: Mapped[str] = mapped_column(String(20), default="message")
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class BudgetRow(Base):
    __tablename__ = "paid_ft_budgets"

    tenant: Mapped[str] = mapped_column(String(100), primary_key=True)
    limit_usd: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class BudgetHoldRow(Base):
    __tablename__ = "paid_ft_budget_holds"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant: Mapped[str] = mapped_column(String(100), index=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("paid_ft_jobs.id"), unique=True)
    amount_usd: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(20), default="held")  # held|committed|released
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class PaidFTDatabase:
    """Engine + session factory; tables are created on construction."""

    def __init__(self, url: str) -> None:
        # Budget holds read-then-write; BEGIN IMMEDIATE serialises writers on SQLite the way
        # SELECT … FOR UPDATE does on PostgreSQL.
        self.engine = make_engine(url, pragmas={"foreign_keys": "ON"}, sqlite_begin="IMMEDIATE")
        Base.metadata.create_all(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()
