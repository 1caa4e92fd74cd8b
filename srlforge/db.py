"""Database plumbing shared by the services: engines, a UTC datetime column, Alembic runs.

Each service keeps its own tables, its own Alembic version table and its own ``migrations/``
folder; what they share lives here:

- ``make_engine`` creates an engine with the SQLite settings a service asks for (pragmas, and
  whether SQLAlchemy rather than pysqlite begins transactions); other backends get a pinged pool.
- ``Migrations`` is one service's migration scripts plus version table: its head, a database's
  current revision and ``status``, an engine refused unless its schema is current
  (``checked_engine``), and ``upgrade``/``downgrade`` runners.
- ``run_migrations`` is the body of every service's Alembic ``env.py``.

Only SQLAlchemy and Alembic are imported here (no torch, celery or grpc).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, NoReturn

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event, pool
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

# Execution option marking a connection (or an engine's sessions) as a writer: on an engine whose
# SQLite transactions SQLAlchemy begins (``sqlite_begin`` set), a writer takes the write lock up
# front with BEGIN IMMEDIATE. Elsewhere the option is ignored.
WRITE_OPTION = "srlforge_write"

# WAL lets readers go on while one connection writes; the busy timeout turns a momentary writer
# lock into a wait instead of "database is locked".
SQLITE_PRAGMAS: Mapping[str, str | int] = {
    "journal_mode": "WAL",
    "foreign_keys": "ON",
    "busy_timeout": 30000,
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite would otherwise hand back naive datetimes)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return _as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return _as_utc(value)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def safe_url(db_url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    return make_url(db_url).render_as_string(hide_password=True)


def make_engine(
    db_url: str,
    *,
    pragmas: Mapping[str, str | int] = SQLITE_PRAGMAS,
    sqlite_begin: Literal["DEFERRED", "IMMEDIATE"] | None = None,
) -> Engine:
    """An engine for ``db_url``; on SQLite, every new connection runs ``pragmas``.

    ``sqlite_begin`` None leaves transactions to pysqlite (implicit, and skipping DDL). Otherwise
    SQLAlchemy owns them: "DEFERRED" begins with BEGIN, except on connections carrying
    ``WRITE_OPTION``, which take the write lock up front with BEGIN IMMEDIATE (a deferred
    transaction that reads and then writes can fail with "database is locked" when another
    writer got in between); "IMMEDIATE" begins every transaction that way.
    """
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)

    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        if sqlite_begin is not None:
            dbapi_connection.isolation_level = None  # the "begin" hook below begins instead
        cursor = dbapi_connection.cursor()
        for name, value in pragmas.items():
            cursor.execute(f"PRAGMA {name}={value}")
        cursor.close()

    if sqlite_begin is not None:

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            write = connection.get_execution_options().get(WRITE_OPTION, False)
            immediate = write or sqlite_begin == "IMMEDIATE"
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


SchemaState = Literal["current", "missing", "behind", "ahead"]


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands against the migrations shipped with the code."""

    current: str | None  # the database's revision; None when it has none (never migrated)
    head: str
    state: SchemaState  # "ahead": a revision this code does not know, so a newer build's


@dataclass(frozen=True)
class Migrations:
    """One service's Alembic scripts (``directory``) and its own ``version_table``."""

    directory: Path
    version_table: str

    def config(self, db_url: str) -> Config:
        """The Alembic config; ``env.py`` reads the URL from ``attributes`` (see run_migrations)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(self.directory))
        cfg.attributes["db_url"] = db_url
        return cfg

    @cached_property
    def _scripts(self) -> ScriptDirectory:
        # Read once: the files do not change while the process runs.
        return ScriptDirectory.from_config(self.config("sqlite://"))

    @property
    def head(self) -> str | None:
        """The newest revision shipped with the code (None when there is none)."""
        return self._scripts.get_current_head()

    def knows(self, revision: str) -> bool:
        return any(rev.revision == revision for rev in self._scripts.walk_revisions())

    def current(self, engine: Engine) -> str | None:
        """The revision the database at ``engine`` is at (None when never migrated)."""
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": self.version_table}
            )
            return context.get_current_revision()

    def status(self, engine: Engine) -> SchemaStatus:
        """Is the database migrated to this code's head? Connection errors propagate."""
        head = self.head
        if head is None:
            raise RuntimeError(f"{self.directory / 'versions'} holds no revision")
        current = self.current(engine)
        if current == head:
            state: SchemaState = "current"
        elif current is None:
            state = "missing"
        else:
            state = "behind" if self.knows(current) else "ahead"
        return SchemaStatus(current=current, head=head, state=state)

    def checked_engine(
        self,
        db_url: str,
        *,
        auto_migrate: bool,
        unreachable: Callable[[OperationalError], NoReturn],
        refuse: Callable[[SchemaStatus], NoReturn],
        **engine_options: Any,
    ) -> Engine:
        """``make_engine(db_url, **engine_options)`` on a schema at this code's head.

        A database without any revision is migrated first when ``auto_migrate``; otherwise a
        schema that is not current goes to ``refuse``, and a failed connection to
        ``unreachable``: each raises the service's own error. A refused engine is disposed.
        """
        engine = make_engine(db_url, **engine_options)
        try:
            try:
                status = self.status(engine)
            except OperationalError as exc:
                unreachable(exc)
            if status.state == "missing" and auto_migrate:
                self.upgrade(db_url, **engine_options)
            elif status.state != "current":
                refuse(status)
        except BaseException:
            engine.dispose()
            raise
        return engine

    def run(
        self,
        db_url: str,
        revision: str,
        step: Callable[[Config, str], None] = command.upgrade,
        **engine_options: Any,
    ) -> str:
        """Run ``step`` (``command.upgrade`` or ``command.downgrade``) to ``revision`` in one
        write transaction on ``make_engine(db_url, **engine_options)``; returns the revision the
        database ends at ("base" when none)."""
        engine = make_engine(db_url, **engine_options)
        try:
            cfg = self.config(db_url)
            with engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
                cfg.attributes["connection"] = connection
                step(cfg, revision)
                connection.commit()
            return self.current(engine) or "base"
        finally:
            engine.dispose()

    def upgrade(self, db_url: str, revision: str = "head", **engine_options: Any) -> str:
        return self.run(db_url, revision, command.upgrade, **engine_options)

    def downgrade(self, db_url: str, revision: str, **engine_options: Any) -> str:
        return self.run(db_url, revision, command.downgrade, **engine_options)


def run_migrations(context: Any, metadata: MetaData, version_table: str) -> None:
    """The whole of a service's Alembic ``env.py``: ``run_migrations(context, Base.metadata,
    VERSION_TABLE)`` with ``from alembic import context``.

    The URL comes from ``config.attributes["db_url"]`` (set by ``Migrations.config``) rather than
    the ini option, because ini values go through configparser interpolation and a URL with
    percent-escapes (``options=-csearch_path%3D...``) would be mangled there. Each service names
    its own version table, so the services can share one PostgreSQL database without
    overwriting each other's revision. A connection handed over in
    ``config.attributes["connection"]`` (``Migrations.run``) is used as it is; otherwise the
    migrations open (and commit) their own.
    """
    config = context.config
    if context.is_offline_mode():
        context.configure(
            url=config.attributes["db_url"],
            target_metadata=metadata,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
            version_table=version_table,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    def run_with(connection: Any) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=version_table,
            # SQLite cannot ALTER most things in place; batch mode copies the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()

    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    engine = create_engine(config.attributes["db_url"], poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            run_with(connection)
            connection.commit()
    finally:
        engine.dispose()
