"""The collab migrations create exactly the ORM's tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from collab_service import db
from collab_service.orm import Base

FTS_OBJECTS = {"collab_lore_fts", "ix_collab_lore_entries_fts"}


def _include(obj, name, type_, reflected, compare_to):
    # The full-text index (an FTS5 table + shadow tables, or a GIN expression index) exists only
    # in the migration, by design; everything else must match the ORM.
    return not (name or "").startswith(tuple(FTS_OBJECTS))


def test_upgrade_matches_the_orm_and_downgrade_removes_it(db_url):
    db.upgrade(db_url)
    db.upgrade(db_url)  # idempotent
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"include_object": _include, "version_table": "collab_alembic_version"},
            )
            assert compare_metadata(context, Base.metadata) == []
            tables = set(inspect(connection).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert "collab_alembic_version" in tables and "alembic_version" not in tables
        if engine.dialect.name == "sqlite":
            assert "collab_lore_fts" in tables
        command.downgrade(db.alembic_config(db_url), "base")
        with engine.connect() as connection:
            left = set(inspect(connection).get_table_names()) - {"collab_alembic_version"}
        assert not left & set(Base.metadata.tables)
    finally:
        engine.dispose()
        db.dispose(db_url)
