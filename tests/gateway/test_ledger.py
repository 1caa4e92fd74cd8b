"""The job-step ledger on SQLite and on the real PostgreSQL: one owner per step however many
deliveries race, a dead worker's step redone (up to max_attempts) and never by two workers at
once, late writers fenced off, cooperative cancel, tenant scoping."""

from __future__ import annotations

import secrets
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway import ledger as ledger_module
from gateway.db import GatewayDatabase
from gateway.keys import authenticate, create_key
from gateway.ledger import JobStepLedger
from tests.support.postgres import BACKENDS

pytestmark = pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True, scope="module")
STEPS = ["generate", "srl", "rlvr", "evaluate", "register"]


class Clock:
    """The ledger's clock, moved by the test instead of by sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(ledger_module, "utcnow", fake)
    return fake


@pytest.fixture
def setup(db_url):
    db = GatewayDatabase(db_url)
    secret = secrets.token_bytes(32)

    def tenant() -> int:
        issued = create_key(db, secret, f"t-{uuid.uuid4().hex[:10]}")
        principal = authenticate(db, secret, issued.key)
        assert principal is not None
        return principal.tenant_id

    yield JobStepLedger(db), tenant
    db.dispose()


def _job(ledger: JobStepLedger, tenant_id: int, **kwargs) -> str:
    job_id = f"job-{uuid.uuid4().hex[:12]}"
    assert ledger.enqueue(tenant_id, job_id, STEPS, **kwargs) is True
    return job_id


def test_enqueue_is_idempotent_and_checked(setup):
    ledger, tenant = setup
    tenant_id = tenant()
    job_id = _job(ledger, tenant_id)
    assert ledger.enqueue(tenant_id, job_id, STEPS) is False
    assert [s.step for s in ledger.steps(tenant_id, job_id)] == STEPS
    assert {s.status for s in ledger.steps(tenant_id, job_id)} == {"queued"}
    with pytest.raises(ValueError, match="max_attempts"):
        ledger.enqueue(tenant_id, "x", STEPS, max_attempts=0)
    with pytest.raises(ValueError, match="distinct"):
        ledger.enqueue(tenant_id, "y", ["srl", "srl"])


def test_racing_deliveries_give_exactly_one_owner(setup):
    ledger, tenant = setup
    job_id = _job(ledger, tenant())
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def deliver(n: int) -> None:
        barrier.wait()
        outcomes.append(ledger.claim(job_id, "srl", f"worker-{n}", lease_s=60).status)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["busy"] * 7 + ["claimed"]


def test_a_long_step_redelivered_mid_run_is_not_run_twice(setup, clock):
    ledger, tenant = setup
    job_id = _job(ledger, tenant())
    assert ledger.claim(job_id, "rlvr", "a", lease_s=60).status == "claimed"
    for _ in range(5):  # runs far past any visibility timeout, heartbeating
        clock.advance(45)
        assert ledger.heartbeat(job_id, "rlvr", "a", lease_s=60).owned
        assert ledger.claim(job_id, "rlvr", "redelivered", lease_s=60).status == "busy"
    assert ledger.complete(job_id, "rlvr", "a", {"checkpoint": "ckpt-1"})
    late = ledger.claim(job_id, "rlvr", "redelivered", lease_s=60)
    assert (late.status, late.result) == ("done", {"checkpoint": "ckpt-1"})


def test_a_dead_workers_step_is_redone_once_and_the_late_writer_is_fenced(setup, clock):
    ledger, tenant = setup
    job_id = _job(ledger, tenant())
    assert ledger.claim(job_id, "srl", "a", lease_s=30).status == "claimed"
    clock.advance(31)  # "a" stopped heartbeating (SIGKILL, lost node)
    retry = ledger.claim(job_id, "srl", "b", lease_s=30)
    assert (retry.status, retry.attempt) == ("claimed", 2)
    assert ledger.claim(job_id, "srl", "c", lease_s=30).status == "busy"
    # "a" comes back: it may neither renew nor finish the step "b" now owns.
    assert ledger.heartbeat(job_id, "srl", "a", lease_s=30).owned is False
    assert ledger.complete(job_id, "srl", "a", {"from": "a"}) is False
    assert ledger.complete(job_id, "srl", "b", {"from": "b"}) is True
    assert ledger.claim(job_id, "srl", "c", lease_s=30).result == {"from": "b"}


def test_attempts_run_out(setup, clock):
    ledger, tenant = setup
    tenant_id = tenant()
    job_id = _job(ledger, tenant_id, max_attempts=2)
    for owner in ("a", "b"):
        assert ledger.claim(job_id, "evaluate", owner, lease_s=10).status == "claimed"
        clock.advance(11)
    assert ledger.claim(job_id, "evaluate", "c", lease_s=10).status == "failed"
    assert ledger.reap() == []
    state = {s.step: s for s in ledger.steps(tenant_id, job_id)}["evaluate"]
    assert (state.status, state.attempt) == ("failed", 2)
    assert "no attempts left" in (state.error or "")


def test_the_reaper_requeues_stale_steps(setup, clock):
    ledger, tenant = setup
    tenant_id = tenant()
    job_id = _job(ledger, tenant_id)
    assert ledger.claim(job_id, "generate", "a", lease_s=20).status == "claimed"
    assert ledger.claim(job_id, "srl", "b", lease_s=600).status == "claimed"
    clock.advance(21)
    assert ledger.reap() == [(job_id, "generate")]  # srl's lease still runs
    states = {s.step: s for s in ledger.steps(tenant_id, job_id)}
    assert states["generate"].status == "queued" and states["generate"].lease_owner is None
    assert states["srl"].status == "running"
    again = ledger.claim(job_id, "generate", "c", lease_s=20)
    assert (again.status, again.attempt) == ("claimed", 2)
    assert ledger.complete(job_id, "generate", "a", {}) is False


def test_failures_retry_until_attempts_run_out(setup):
    ledger, tenant = setup
    tenant_id = tenant()
    job_id = _job(ledger, tenant_id, max_attempts=2)
    assert ledger.claim(job_id, "rlvr", "a", lease_s=60).status == "claimed"
    assert ledger.fail(job_id, "rlvr", "a", "CUDA OOM", retry=True)
    assert ledger.claim(job_id, "rlvr", "b", lease_s=60).attempt == 2
    assert ledger.fail(job_id, "rlvr", "b", "CUDA OOM again", retry=True)
    final = ledger.claim(job_id, "rlvr", "c", lease_s=60)
    assert (final.status, final.error) == ("failed", "CUDA OOM again")


def test_cancel_is_cooperative_and_tenant_scoped(setup, clock):
    ledger, tenant = setup
    owner_tenant, other_tenant = tenant(), tenant()
    job_id = _job(ledger, owner_tenant)
    assert ledger.claim(job_id, "generate", "a", lease_s=60).status == "claimed"
    assert ledger.complete(job_id, "generate", "a", {})
    assert ledger.claim(job_id, "srl", "a", lease_s=60).status == "claimed"
    assert ledger.request_cancel(other_tenant, job_id) is None
    assert ledger.steps(other_tenant, job_id) == []
    assert ledger.request_cancel(owner_tenant, job_id) == 4  # srl running + 3 queued
    beat = ledger.heartbeat(job_id, "srl", "a", lease_s=60)
    assert beat.owned and beat.cancel_requested
    assert ledger.cancelled(job_id, "srl", "a")
    assert ledger.claim(job_id, "rlvr", "b", lease_s=60).status == "cancelled"
    statuses = [s.status for s in ledger.steps(owner_tenant, job_id)]
    assert statuses == ["succeeded", "cancelled", "cancelled", "cancelled", "cancelled"]


def test_a_cancelled_step_whose_worker_died_ends_cancelled(setup, clock):
    ledger, tenant = setup
    tenant_id = tenant()
    job_id = _job(ledger, tenant_id)
    assert ledger.claim(job_id, "generate", "a", lease_s=10).status == "claimed"
    ledger.request_cancel(tenant_id, job_id)
    clock.advance(11)
    assert ledger.reap() == []
    assert ledger.steps(tenant_id, job_id)[0].status == "cancelled"
