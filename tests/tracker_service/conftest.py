"""Tracker test fixtures: the same tests run on a SQLite file and on the real PostgreSQL.

Each test module gets its own migrated database (a temporary SQLite file; a uniquely named
PostgreSQL schema reached through ``search_path``), and every test starts from empty tables.
PostgreSQL tests are marked ``integration``; an unreachable server fails them with a message
unless ``SRLFORGE_SKIP_INTEGRATION=1``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine

from tests.support.postgres import BACKENDS, temporary_schema
from tracker_service.db import upgrade
from tracker_service.embedded import EmbeddedTracker
from tracker_service.orm import Base


@pytest.fixture(scope="module")
def empty_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """An unmigrated database per module: ``sqlite`` or ``postgresql`` (module parameter)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('tracker') / 'tracker.db'}"
        return
    with temporary_schema("tracker_test") as url:
        yield url


@pytest.fixture(scope="module")
def migrated_url(empty_db_url: str) -> str:
    upgrade(empty_db_url)
    return empty_db_url


def _clear(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
    finally:
        engine.dispose()


@pytest.fixture
def db_url(migrated_url: str) -> Iterator[str]:
    """A migrated database with empty tables."""
    _clear(migrated_url)
    yield migrated_url


@pytest.fixture
def tracker(db_url: str) -> Iterator[EmbeddedTracker]:
    with EmbeddedTracker(db_url) as client:
        yield client


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that touches a database runs once per backend, sharing one database per module.
    if "empty_db_url" in metafunc.fixturenames:
        metafunc.parametrize("empty_db_url", BACKENDS, indirect=True, scope="module")
