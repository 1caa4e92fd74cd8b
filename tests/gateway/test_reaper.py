"""The celery executor's step reaper on a real (SQLite) gateway database: a step whose worker
died is re-queued once and its chain sent again from that step; a job whose dead step is out of
attempts, or was cancelled, ends; a job with a step still running is left alone.
(``tests/deploy/test_distributed.py`` kills a real worker process and watches the redo.)"""

from __future__ import annotations

import secrets
import time
import uuid

import pytest

from gateway.db import GatewayDatabase, upgrade
from gateway.executors import StepReaper
from gateway.jobs import JobStore
from gateway.keys import authenticate, create_key
from gateway.ledger import JobStepLedger

PLAN = ["generate", "srl", "rlvr"]


@pytest.fixture
def reaper(tmp_path):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    db = GatewayDatabase(url)
    secret = secrets.token_bytes(32)
    principal = authenticate(db, secret, create_key(db, secret, "acme").key)
    sent: list[tuple[str, list[str]]] = []
    reaper = StepReaper(db, lambda job, steps: sent.append((job.id, steps)), interval_s=3600)

    def job(max_attempts: int = 3) -> str:
        job_id = f"job-{uuid.uuid4().hex[:12]}"
        JobStore(db).create(principal.tenant_id, job_id, "celery", {}, PLAN)
        JobStepLedger(db).enqueue(principal.tenant_id, job_id, PLAN, max_attempts=max_attempts)
        JobStore(db).mark_running(job_id)
        return job_id

    yield reaper, job, sent, principal.tenant_id
    db.dispose()


def test_a_dead_workers_step_is_sent_again_once(reaper):
    reaper, job, sent, _ = reaper
    job_id = job()
    ledger = reaper.ledger
    assert ledger.claim(job_id, "generate", "w1", lease_s=30).status == "claimed"
    assert ledger.complete(job_id, "generate", "w1", {})
    assert ledger.claim(job_id, "srl", "dead", lease_s=0.05).status == "claimed"
    time.sleep(0.1)
    assert reaper.reap_once() == [(job_id, "srl")]
    assert sent == [(job_id, ["srl", "rlvr"])]
    assert reaper.reap_once() == [] and len(sent) == 1  # nothing twice
    again = ledger.claim(job_id, "srl", "w2", lease_s=30)
    assert (again.status, again.attempt) == ("claimed", 2)
    assert ledger.complete(job_id, "srl", "dead", {}) is False  # the dead owner is fenced off
    assert JobStore(reaper.db).get(job_id).status == "running"


def test_a_dead_step_out_of_attempts_fails_its_job(reaper):
    reaper, job, sent, _ = reaper
    job_id = job(max_attempts=1)
    assert reaper.ledger.claim(job_id, "generate", "dead", lease_s=0.05).status == "claimed"
    time.sleep(0.1)
    assert reaper.reap_once() == [] and sent == []
    ended = JobStore(reaper.db).get(job_id)
    assert ended.status == "failed"
    assert ended.error == "step generate failed: worker lost with no attempts left"


def test_a_cancelled_job_ends_once_no_step_runs(reaper):
    reaper, job, sent, tenant_id = reaper
    running, dead = job(), job()
    assert reaper.ledger.claim(running, "generate", "alive", lease_s=30).status == "claimed"
    assert reaper.ledger.claim(dead, "generate", "dead", lease_s=0.05).status == "claimed"
    for job_id in (running, dead):
        reaper.ledger.request_cancel(tenant_id, job_id)
    time.sleep(0.1)
    reaper.reap_once()
    store = JobStore(reaper.db)
    assert store.get(running).status == "running"  # its step finishes first
    assert store.get(dead).status == "cancelled"
    assert sent == []
