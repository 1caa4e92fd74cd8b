"""OpenAI fine-tuning through the official SDK against the fake: the issue's scenarios."""

from __future__ import annotations

import logging

import pytest
from srlforge_test_fakes.credentials import BEFORE_RETIREMENTS, OPENAI_KEY

from paid_ft_service import service
from paid_ft_service.datasets import render_episode
from paid_ft_service.errors import AuthFailed, DatasetInvalid, NotAvailable
from paid_ft_service.service import SubmitRequest
from srlforge.arena import get_arena
from srlforge.arena.hacks import PROBES

MINI = "gpt-4o-mini-2024-07-18"


def _request(examples, method="supervised", model=MINI, **kw):
    return SubmitRequest("openai", model, method, examples, model_type="facial", **kw)


def test_submit_runs_to_success_and_records_tuned_model(make_ctx, openai_fake, facial_examples):
    ctx = make_ctx()
    job = service.submit_job(
        ctx, _request(facial_examples, suffix="facial"), base_url=f"{openai_fake.url}/v1"
    )
    assert job["status"] == "queued" and job["provider_status"] == "validating_files"
    assert service.get_job(ctx, job["id"])["budget_hold"] == "held"
    upload = openai_fake.requests_to("POST", r"/v1/files$")
    assert len(upload) == 1 and b"fine-tune" in upload[0].body

    openai_fake.clock.advance(30)
    assert service.refresh_job(ctx, job["id"])["status"] == "running"
    openai_fake.clock.advance(200)
    done = service.get_job(ctx, service.refresh_job(ctx, job["id"])["id"])
    assert done["status"] == "succeeded"
    assert done["tuned_model"].startswith(f"ft:{MINI}:org-fake:facial:ftjob-")
    assert done["budget_hold"] == "committed" and done["cost_usd"] > 0
    assert [e["message"] for e in done["events"]][-1] == "The job has successfully completed"
    # A second refresh of a finished job changes nothing (the monitor may run twice).
    assert service.refresh_job(ctx, job["id"])["tuned_model"] == done["tuned_model"]


def test_bad_dataset_surfaces_the_providers_failure(make_ctx, openai_fake, facial_examples):
    ctx = make_ctx()
    # Nine rows pass our row checks but not OpenAI's 10-example minimum: we refuse up front.
    with pytest.raises(DatasetInvalid, match="needs at least 10"):
        service.submit_job(ctx, _request(facial_examples[:9]), base_url=f"{openai_fake.url}/v1")
    assert openai_fake.requests_to("POST", "/v1/files") == []
    # A file that slips past us (uploaded by hand) fails at the provider; the job shows why.
    provider = ctx.provider("openai", f"{openai_fake.url}/v1")
    file_id = provider.upload_dataset(b'{"messages": []}\n' * 12, "bad.jsonl")
    from paid_ft_service.providers import JobSpec

    created = provider.create_job(JobSpec(model=MINI, method="supervised", training_file=file_id))
    openai_fake.clock.advance(15)
    failed = provider.get_job(created.job_id)
    assert failed.status == "failed"
    assert "invalid_training_file" in failed.error and "missing 'messages'" in failed.error


def test_cancel_releases_the_budget_hold(make_ctx, openai_fake, facial_examples):
    ctx = make_ctx()
    job = service.submit_job(ctx, _request(facial_examples), base_url=f"{openai_fake.url}/v1")
    cancelled = service.cancel_job(ctx, job["id"])
    assert cancelled["status"] == "cancelled"
    assert service.get_job(ctx, job["id"])["budget_hold"] == "released"
    assert openai_fake.jobs[job["provider_job_id"]]["status"] == "cancelled"


