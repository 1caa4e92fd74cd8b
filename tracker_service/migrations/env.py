"""Alembic environment for the tracker.

The URL comes from ``config.attributes["db_url"]`` (set by ``tracker_service.db.alembic_config``)
rather than the ini option, because ini values go through configparser interpolation and a URL
with percent-escapes (``options=-csearch_path%3D...``) would be mangled there. The version table
is the tracker's own (``tracker_alembic_version``), like every table here carries the
``tracker_`` prefix, so the services can share one PostgreSQL database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from tracker_service.orm import VERSION_TABLE, Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.attributes["db_url"],
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
        return
    engine = create_engine(config.attributes["db_url"], poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run_with(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
