"""Tables of the collaboration service (SQLAlchemy 2). ``migrations/`` creates exactly these, plus
the full-text index that is spelled per dialect (an FTS5 table on SQLite, a GIN tsvector index on
PostgreSQL) and so lives only in the migration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from srlforge.db import UTCDateTime, utcnow

# Alembic's revision table for this service, so the services can share one PostgreSQL database
# without overwriting each other's revision.
VERSION_TABLE = "collab_alembic_version"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class LoreEntry(Base):
    """One cited lore fact about a species (or ``*`` for every species)."""

    __tablename__ = "collab_lore_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    species: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Machine-checkable statements ({"field", "includes"|"excludes"|"equals"}) compared with the
    # species rule data by the consistency check.
    claims: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Structured payload a bundle reads directly: {"trait": {"name", "value"}, "relations": {…}}.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    confidence: Mapped[str] = mapped_column(String(16), default="sourced")
    # What the full-text index reads: text, tags and category in one column, so one index serves.
    search_text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RulesVersionRow(Base):
    """A rule set the service has seen, with where each table's data comes from."""

    __tablename__ = "collab_rules_versions"

    identity: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(64))
    sources: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProducedExample(Base):
    """The history of verified trajectories already produced (one row per request and hash)."""

    __tablename__ = "collab_produced_examples"
    __table_args__ = (UniqueConstraint("request_id", "content_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(200), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    trajectory_id: Mapped[str] = mapped_column(String(300))
    model_type: Mapped[str] = mapped_column(String(64))
    species: Mapped[str | None] = mapped_column(String(64))
    difficulty: Mapped[int] = mapped_column(Integer)
    rules_version: Mapped[str] = mapped_column(String(100))
    teacher: Mapped[str] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(300))
    dataset_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GenerationRequest(Base):
    """Ledger of generation requests: the key of idempotency for the Celery task."""

    __tablename__ = "collab_generation_requests"

    request_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
