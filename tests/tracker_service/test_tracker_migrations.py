"""Alembic migrations: from empty to head on both backends, matching the ORM exactly."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from tracker_service.db import TrackerDatabase, alembic_config, head_revision, upgrade
from tracker_service.embedded import EmbeddedTracker
from tracker_service.errors import DatabaseNotMigrated
from tracker_service.orm import VERSION_TABLE, Base


def test_unmigrated_database_is_refused_with_the_command_to_run(empty_db_url):
    with pytest.raises(DatabaseNotMigrated, match="srlforge tracker migrate --db"):
        EmbeddedTracker(empty_db_url)


def test_upgrade_from_empty_matches_the_orm_and_is_repeatable(empty_db_url):
    assert upgrade(empty_db_url) == head_revision()
    assert upgrade(empty_db_url) == head_revision()  # a second run changes nothing
    engine = create_engine(empty_db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            assert compare_metadata(context, Base.metadata) == []
        assert set(inspect(engine).get_table_names()) >= {
            t.name for t in Base.metadata.sorted_tables
        }
    finally:
        engine.dispose()
    with EmbeddedTracker(empty_db_url) as tracker:  # now accepted
        assert tracker.list_models() == []


def test_database_behind_the_code_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")  # the downgrade path works too
    assert "tracker_metric_points" not in inspect(create_engine(url)).get_table_names()
    with pytest.raises(DatabaseNotMigrated, match="srlforge tracker migrate"):
        TrackerDatabase(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL)"
        )
        connection.exec_driver_sql(f"INSERT INTO {VERSION_TABLE} VALUES ('ffff')")
    engine.dispose()
    with pytest.raises(DatabaseNotMigrated, match="newer than this code"):
        TrackerDatabase(url)


def test_embedded_default_migrates_itself(tmp_path, monkeypatch):
    from srlforge.settings import get_settings

    monkeypatch.setenv("SRLFORGE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SRLFORGE_TRACKER_DB_URL", raising=False)
    get_settings.cache_clear()
    try:
        with EmbeddedTracker() as tracker:
            assert tracker.db.url.endswith("home/tracker.db")
            assert tracker.list_models() == []
    finally:
        get_settings.cache_clear()
    assert (tmp_path / "home" / "tracker.db").exists()
