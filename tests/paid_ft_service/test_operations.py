"""Budget holds, idempotency, the monitor's backoff, tracker metrics, the Celery adapter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from paid_ft_service import crud, service, tasks
from paid_ft_service.errors import BudgetExceeded
from paid_ft_service.service import SubmitRequest

MINI = "gpt-4o-mini-2024-07-18"


def _request(examples, epochs=3):
    return SubmitRequest("openai", MINI, "supervised", examples, model_type="facial", epochs=epochs)


def test_budget_hold_refuses_a_job_over_budget_before_upload(
    make_ctx, openai_fake, facial_examples
):
    ctx = make_ctx()
    with ctx.db.session() as s, s.begin():
        crud.set_budget(s, "acme", 0.5)
    url = f"{openai_fake.url}/v1"
    first = service.submit_job(
        ctx, _request(facial_examples, epochs=1), tenant="acme", base_url=url
    )
    assert first["estimate_usd"] < 0.5
    uploads = len(openai_fake.requests_to("POST", "/v1/files"))
    with pytest.raises(BudgetExceeded, match="tenant 'acme'") as info:
        service.submit_job(ctx, _request(facial_examples, epochs=50), tenant="acme", base_url=url)
    assert "held" in str(info.value)
    assert len(openai_fake.requests_to("POST", "/v1/files")) == uploads
    assert [j["id"] for j in service.list_jobs(ctx, "acme")] == [first["id"]]
    with ctx.db.session() as s:
        status = crud.budget_status(s, "acme")
    assert status["held_usd"] == pytest.approx(first["estimate_usd"])
    # Cancelling frees the money for the next job.
    service.cancel_job(ctx, first["id"], tenant="acme")
    with ctx.db.session() as s:
        assert crud.budget_status(s, "acme")["held_usd"] == 0.0


def test_idempotency_key_returns_the_same_job(make_ctx, openai_fake, facial_examples):
    ctx = make_ctx()
    url = f"{openai_fake.url}/v1"
    a = service.submit_job(ctx, _request(facial_examples), idempotency_key="k1", base_url=url)
    b = service.submit_job(ctx, _request(facial_examples), idempotency_key="k1", base_url=url)
    assert a["id"] == b["id"] and len(openai_fake.jobs) == 1
    with pytest.raises(ValueError, match="used for a different request"):
        service.submit_job(ctx, _request(facial_examples[:11]), idempotency_key="k1", base_url=url)
    with pytest.raises(Exception, match="no paid fine-tuning job"):
        service.get_job(ctx, a["id"], tenant="someone-else")


class RecordingTracker:
    def __init__(self):
        self.batches = {}
        self.models = []

    def register_model(self, **fields):
        self.models.append(fields)

    def record_metrics(self, points, *, batch_id=None):
        self.batches.setdefault(batch_id, list(points))


def test_monitor_polls_due_jobs_backs_off_and_feeds_the_tracker(
    make_ctx, openai_fake, facial_examples
):
    tracker = RecordingTracker()
    ctx = make_ctx(tracker=tracker)
    job = service.submit_job(ctx, _request(facial_examples), base_url=f"{openai_fake.url}/v1")
    assert service.monitor_due(ctx) == []  # not due yet
    openai_fake.fail_next("GET", r"/fine_tuning/jobs/ftjob", 503, times=100)
    delays = []
    for _ in range(3):
        ctx.clock["now"] += timedelta(hours=2)
        (polled,) = service.monitor_due(ctx)
        assert "HTTP 503" in polled["error"]
        delays.append((polled_time(polled) - ctx.clock["now"]).total_seconds())
    # The job's own poll interval doubles on each failure (on top of the call's retries).
    assert delays == [120.0, 240.0, 480.0]
    openai_fake.faults.clear()
    openai_fake.clock.advance(500)
    ctx.clock["now"] += timedelta(hours=2)
    (done,) = service.monitor_due(ctx)
    assert done["status"] == "succeeded" and done["error"] is None
    points = [p for batch in tracker.batches.values() for p in batch]
    assert points == [
        {
            "model_id": f"paid-ft:{job['id']}",
            "metric": "loss",
            "value": 0.25,
            "step": len(facial_examples),
            "split": "train",
            "run_id": job["id"],
        }
    ]
    ctx.clock["now"] += timedelta(hours=2)
    assert service.monitor_due(ctx) == []  # finished jobs are not polled again


def test_metrics_land_in_the_real_tracker(make_ctx, openai_fake, facial_examples, tmp_path):
    from tracker_service.embedded import EmbeddedTracker

    with EmbeddedTracker(f"sqlite:///{tmp_path / 'tracker.db'}", auto_migrate=True) as tracker:
        ctx = make_ctx(tracker=tracker)
        job = service.submit_job(ctx, _request(facial_examples), base_url=f"{openai_fake.url}/v1")
        openai_fake.clock.advance(500)
        service.refresh_job(ctx, job["id"])
        service.refresh_job(ctx, job["id"])  # a repeated poll must not duplicate points
        trend = tracker.query_trend(f"paid-ft:{job['id']}", "loss", split="train")
    assert (trend.count, trend.mean) == (1, 0.25)


def polled_time(view):
    from datetime import datetime

    return datetime.fromisoformat(view["next_poll_at"])


def test_celery_monitor_task_runs_the_same_function(
    make_ctx, openai_fake, facial_examples, monkeypatch
):
    ctx = make_ctx()
    job = service.submit_job(ctx, _request(facial_examples), base_url=f"{openai_fake.url}/v1")
    monkeypatch.setattr(tasks, "context", lambda: ctx)
    ctx.clock["now"] += timedelta(hours=1)
    openai_fake.clock.advance(500)
    result = tasks.monitor.apply().get()
    assert result == [
        {"id": job["id"], "status": "succeeded", "next_poll_at": result[0]["next_poll_at"]}
    ]
    assert tasks.app.conf.beat_schedule["paid-ft-monitor"]["task"] == tasks.MONITOR
    assert tasks.app.conf.task_routes[tasks.SUBMIT] == {"queue": "paid_ft"}
