"""The jobs API on the local executor, running the real pipeline's generate step.

A minimal real job is ``stages: [], evaluate: false``: the trainer's ``generate`` writes the
expert dataset into ``runs/<job_id>/dataset`` (well under a second). Training stages are not
run here: the first one builds the ``tiny`` base model (minutes on a CPU); a test that needs a
later step to exist uses a plan with ``evaluate`` and a gate around the generate step.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import gateway.executors as executors
from gateway.ledger import JobStepLedger
from tests.gateway.conftest import key_secret

GENERATE_ONLY: dict[str, Any] = {
    "model_type": "facial",
    "stages": [],
    "evaluate": False,
    "teacher": "arena",
    "train_difficulties": [1],
    "budget": {"n_examples": 2, "max_steps": 1, "eval_episodes": 1},
}


def wait_for_end(api, job_id: str, headers: dict[str, str], timeout_s: float = 15) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = api.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if body["status"] in ("succeeded", "failed", "cancelled"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end in {timeout_s} s: {body}")


class Gate:
    """Wraps the real step function: records the steps run, holds ``generate`` until
    released, and refuses ``evaluate`` (it would build a base model for minutes)."""

    def __init__(self, monkeypatch) -> None:
        self.real = executors.run_step
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls: list[str] = []
        monkeypatch.setattr(executors, "run_step", self)

    def __call__(self, job_id: str, step: str, params: dict, runs_dir: Path) -> dict:
        self.calls.append(step)
        if step == "generate":
            self.entered.set()
            assert self.release.wait(15), "the test never released the gate"
        if step == "evaluate":
            raise AssertionError("evaluate ran although the job was cancelled")
        return self.real(job_id, step, params, runs_dir)


@pytest.fixture
def jobs_api(make_api, tmp_path):
    return make_api(runs_dir=tmp_path / "runs", job_events_poll_s=0.05)


def test_submit_runs_the_real_generate_step_to_a_report(jobs_api, tmp_path):
    alice = jobs_api.key("alice")
    started = jobs_api.post("/v1/jobs", json=GENERATE_ONLY, headers=alice)
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["plan"] == ["generate"] and job["executor"] == "local"
    done = wait_for_end(jobs_api, job["job_id"], alice)
    assert done["status"] == "succeeded", done
    assert done["progress"] == {"done": 1, "total": 1, "fraction": 1.0, "current_step": None}
    (step,) = done["steps"]
    assert step["step"] == "generate" and step["attempt"] == 1
    dataset = done["report"]["steps"]["generate"]["dataset"]
    assert Path(dataset["path"]).is_relative_to(tmp_path / "runs" / job["job_id"])
    assert len((Path(dataset["path"]) / "trajectories.jsonl").read_text().splitlines()) == 2
    listed = jobs_api.get("/v1/jobs", headers=alice).json()
    assert [j["job_id"] for j in listed] == [job["job_id"]]


def test_the_same_idempotency_key_gives_one_job_and_one_execution(jobs_api, monkeypatch):
    calls: list[str] = []
    real = executors.run_step
    monkeypatch.setattr(
        executors, "run_step", lambda j, s, p, r: calls.append(s) or real(j, s, p, r)
    )
    alice = {**jobs_api.key("alice"), "Idempotency-Key": "nightly-42"}
    first = jobs_api.post("/v1/jobs", json=GENERATE_ONLY, headers=alice)
    second = jobs_api.post("/v1/jobs", json=GENERATE_ONLY, headers=alice)
    assert first.status_code == second.status_code == 202
    assert first.json()["job_id"] == second.json()["job_id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    wait_for_end(jobs_api, first.json()["job_id"], alice)
    assert calls == ["generate"]
    assert len(jobs_api.get("/v1/jobs", headers=alice).json()) == 1
    other = jobs_api.post("/v1/jobs", json={**GENERATE_ONLY, "seed": 7}, headers=alice)
    assert other.status_code == 422 and "different request" in other.json()["detail"]


def test_another_tenants_job_is_not_found(jobs_api):
    alice, bob = jobs_api.key("alice"), jobs_api.key("bob")
    job_id = jobs_api.post("/v1/jobs", json=GENERATE_ONLY, headers=alice).json()["job_id"]
    wait_for_end(jobs_api, job_id, alice)
    assert jobs_api.get(f"/v1/jobs/{job_id}", headers=bob).status_code == 404
    assert jobs_api.post(f"/v1/jobs/{job_id}:cancel", headers=bob).status_code == 404
    assert jobs_api.get(f"/v1/jobs/{job_id}/events", headers=bob).status_code == 404
    assert jobs_api.get("/v1/jobs", headers=bob).json() == []
    # The same Idempotency-Key is a different job for another tenant.
    a = jobs_api.post("/v1/jobs", json=GENERATE_ONLY, headers={**alice, "Idempotency-Key": "k"})
    b = jobs_api.post("/v1/jobs", json=GENERATE_ONLY, headers={**bob, "Idempotency-Key": "k"})
    assert a.json()["job_id"] != b.json()["job_id"]
    wait_for_end(jobs_api, a.json()["job_id"], alice)
    wait_for_end(jobs_api, b.json()["job_id"], bob)


def test_the_concurrent_job_quota_answers_429(make_api, tmp_path, monkeypatch):
    api = make_api(runs_dir=tmp_path / "runs", max_concurrent_jobs=1)
    gate = Gate(monkeypatch)
    alice, bob = api.key("alice"), api.key("bob")
    first = api.post("/v1/jobs", json=GENERATE_ONLY, headers=alice)
    assert first.status_code == 202
    refused = api.post("/v1/jobs", json=GENERATE_ONLY, headers=alice)
    assert refused.status_code == 429
    assert "quota reached: 1 jobs queued or running, at most 1" in refused.json()["detail"]
    assert refused.headers["Retry-After"] == "30"
    assert api.post("/v1/jobs", json=GENERATE_ONLY, headers=bob).status_code == 202  # per tenant
    gate.release.set()
    wait_for_end(api, first.json()["job_id"], alice)
    assert api.post("/v1/jobs", json=GENERATE_ONLY, headers=alice).status_code == 202


def test_cancel_stops_the_job_before_its_next_step(jobs_api, monkeypatch):
    gate = Gate(monkeypatch)
    alice = jobs_api.key("alice")
    job_id = jobs_api.post(
        "/v1/jobs", json={**GENERATE_ONLY, "evaluate": True}, headers=alice
    ).json()["job_id"]
    assert gate.entered.wait(10)
    asked = jobs_api.post(f"/v1/jobs/{job_id}:cancel", headers=alice).json()
    assert asked["cancel_requested"] is True and asked["status"] == "running"
    gate.release.set()
    done = wait_for_end(jobs_api, job_id, alice)
    assert done["status"] == "cancelled" and done["error"] == "cancelled on request"
    assert {s["step"]: s["status"] for s in done["steps"]} == {
        "generate": "succeeded",
        "evaluate": "cancelled",
    }
    assert gate.calls == ["generate"]
    again = jobs_api.post(f"/v1/jobs/{job_id}:cancel", headers=alice)
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


def test_events_stream_progress_and_end_with_the_job(jobs_api):
    alice = jobs_api.key("alice")
    job_id = jobs_api.post("/v1/jobs", json=GENERATE_ONLY, headers=alice).json()["job_id"]
    response = jobs_api.get(f"/v1/jobs/{job_id}/events", headers=alice)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [
        (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("data: ", 1)[1]))
        for block in response.text.strip().split("\n\n")
    ]
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "end" and set(kinds[:-1]) == {"progress"} and len(kinds) >= 2
    assert events[-1][1] == {"job_id": job_id, "status": "succeeded", "error": None}
    assert events[-2][1]["progress"]["done"] == 1


def test_invalid_requests_are_422_before_any_job_exists(jobs_api):
    alice = jobs_api.key("alice")
    unknown = jobs_api.post(
        "/v1/jobs", json={**GENERATE_ONLY, "model_type": "dragon"}, headers=alice
    )
    assert unknown.status_code == 422 and "unknown model type" in unknown.text
    extra = jobs_api.post("/v1/jobs", json={**GENERATE_ONLY, "gpu_hours": 9}, headers=alice)
    assert extra.status_code == 422 and "gpu_hours" in extra.text
    disorder = jobs_api.post(
        "/v1/jobs", json={**GENERATE_ONLY, "stages": ["rlvr", "srl"]}, headers=alice
    )
    assert disorder.status_code == 422 and "out of order" in disorder.json()["detail"]
    assert jobs_api.get("/v1/jobs", headers=alice).json() == []


def test_a_step_that_raises_fails_the_job_with_its_message(jobs_api):
    alice = jobs_api.key("alice")
    # Training seeds must stay below the held-out range: the trainer's generate step refuses.
    job_id = jobs_api.post(
        "/v1/jobs", json={**GENERATE_ONLY, "seed": 1_000_000}, headers=alice
    ).json()["job_id"]
    done = wait_for_end(jobs_api, job_id, alice)
    assert done["status"] == "failed"
    assert done["error"].startswith("step generate failed: ValueError: seed 1000000 is in the")
    assert done["steps"][0]["status"] == "failed" and done["report"] is None
    steps = JobStepLedger(jobs_api.state.db).steps(1, job_id)
    assert [s.status for s in steps] == ["failed"]


def test_a_failure_message_masks_credentials():
    from gateway.jobs import public_error

    message = public_error("evaluate", OSError("cannot reach postgresql://app:s3cret@db/x"))
    assert "s3cret" not in message and "postgresql://***@db/x" in message


def test_a_gateway_stopped_between_steps_resumes_the_job_on_restart(
    make_api, tmp_path, monkeypatch
):
    settings = {"runs_dir": tmp_path / "runs", "key_secret": key_secret()}  # one secret
    gate = Gate(monkeypatch)
    first = make_api(**settings)
    alice = first.key("alice")
    plan = {**GENERATE_ONLY, "stages": ["srl"]}
    job_id = first.post("/v1/jobs", json=plan, headers=alice).json()["job_id"]
    assert gate.entered.wait(10)
    closing = threading.Thread(target=first.state.executor.close)
    closing.start()
    gate.release.set()
    closing.join(15)
    stopped = first.get(f"/v1/jobs/{job_id}", headers=alice).json()
    assert stopped["status"] == "queued"
    assert [s["status"] for s in stopped["steps"]] == ["succeeded", "queued"]
    resumed: list[str] = []
    monkeypatch.setattr(
        executors, "run_step", lambda j, s, p, r: resumed.append(s) or {"steps": 0, "stub": True}
    )
    second = make_api(**settings)  # same database: the queued job is resubmitted
    done = wait_for_end(second, job_id, alice)
    assert done["status"] == "succeeded" and resumed == ["srl"]
