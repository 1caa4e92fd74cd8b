"""The celery executor against the real Redis broker (db 12) and a real worker thread.

The gateway submits a chain of immutable ``gateway.run_step(job_id, step)`` signatures routed
to per-test queues; ``celery.contrib.testing.worker.start_worker`` consumes them. The generate
step is the trainer's real one; the ``srl`` step is replaced by a recorder in the worker (the
real one first builds the tiny base model, minutes on a CPU), which is enough to show that the
chain hands the job from the collab queue to the srl queue with ids only.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker

import gateway.executors as executors
from gateway.celery_app import make_celery
from gateway.jobs import QUEUES
from tests.gateway.test_jobs import GENERATE_ONLY, wait_for_end
from tests.support.redis_db import RedisDb

CELERY_REDIS = RedisDb("SRLFORGE_TEST_GATEWAY_CELERY_REDIS_URL", 12)

pytestmark = pytest.mark.integration


@pytest.fixture
def broker_url():
    url = CELERY_REDIS.require()
    prefix = f"srlforge-test-{uuid.uuid4().hex[:10]}-"
    yield url, prefix
    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
    finally:
        client.close()


def test_a_job_runs_as_a_celery_chain_on_a_real_worker(make_api, tmp_path, broker_url, monkeypatch):
    url, prefix = broker_url
    seen: list[tuple[str, str, dict]] = []
    real = executors.run_step

    def steps(job_id: str, step: str, params: dict, runs_dir: Path) -> dict:
        seen.append((job_id, step, params))
        if step == "srl":
            return {"steps": 0, "metrics": {"recorded": 1.0}, "model_dir": "none"}
        return real(job_id, step, params, runs_dir)

    monkeypatch.setattr(executors, "run_step", steps)
    # A worker-side breakdown outside the step itself (here: the database refusing a write)
    # escapes the task; the chain's errback still ends the job.
    real_running = executors.JobStore.mark_running

    def mark_running(store, job_id: str) -> bool:
        if store.get(job_id).params["seed"] == 13:
            raise ConnectionError("database went away")
        return real_running(store, job_id)

    monkeypatch.setattr(executors.JobStore, "mark_running", mark_running)
    api = make_api(
        executor="celery", broker_url=url, celery_queue_prefix=prefix, runs_dir=tmp_path / "runs"
    )
    worker_app = make_celery(api.state.settings)
    queues = ",".join(f"{prefix}{q}" for q in sorted(set(QUEUES.values())))
    alice = api.key("alice")
    started = time.perf_counter()
    with start_worker(
        worker_app, pool="solo", perform_ping_check=False, queues=queues, shutdown_timeout=10
    ):
        job = api.post(
            "/v1/jobs",
            json={**GENERATE_ONLY, "stages": ["srl"]},
            headers={**alice, "Idempotency-Key": "celery-1"},
        )
        assert job.status_code == 202, job.text
        assert job.json()["executor"] == "celery"
        done = wait_for_end(api, job.json()["job_id"], alice, timeout_s=20)
        failing = api.post("/v1/jobs", json={**GENERATE_ONLY, "seed": 1_000_000}, headers=alice)
        failed = wait_for_end(api, failing.json()["job_id"], alice, timeout_s=20)
        broken = api.post("/v1/jobs", json={**GENERATE_ONLY, "seed": 13}, headers=alice)
        errback = wait_for_end(api, broken.json()["job_id"], alice, timeout_s=20)
    assert done["status"] == "succeeded", done
    assert [(s["step"], s["status"], s["attempt"]) for s in done["steps"]] == [
        ("generate", "succeeded", 1),
        ("srl", "succeeded", 1),
    ]
    assert done["report"]["steps"]["srl"]["metrics"] == {"recorded": 1.0}
    assert Path(done["report"]["steps"]["generate"]["dataset"]["path"]).is_dir()
    assert [(j, s) for j, s, _ in seen[:2]] == [
        (done["job_id"], "generate"),
        (done["job_id"], "srl"),
    ]
    assert seen[0][2]["register_model"] is False  # the gateway's tracker is off here
    assert failed["status"] == "failed"
    assert failed["error"].startswith("step generate failed: ValueError: seed 1000000")
    assert errback["status"] == "failed"
    assert errback["error"] == "a step of this job failed on a worker"
    assert time.perf_counter() - started < 20
