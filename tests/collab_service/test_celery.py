"""``collab.generate`` on a real worker thread and the real Redis: one dataset per request id."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from collab_service import settings as collab_settings
from collab_service.ledger import Ledger
from collab_service.lore_store import LoreStore
from tests.support import redis_db

MODEL_TYPE = "personality"

pytestmark = pytest.mark.integration


@pytest.fixture
def worker(monkeypatch, tmp_path):
    redis_url = redis_db.COLLAB.require()
    from celery.contrib.testing.worker import start_worker

    from collab_service import tasks

    queue = f"collab-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SRLFORGE_COLLAB_DATABASE_URL", f"sqlite:///{tmp_path / 'collab.db'}")
    monkeypatch.setenv("SRLFORGE_COLLAB_ARTIFACT_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("SRLFORGE_COLLAB_QUEUE", queue)
    collab_settings.get_settings.cache_clear()
    app = tasks.app
    saved = {k: app.conf[k] for k in ("broker_url", "result_backend", "task_routes")}
    app.conf.update(
        broker_url=redis_url,
        result_backend=redis_url,
        task_routes={tasks.TASK_NAME: {"queue": queue}},
    )
    try:
        with start_worker(
            app, pool="solo", queues=[queue], perform_ping_check=False, shutdown_timeout=30
        ):
            yield app, collab_settings.get_settings()
    finally:
        app.conf.update(saved)
        collab_settings.get_settings.cache_clear()


def test_same_request_twice_gives_one_dataset(worker):
    from collab_service import tasks

    app, settings = worker
    request_id = f"celery-{uuid.uuid4().hex[:8]}"
    params = {"model_type": MODEL_TYPE, "n": 4, "species": "vampire", "difficulties": [2]}
    sent = tasks.submit(request_id, params, app)
    first = sent.get(timeout=60)
    second = tasks.submit(request_id, params, app).get(timeout=60)
    assert sent.args == [request_id, params]  # ids and small parameters; never a secret
    assert first["kept"] == 4 and first["status"] == "succeeded"
    assert second == first  # answered from the ledger, not generated again
    manifest = json.loads(Path(first["manifest"]).read_text())
    assert manifest["request_id"] == request_id
    assert Path(first["dataset"]).parent == settings.resolved_artifact_dir() / "collab" / request_id
    db_url = settings.resolved_database_url()
    assert Ledger(db_url).get(request_id).attempt == 1  # claimed once
    assert LoreStore(db_url).produced_count(request_id) == 4  # not doubled
