"""Engine, sessions and migrations of the gateway database.

``GatewayDatabase`` refuses an unmigrated (or too new) schema with a message naming the command
that fixes it. Only the embedded default, the SQLite file under ``$SRLFORGE_HOME``, migrates
itself on first use; a URL given explicitly (PostgreSQL above all) is migrated by an operator
with ``python -m gateway migrate`` (compose runs it as a one-shot service before the gateway).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "gateway_alembic_version"


class DatabaseError(RuntimeError):
    """The database is unreachable or its schema does not match this code."""


def safe_url(db_url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    return make_url(db_url).render_as_string(hide_password=True)


def make_engine(db_url: str) -> Engine:
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def alembic_config(db_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["db_url"] = db_url
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise DatabaseError("gateway/migrations/versions holds no revision")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def _migrate(db_url: str, revision: str, step) -> str:
    engine = make_engine(db_url)
    try:
        cfg = alembic_config(db_url)
        with engine.connect() as connection:
            cfg.attributes["connection"] = connection
            step(cfg, revision)
            connection.commit()
        return current_revision(engine) or "base"
    finally:
        engine.dispose()


def upgrade(db_url: str, revision: str = "head") -> str:
    """Bring the database at ``db_url`` up to ``revision``; returns the revision it ends at."""
    return _migrate(db_url, revision, command.upgrade)


def downgrade(db_url: str, revision: str) -> str:
    """Take the database at ``db_url`` down to ``revision`` ('base' drops every table)."""
    return _migrate(db_url, revision, command.downgrade)


class GatewayDatabase:
    """An engine and a session factory, on a schema checked to be current."""

    def __init__(self, db_url: str, *, auto_migrate: bool = False) -> None:
        self.url = db_url
        self.engine = make_engine(db_url)
        try:
            self._check_schema(auto_migrate)
        except BaseException:
            self.engine.dispose()
            raise
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _check_schema(self, auto_migrate: bool) -> None:
        head = head_revision()
        try:
            current = current_revision(self.engine)
        except OperationalError as exc:
            raise DatabaseError(
                f"cannot reach the gateway database {safe_url(self.url)}: {exc.orig}; check "
                "SRLFORGE_GATEWAY_DB_URL and that the server is running"
            ) from None
        if current == head:
            return
        if current is None and auto_migrate:
            upgrade(self.url)
            return
        fix = "run `python -m gateway migrate` with the same SRLFORGE_GATEWAY_DB_URL"
        if current is None:
            raise DatabaseError(
                f"the gateway database {safe_url(self.url)} has no schema yet; {fix} first"
            )
        raise DatabaseError(
            f"the gateway database {safe_url(self.url)} is at revision {current}, the code "
            f"expects {head}; {fix} (or upgrade srlforge if the database is newer)"
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
