"""The gateway's own Alembic migrations on SQLite and the real PostgreSQL: they build exactly
the ORM's schema, re-run safely, go down cleanly, and coexist with other services' versions."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from gateway.db import (
    VERSION_TABLE,
    DatabaseError,
    GatewayDatabase,
    downgrade,
    head_revision,
    upgrade,
)
from gateway.orm import Base
from srlforge.db import make_engine
from tests.support.postgres import BACKENDS

pytestmark = pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True, scope="module")
TABLES = {
    "gateway_tenants",
    "gateway_api_keys",
    "gateway_rule_uploads",
    "gateway_idempotency",
    "gateway_job_steps",
}
HEAD = head_revision()


def test_an_unmigrated_database_is_refused_then_migrated(empty_db_url):
    with pytest.raises(DatabaseError, match="python -m gateway migrate"):
        GatewayDatabase(empty_db_url)
    assert upgrade(empty_db_url) == HEAD
    assert upgrade(empty_db_url) == HEAD  # safe to run again
    db = GatewayDatabase(empty_db_url)
    db.ping()
    db.dispose()


def test_the_migration_builds_the_orm_schema_exactly(empty_db_url):
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            assert compare_metadata(context, Base.metadata) == []
            assert set(inspect(connection).get_table_names()) >= TABLES
            # The version table is the gateway's own, so other services' revisions coexist.
            assert "alembic_version" not in inspect(connection).get_table_names()
            revision = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
            assert revision.scalar_one() == HEAD
    finally:
        engine.dispose()


def test_each_revision_goes_down_and_up_again(empty_db_url):
    upgrade(empty_db_url)
    assert downgrade(empty_db_url, "0001") == "0001"
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as connection:
            assert "gateway_job_steps" not in inspect(connection).get_table_names()
    finally:
        engine.dispose()
    assert upgrade(empty_db_url) == HEAD


def test_downgrade_removes_every_table(empty_db_url):
    upgrade(empty_db_url)
    assert downgrade(empty_db_url, "base") == "base"
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as connection:
            assert not TABLES & set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert upgrade(empty_db_url) == HEAD
