"""Alembic environment of the gateway.

The URL comes from ``config.attributes["db_url"]`` (set by ``gateway.db.alembic_config``), not
the ini option: configparser interpolation would mangle percent-escapes such as
``options=-csearch_path%3D...``. The version table has its own name so the gateway, tracker and
collab migrations can share one PostgreSQL database without overwriting each other's revision.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from gateway.orm import Base

VERSION_TABLE = "gateway_alembic_version"

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
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
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
