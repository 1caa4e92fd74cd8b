"""Gateway test fixtures: real HTTP through httpx, real databases, real Redis.

``Api`` drives the app through ``httpx.ASGITransport`` (the whole ASGI stack: middleware,
dependencies, handlers). Databases are a temporary SQLite file or a uniquely named PostgreSQL
schema (dropped afterwards); PostgreSQL and Redis tests are marked ``integration`` and fail with
a message when the server is unreachable, unless ``SRLFORGE_SKIP_INTEGRATION=1``.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from gateway.app import create_app
from gateway.db import upgrade
from gateway.keys import create_key
from gateway.settings import GatewaySettings
from tests.support import redis_db
from tests.support.postgres import temporary_schema


@pytest.fixture
def redis_url() -> str:
    """The test Redis (the gateway's own db number); fails clearly when unreachable."""
    return redis_db.GATEWAY.require()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix unique to this test; every key under it is deleted afterwards."""
    prefix = f"srlforge-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture(scope="module")
def postgres_schema_url() -> Iterator[str]:
    """An empty PostgreSQL schema for this module, dropped afterwards."""
    with temporary_schema("gateway_test") as url:
        yield url


@pytest.fixture(scope="module")
def empty_db_url(request, tmp_path_factory) -> Iterator[str]:
    """An unmigrated database per module: ``sqlite`` or ``postgresql`` (module parameter)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('gateway') / 'gateway.db'}"
        return
    yield request.getfixturevalue("postgres_schema_url")


@pytest.fixture(scope="module")
def db_url(empty_db_url: str) -> str:
    upgrade(empty_db_url)
    return empty_db_url


def key_secret() -> str:
    return secrets.token_urlsafe(48)


_TEMPLATE: dict[str, Path] = {}


def _migrated_sqlite(target: Path) -> None:
    """A migrated SQLite file at ``target``: a copy of one migrated per session (fast)."""
    if "db" not in _TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="gateway-template-")) / "gateway.db"
        upgrade(f"sqlite:///{template}")
        _TEMPLATE["db"] = template
    shutil.copyfile(_TEMPLATE["db"], target)


def make_settings(tmp_path: Path, **overrides: Any) -> GatewaySettings:
    """Settings with everything under ``tmp_path`` and no tracker unless asked for."""
    database = tmp_path / "gateway.db"
    values: dict[str, Any] = {
        "db_url": f"sqlite:///{database}",
        "key_secret": key_secret(),
        "rules_dir": tmp_path / "rules",
        "tracker": "off",
    }
    values.update(overrides)
    if values["db_url"] == f"sqlite:///{database}" and not database.exists():
        _migrated_sqlite(database)
    return GatewaySettings(**values)


class Api:
    """A synchronous face on ``httpx.AsyncClient(transport=ASGITransport(app))``."""

    def __init__(self, app) -> None:
        self.app = app
        self.state = app.state.gateway
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
        )

    def key(self, tenant: str) -> dict[str, str]:
        """Headers carrying a fresh key for ``tenant``."""
        issued = create_key(self.state.db, self.state.secret, tenant)
        return {"X-API-Key": issued.key}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()
        self.state.close()


@pytest.fixture
def settings_for(tmp_path):
    """``settings_for(**overrides) -> GatewaySettings`` rooted in this test's tmp_path."""
    return lambda **overrides: make_settings(tmp_path, **overrides)


@pytest.fixture
def make_api(tmp_path):
    """``make_api(**settings overrides) -> Api``; everything is closed after the test."""
    made: list[Api] = []

    def factory(**overrides: Any) -> Api:
        api = Api(create_app(make_settings(tmp_path, **overrides)))
        made.append(api)
        return api

    yield factory
    for api in made:
        api.close()


@pytest.fixture
def api(make_api) -> Api:
    return make_api()
