"""Tracker test fixtures: the same tests run on a SQLite file and on the real PostgreSQL.

Each test module gets its own migrated database (a temporary SQLite file; a uniquely named
PostgreSQL schema reached through ``search_path``), and every test starts from empty tables.
PostgreSQL tests are marked ``integration``; an unreachable server fails them with a message
unless ``SRLFORGE_SKIP_INTEGRATION=1``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tracker_service.db import upgrade
from tracker_service.embedded import EmbeddedTracker
from tracker_service.orm import Base

POSTGRES_URL = os.environ.get(
    "SRLFORGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


def _admin_engine():
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def require_postgres() -> None:
    """Fail (or, with SRLFORGE_SKIP_INTEGRATION=1, skip) when PostgreSQL is unreachable."""
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver/connection failure means "not reachable"
        where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
        message = (
            f"PostgreSQL at {where} is not reachable ({type(exc).__name__}: {exc}). Start it, "
            "point SRLFORGE_TEST_POSTGRES_URL at one, or set SRLFORGE_SKIP_INTEGRATION=1 to "
            "skip the integration tests."
        )
        if os.environ.get("SRLFORGE_SKIP_INTEGRATION") == "1":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    finally:
        engine.dispose()


def _schema_url(schema: str) -> str:
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def empty_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """An unmigrated database per module: ``sqlite`` or ``postgresql`` (module parameter)."""
    backend = request.param
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('tracker') / 'tracker.db'}"
        return
    require_postgres()
    schema = f"tracker_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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
