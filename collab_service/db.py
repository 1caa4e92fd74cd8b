"""Engines, sessions and migrations of the collaboration store.

``upgrade(db_url)`` brings any database (the embedded SQLite file, PostgreSQL) to the latest
revision; ``engine_for(db_url)`` hands out one engine per URL per process.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"

_engines: dict[str, Engine] = {}
_upgraded: set[str] = set()
_lock = threading.Lock()


def alembic_config(db_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["db_url"] = db_url
    return config


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the Celery worker thread write while a reader (CLI, gRPC) reads; the busy timeout
    # turns a momentary writer lock into a short wait instead of "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def engine_for(db_url: str) -> Engine:
    with _lock:
        engine = _engines.get(db_url)
        if engine is None:
            engine = create_engine(db_url, pool_pre_ping=not db_url.startswith("sqlite"))
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            _engines[db_url] = engine
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