def test_rate_limit_is_retried_with_backoff(make_ctx, openai_fake, facial_examples, sleeps):
    ctx = make_ctx()
    openai_fake.fail_next("POST", r"/fine_tuning/jobs$", 429, times=2, headers={"retry-after": "3"})
    job = service.submit_job(ctx, _request(facial_examples), base_url=f"{openai_fake.url}/v1")
    assert job["status"] == "queued"
    assert sleeps == [3.0, 3.0]  # Retry-After (3 s) beats the 1 s, 2 s backoff
    assert len(openai_fake.requests_to("POST", r"/fine_tuning/jobs$")) == 3


def test_server_errors_retry_then_give_up(make_ctx, openai_fake, facial_examples, sleeps):
    ctx = make_ctx()
    openai_fake.fail_next("POST", r"/v1/files$", 503, times=10)
    with pytest.raises(Exception, match="HTTP 503"):
        service.submit_job(ctx, _request(facial_examples), base_url=f"{openai_fake.url}/v1")
    assert sleeps == [1.0, 2.0, 4.0]  # max_retries=3, exponential
    job = service.list_jobs(ctx)[0]
    assert job["status"] == "failed"
    assert service.get_job(ctx, job["id"])["budget_hold"] == "released"


def test_expired_key_fails_fast_and_never_leaks(
    make_ctx, openai_fake, facial_examples, caplog, sleeps
):
    openai_fake.expired_keys.add(OPENAI_KEY)
    ctx = make_ctx()
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthFailed) as info:
        service.submit_job(ctx, _request(facial_examples), base_url=f"{openai_fake.url}/v1")
    assert "HTTP 401" in str(info.value)
    assert OPENAI_KEY not in str(info.value)
    assert OPENAI_KEY not in caplog.text
    assert sleeps == []  # auth failures are not retried
    job = service.list_jobs(ctx)[0]
    assert OPENAI_KEY not in (job["error"] or "") and job["status"] == "failed"
    assert OPENAI_KEY not in repr(ctx.settings)


def test_retired_model_is_refused_before_any_upload(make_ctx, openai_fake, facial_examples):
    ctx = make_ctx()
    with pytest.raises(NotAvailable, match="retired on 2026-10-23"):
        service.submit_job(
            ctx,
            _request(facial_examples, "reinforcement", "o4-mini-2025-04-16"),
            base_url=f"{openai_fake.url}/v1",
        )
    with pytest.raises(NotAvailable, match="does not support 'reinforcement'"):
        service.submit_job(ctx, _request(facial_examples, "reinforcement"))
    assert openai_fake.log == [] and service.list_jobs(ctx) == []


def test_reinforcement_grader_run_by_the_fake_rewards_expert_over_hacks(
    make_ctx, openai_fake, facial_trajectories, facial_examples
):
    ctx = make_ctx(now=BEFORE_RETIREMENTS)
    arena = get_arena("facial")
    expert = {t.scenario.id: render_episode(t.steps) for t in facial_trajectories}
    hacked = {
        t.scenario.id: render_episode(PROBES["saturated"](arena, t.scenario, t.steps)[0])
        for t in facial_trajectories
    }
    results = {}
    for name, answers in (("expert", expert), ("hacked", hacked)):
        openai_fake.policy = lambda row, a=answers: a[row["scenario"]["id"]]
        job = service.submit_job(
            ctx,
            _request(facial_examples, "reinforcement", "o4-mini-2025-04-16"),
            idempotency_key=name,
            base_url=f"{openai_fake.url}/v1",
        )
        openai_fake.clock.advance(500)
        service.refresh_job(ctx, job["id"])
        view = service.get_job(ctx, job["id"])
        assert view["status"] == "succeeded"
        metrics = [e["data"] for e in view["events"] if e["type"] == "metrics"]
        results[name] = metrics[-1]["train_reward_mean"]
    assert results["expert"] > 0.9
    assert results["hacked"] < 0.3
    grader = openai_fake.jobs[job["provider_job_id"]]["method"]["reinforcement"]["grader"]
    assert grader["type"] == "python" and "def grade(sample" in grader["source"]
