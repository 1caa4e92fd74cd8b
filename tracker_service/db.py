"""Engines, sessions and migrations of the tracker database.

``TrackerDatabase`` refuses an unmigrated (or too new) schema with a message naming the command
that fixes it. Only the embedded default, the SQLite file under ``$SRLFORGE_HOME``, migrates
itself on first use; any URL given explicitly (PostgreSQL above all) is migrated by an operator
with ``srlforge tracker migrate --db URL``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tracker_service.errors import DatabaseNotMigrated, TrackerError
from tracker_service.orm import VERSION_TABLE
from tracker_service.settings import default_db_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_WRITE_OPTION = "tracker_write"


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
        # Let SQLAlchemy (the "begin" hook below) own transactions instead of pysqlite's
        # implicit, DDL-skipping ones.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        # Never corrupt; a power cut may lose the last commits, an application crash cannot.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Any) -> None:
        # A write transaction takes the lock up front: a deferred one that reads and then
        # writes can fail with "database is locked" when another writer got there first,
        # and the registry's read-compare-write must see no writer in between.
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def alembic_config(db_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["db_url"] = db_url
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision shipped with this code (read once: the files do not change)."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "tracker_service/migrations/versions holds no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(db_url: str, revision: str = "head") -> str:
    """Bring the database at ``db_url`` to ``revision``; returns the revision it ends at."""
    engine = make_engine(db_url)
    try:
        cfg = alembic_config(db_url)
        with engine.connect().execution_options(**{_WRITE_OPTION: True}) as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
            connection.commit()
        return current_revision(engine) or "base"
    finally:
        engine.dispose()


class TrackerDatabase:
    """An engine plus read and write session factories, on a schema checked to be current.

    ``auto_migrate`` defaults to True only for the embedded default file.
    """

    def __init__(self, db_url: str | None = None, *, auto_migrate: bool | None = None) -> None:
        embedded_default = default_db_url()
        self.url = db_url or embedded_default
        if auto_migrate is None:
            auto_migrate = self.url == embedded_default
        self.engine = make_engine(self.url)
        try:
            self._check_schema(auto_migrate)
        except BaseException:
            self.engine.dispose()
            raise
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False
        )

    def _check_schema(self, auto_migrate: bool) -> None:
        head = head_revision()
        try:
            current = current_revision(self.engine)
        except OperationalError as exc:
            raise TrackerError(
                f"cannot reach the tracker database {safe_url(self.url)}: {exc.orig}; check "
                "the URL (--db or SRLFORGE_TRACKER_DB_URL) and that the server is running"
            ) from exc
        if current == head:
            return
        if current is None and auto_migrate:
            upgrade(self.url)
            return
        fix = f"run `srlforge tracker migrate --db {safe_url(self.url)}`"
        if current is None:
            raise DatabaseNotMigrated(
                f"the tracker database {safe_url(self.url)} has no schema yet; {fix} first"
            )
        known = {
            rev.revision
            for rev in ScriptDirectory.from_config(alembic_config(self.url)).walk_revisions()
        }
        if current not in known:
            raise DatabaseNotMigrated(
                f"the tracker database {safe_url(self.url)} is at revision {current}, newer than "
                f"this code (head {head}); upgrade srlforge instead of using an older build"
            )
        raise DatabaseNotMigrated(
            f"the tracker database {safe_url(self.url)} is at revision {current}, behind the "
            f"code's {head}; {fix}"
        )

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._read() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        with self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
