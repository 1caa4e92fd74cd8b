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
from typing import NoReturn

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gateway.orm import VERSION_TABLE
from srlforge.db import Migrations, SchemaStatus, safe_url

MIGRATIONS = Migrations(Path(__file__).with_name("migrations"), VERSION_TABLE)


class DatabaseError(RuntimeError):
    """The database is unreachable or its schema does not match this code."""


def head_revision() -> str:
    head = MIGRATIONS.head
    if head is None:
        raise DatabaseError("gateway/migrations/versions holds no revision")
    return head


def upgrade(db_url: str, revision: str = "head") -> str:
    """Bring the database at ``db_url`` up to ``revision``; returns the revision it ends at."""
    return MIGRATIONS.upgrade(db_url, revision)


def downgrade(db_url: str, revision: str) -> str:
    """Take the database at ``db_url`` down to ``revision`` ('base' drops every table)."""
    return MIGRATIONS.downgrade(db_url, revision)


class GatewayDatabase:
    """An engine and a session factory, on a schema checked to be current."""

    def __init__(self, db_url: str, *, auto_migrate: bool = False) -> None:
        self.url = db_url
        self.engine = MIGRATIONS.checked_engine(
            db_url, auto_migrate=auto_migrate, unreachable=self._unreachable, refuse=self._refuse
        )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _unreachable(self, exc: OperationalError) -> NoReturn:
        raise DatabaseError(
            f"cannot reach the gateway database {safe_url(self.url)}: {exc.orig}; check "
            "SRLFORGE_GATEWAY_DB_URL and that the server is running"
        ) from None

    def _refuse(self, status: SchemaStatus) -> NoReturn:
        fix = "run `python -m gateway migrate` with the same SRLFORGE_GATEWAY_DB_URL"
        if status.state == "missing":
            raise DatabaseError(
                f"the gateway database {safe_url(self.url)} has no schema yet; {fix} first"
            )
        raise DatabaseError(
            f"the gateway database {safe_url(self.url)} is at revision {status.current}, the "
            f"code expects {status.head}; {fix} (or upgrade srlforge if the database is newer)"
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
