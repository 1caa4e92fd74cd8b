"""Fixtures of the collab tests: databases (SQLite file, real PostgreSQL), settings, fake server.

PostgreSQL tests are marked ``integration`` and get their own schema (reached through
``search_path``), dropped afterwards; an unreachable server fails them with a message unless
``SRLFORGE_SKIP_INTEGRATION=1``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from collab_service import db
from collab_service.settings import CollabSettings

POSTGRES_URL = os.environ.get(
    "SRLFORGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


def _load_fake_openai():
    name = "srlforge_tests_fake_openai"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "llm" / "fake_openai.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def fake():
    return _load_fake_openai()


@pytest.fixture(autouse=True)
def _no_ambient_openai_env(monkeypatch):
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


def require_postgres() -> None:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver or network failure means "not reachable"
        where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
        message = (
            f"PostgreSQL at {where} is not reachable ({type(exc).__name__}: {exc}). Start it, "
            "point SRLFORGE_TEST_POSTGRES_URL at one, or set SRLFORGE_SKIP_INTEGRATION=1."
        )
        if os.environ.get("SRLFORGE_SKIP_INTEGRATION") == "1":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    finally:
        engine.dispose()


def postgres_schema_url(schema: str) -> str:
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="module", params=BACKENDS)
def db_url(request, tmp_path_factory):
    """A fresh, unmigrated database per module and backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('collab-db') / 'collab.db'}"
        yield url
        db.dispose(url)
        return
    require_postgres()
    schema = f"collab_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = postgres_schema_url(schema)
    try:
        yield url
    finally:
        db.dispose(url)
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'collab.db'}"
    yield url
    db.dispose(url)


@pytest.fixture
def settings(sqlite_url, tmp_path):
    """Settings for embedded runs: a private SQLite file and artifact folder, fast retries."""
    return CollabSettings(
        database_url=sqlite_url,
        artifact_dir=tmp_path / "artifacts",
        backoff_base_s=0.01,
        backoff_max_s=0.1,
        breaker_reset_s=0.2,
        request_timeout_s=5.0,
    )


def openai_settings(base: CollabSettings, server, **overrides) -> CollabSettings:
    values = {
        **base.model_dump(),
        "openai_base_url": server.url,
        "openai_api_key": SecretStr(server.api_key),
        "openai_model": "fake-teacher-1",
        **overrides,
    }
    return CollabSettings(**values)


@pytest.fixture
def with_openai():
    return openai_settings
