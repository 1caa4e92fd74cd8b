"""The test PostgreSQL: a reachability check and a fresh schema per use, dropped afterwards.

A schema is reached through ``search_path`` in the URL (``options=-csearch_path=...``), so code
under test needs no schema setting of its own and every module starts from an empty database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from tests.support.integration import unreachable

URL_ENV = "SRLFORGE_TEST_POSTGRES_URL"
POSTGRES_URL = os.environ.get(URL_ENV, "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Module-scoped database fixtures run once per backend; PostgreSQL is an integration test.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


def admin_engine() -> Engine:
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def require_postgres() -> None:
    """Fail (or, with SRLFORGE_SKIP_INTEGRATION=1, skip) when PostgreSQL is unreachable."""
    engine = admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver or network failure means "not reachable"
        where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
        unreachable(f"PostgreSQL at {where}", exc, URL_ENV)
    finally:
        engine.dispose()


def schema_url(schema: str) -> str:
    """The test server's URL with ``schema`` first on the search path."""
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@contextmanager
def temporary_schema(prefix: str) -> Iterator[str]:
    """Create a schema ``<prefix>_<random>``, yield its URL, then drop it with all it holds.

    Close the engines on the URL before the block ends: the drop waits for their connections.
    """
    require_postgres()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = admin_engine()
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield schema_url(schema)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
