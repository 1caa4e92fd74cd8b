"""Fixtures of the collab tests: databases (SQLite file, real PostgreSQL), settings, fake server.

PostgreSQL tests are marked ``integration`` and get their own schema (reached through
``search_path``), dropped afterwards; an unreachable server fails them with a message unless
``SRLFORGE_SKIP_INTEGRATION=1``.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from collab_service import db
from collab_service.settings import CollabSettings
from tests.support.openai_server import fake, no_ambient_openai_env  # noqa: F401 (fixtures)
from tests.support.postgres import BACKENDS, temporary_schema


@pytest.fixture(scope="module", params=BACKENDS)
def db_url(request, tmp_path_factory):
    """A fresh, unmigrated database per module and backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('collab-db') / 'collab.db'}"
        yield url
        db.dispose(url)
        return
    with temporary_schema("collab_test") as url:
        try:
            yield url
        finally:
            db.dispose(url)


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
