"""Engines, sessions and migrations of the collaboration store.

``upgrade(db_url)`` brings any database (the embedded SQLite file, PostgreSQL) to the latest
revision; ``engine_for(db_url)`` hands out one engine per URL per process.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from collab_service.orm import VERSION_TABLE
from srlforge.db import Migrations, make_engine

MIGRATIONS = Migrations(Path(__file__).parent / "migrations", VERSION_TABLE)
# WAL lets the Celery worker thread write while a reader (CLI, gRPC) reads; the busy timeout
# turns a momentary writer lock into a short wait instead of "database is locked".
SQLITE_PRAGMAS = {"journal_mode": "WAL", "busy_timeout": 10000, "foreign_keys": "ON"}

_engines: dict[str, Engine] = {}
_upgraded: set[str] = set()
_lock = threading.Lock()


def alembic_config(db_url: str) -> Config:
    return MIGRATIONS.config(db_url)


def engine_for(db_url: str) -> Engine:
    with _lock:
        engine = _engines.get(db_url)
        if engine is None:
            engine = _engines[db_url] = make_engine(db_url, pragmas=SQLITE_PRAGMAS)
        return engine


def upgrade(db_url: str, revision: str = "head") -> None:
    """Run the collab migrations on ``db_url`` (idempotent)."""
    command.upgrade(alembic_config(db_url), revision)


def ensure_schema(db_url: str) -> Engine:
    """The engine for ``db_url``, migrated once per process."""
    engine = engine_for(db_url)
    if db_url not in _upgraded:
        with _lock:
            if db_url not in _upgraded:
                upgrade(db_url)
                _upgraded.add(db_url)
    return engine


def session_factory(db_url: str) -> sessionmaker[Session]:
    return sessionmaker(ensure_schema(db_url), expire_on_commit=False)


def dispose(db_url: str) -> None:
    """Close the pooled connections of ``db_url`` (tests drop schemas afterwards)."""
    with _lock:
        engine = _engines.pop(db_url, None)
        _upgraded.discard(db_url)
    if engine is not None:
        engine.dispose()
