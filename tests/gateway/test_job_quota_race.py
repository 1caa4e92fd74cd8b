"""The per-tenant job quota under concurrent submissions, on SQLite and the real PostgreSQL.

Eight ``POST /v1/jobs`` with different ``Idempotency-Key``s arrive together for a tenant whose
quota is 2; the first job is held inside its generate step, so every accepted job stays queued
or running for the whole test. Exactly two may be accepted, whatever the interleaving.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.gateway.test_jobs import GENERATE_ONLY, Gate, wait_for_end
from tests.support.postgres import BACKENDS

pytestmark = pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True, scope="module")
QUOTA = 2
SUBMISSIONS = 8


def _submit_together(api, headers: dict[str, str], n: int) -> list:
    """``n`` submissions in flight at once (sync handlers run on the thread pool)."""

    async def all_at_once():
        return await asyncio.gather(
            *(
                api._client.post(
                    "/v1/jobs", json=GENERATE_ONLY, headers={**headers, "Idempotency-Key": f"k{i}"}
                )
                for i in range(n)
            )
        )

    return api._loop.run_until_complete(all_at_once())


def test_concurrent_submissions_cannot_exceed_the_quota(make_api, db_url, tmp_path, monkeypatch):
    api = make_api(db_url=db_url, runs_dir=tmp_path / "runs", max_concurrent_jobs=QUOTA)
    gate = Gate(monkeypatch)
    alice = api.key(f"quota-{tmp_path.name[-12:].lower()}")
    try:
        answers = _submit_together(api, alice, SUBMISSIONS)
        codes = sorted(a.status_code for a in answers)
        assert codes == [202] * QUOTA + [429] * (SUBMISSIONS - QUOTA), [a.text for a in answers]
        for refused in (a for a in answers if a.status_code == 429):
            assert refused.headers["Retry-After"] == "30"
            assert "quota reached" in refused.json()["detail"]
        listed = api.get("/v1/jobs", headers=alice).json()
        assert len(listed) == QUOTA
        assert {j["status"] for j in listed} <= {"queued", "running"}
    finally:
        gate.release.set()
    for job in (a.json() for a in answers if a.status_code == 202):
        assert wait_for_end(api, job["job_id"], alice)["status"] == "succeeded"
    # Places free up once the jobs end.
    again = api.post("/v1/jobs", json=GENERATE_ONLY, headers={**alice, "Idempotency-Key": "later"})
    assert again.status_code == 202, again.text
    wait_for_end(api, again.json()["job_id"], alice)


def test_a_replayed_key_is_not_refused_by_the_quota_it_used(
    make_api, db_url, tmp_path, monkeypatch
):
    """The same Idempotency-Key sent concurrently is one job, even when it fills the quota."""
    api = make_api(db_url=db_url, runs_dir=tmp_path / "runs", max_concurrent_jobs=1)
    gate = Gate(monkeypatch)
    alice = {**api.key(f"replay-{tmp_path.name[-12:].lower()}"), "Idempotency-Key": "same"}

    async def twice():
        return await asyncio.gather(
            *(api._client.post("/v1/jobs", json=GENERATE_ONLY, headers=alice) for _ in range(4))
        )

    try:
        answers = api._loop.run_until_complete(twice())
        assert [a.status_code for a in answers] == [202] * 4, [a.text for a in answers]
        assert len({a.json()["job_id"] for a in answers}) == 1
    finally:
        gate.release.set()
    wait_for_end(api, answers[0].json()["job_id"], alice)
