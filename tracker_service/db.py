"""Engines, sessions and migrations of the tracker database.

``TrackerDatabase`` refuses an unmigrated (or too new) schema with a message naming the command
that fixes it. Only the embedded default, the SQLite file under ``$SRLFORGE_HOME``, migrates
itself on first use; any URL given explicitly (PostgreSQL above all) is migrated by an operator
with ``srlforge tracker migrate --db URL``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from alembic.config import Config
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from srlforge.db import WRITE_OPTION, Migrations, SchemaStatus, safe_url
from tracker_service.errors import DatabaseNotMigrated, TrackerError
from tracker_service.orm import VERSION_TABLE
from tracker_service.settings import default_db_url

MIGRATIONS = Migrations(Path(__file__).with_name("migrations"), VERSION_TABLE)
# SQLAlchemy, not pysqlite, begins transactions (pysqlite's implicit ones skip DDL), and the
# write sessions take the lock up front: the registry's read-compare-write must see no writer
# in between. synchronous=NORMAL never corrupts; a power cut may lose the last commits, an
# application crash cannot.
ENGINE_OPTIONS: dict[str, Any] = {
    "pragmas": {
        "journal_mode": "WAL",
        "synchronous": "NORMAL",
        "foreign_keys": "ON",
        "busy_timeout": 30000,
    },
    "sqlite_begin": "DEFERRED",
}


def alembic_config(db_url: str) -> Config:
    return MIGRATIONS.config(db_url)


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = MIGRATIONS.head
    assert head is not None, "tracker_service/migrations/versions holds no revision"
    return head


def upgrade(db_url: str, revision: str = "head") -> str:
    """Bring the database at ``db_url`` to ``revision``; returns the revision it ends at."""
    return MIGRATIONS.upgrade(db_url, revision, **ENGINE_OPTIONS)


class TrackerDatabase:
    """An engine plus read and write session factories, on a schema checked to be current.

    ``auto_migrate`` defaults to True only for the embedded default file.
    """

    def __init__(self, db_url: str | None = None, *, auto_migrate: bool | None = None) -> None:
        embedded_default = default_db_url()
        self.url = db_url or embedded_default
        if auto_migrate is None:
            auto_migrate = self.url == embedded_default
        self.engine = MIGRATIONS.checked_engine(
            self.url,
            auto_migrate=auto_migrate,
            unreachable=self._unreachable,
            refuse=self._refuse,
            **ENGINE_OPTIONS,
        )
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )

    def _unreachable(self, exc: OperationalError) -> NoReturn:
        raise TrackerError(
            f"cannot reach the tracker database {safe_url(self.url)}: {exc.orig}; check "
            "the URL (--db or SRLFORGE_TRACKER_DB_URL) and that the server is running"
        ) from exc

    def _refuse(self, status: SchemaStatus) -> NoReturn:
        fix = f"run `srlforge tracker migrate --db {safe_url(self.url)}`"
        where = f"the tracker database {safe_url(self.url)}"
        if status.state == "missing":
            raise DatabaseNotMigrated(f"{where} has no schema yet; {fix} first")
        if status.state == "ahead":
            raise DatabaseNotMigrated(
                f"{where} is at revision {status.current}, newer than this code (head "
                f"{status.head}); upgrade srlforge instead of using an older build"
            )
        raise DatabaseNotMigrated(
            f"{where} is at revision {status.current}, behind the code's {status.head}; {fix}"
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
