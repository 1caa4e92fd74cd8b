"""The request ledger decides who works on a request, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest

from collab_service.ledger import Ledger, RequestConflict

PARAMS = {"model_type": "personality", "n": 3}


@pytest.fixture(scope="module")
def ledger(db_url):
    return Ledger(db_url)


def test_submit_is_idempotent_and_rejects_reuse_with_other_params(ledger):
    assert ledger.submit("req-a", PARAMS) is True
    assert ledger.submit("req-a", dict(PARAMS)) is False
    with pytest.raises(RequestConflict, match="req-a"):
        ledger.submit("req-a", {**PARAMS, "n": 4})


def test_one_worker_at_a_time_and_a_finished_request_answers_from_the_ledger(ledger):
    ledger.submit("req-b", PARAMS)
    first = ledger.claim("req-b", "worker-1", lease_s=60)
    assert first.status == "claimed" and first.params == PARAMS and first.attempt == 1
    assert ledger.claim("req-b", "worker-2", lease_s=60).status == "busy"
    assert ledger.heartbeat("req-b", "worker-1", lease_s=60)
    assert not ledger.complete("req-b", "worker-2", {"kept": 9})  # not the lease owner
    assert ledger.complete("req-b", "worker-1", {"kept": 3})
    done = ledger.claim("req-b", "worker-3", lease_s=60)
    assert done.status == "done" and done.result == {"kept": 3}


def test_an_expired_lease_is_taken_over(ledger):
    ledger.submit("req-c", PARAMS)
    assert ledger.claim("req-c", "dead-worker", lease_s=0.01).status == "claimed"
    time.sleep(0.05)
    takeover = ledger.claim("req-c", "live-worker", lease_s=60)
    assert takeover.status == "claimed" and takeover.attempt == 2
    assert not ledger.complete("req-c", "dead-worker", {"kept": 1})  # the zombie cannot finish
    assert ledger.complete("req-c", "live-worker", {"kept": 3})


def test_failed_and_released_requests(ledger):
    ledger.submit("req-d", PARAMS)
    ledger.claim("req-d", "w", lease_s=60)
    assert ledger.fail("req-d", "w", "TeacherConfigError: no key")
    failed = ledger.claim("req-d", "w2", lease_s=60)
    assert failed.status == "failed" and "no key" in failed.error

    ledger.submit("req-e", PARAMS)
    ledger.claim("req-e", "w", lease_s=60)
    assert ledger.release("req-e", "w")
    assert ledger.claim("req-e", "w2", lease_s=60).status == "claimed"
    assert ledger.claim("req-unknown", "w", lease_s=60).status == "unknown"
