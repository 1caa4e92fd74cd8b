"""Vertex AI tuning through google-genai (vertexai=True) against the fake."""

from __future__ import annotations

import json

import pytest
from srlforge_test_fakes.credentials import VERTEX_TOKEN

from paid_ft_service import service
from paid_ft_service.errors import AuthFailed
from paid_ft_service.providers import JobSpec
from paid_ft_service.service import SubmitRequest

FLASH = "gemini-2.5-flash"


def _request(examples, method="supervised"):
    return SubmitRequest("vertex", FLASH, method, examples, model_type="facial", suffix="facial")


def test_supervised_job_succeeds_with_tuned_model(make_ctx, vertex_fake, facial_examples):
    ctx = make_ctx()
    job = service.submit_job(ctx, _request(facial_examples), base_url=vertex_fake.url)
    assert job["provider_job_id"].startswith("projects/srlforge-test/locations/us-central1/")
    uploaded = next(iter(vertex_fake.objects.values()))
    first = json.loads(uploaded.splitlines()[0])
    assert [c["role"] for c in first["contents"]] == ["user", "model"]
    assert first["systemInstruction"]["parts"][0]["text"].startswith("You control a facial")
    vertex_fake.clock.advance(20)
    assert service.refresh_job(ctx, job["id"])["status"] == "running"
    vertex_fake.clock.advance(200)
    done = service.refresh_job(ctx, job["id"])
    assert done["status"] == "succeeded"
    assert done["tuned_model"].endswith(
        "/models/" + job["provider_job_id"].rsplit("/", 1)[1] + "@1"
    )
    assert done["result"]["endpoint"].endswith(job["provider_job_id"].rsplit("/", 1)[1])


def test_reinforcement_points_the_reward_at_the_gateway(make_ctx, vertex_fake, facial_examples):
    ctx = make_ctx()
    job = service.submit_job(
        ctx, _request(facial_examples, "reinforcement"), base_url=vertex_fake.url
    )
    create = vertex_fake.requests_to("POST", r"tuningJobs$")[0]
    assert create.path.startswith("/v1beta1/")
    spec = create.json()["reinforcementTuningSpec"]
    scorer = spec["singleRewardConfig"]["cloudRunRewardScorer"]
    assert "https://gateway.example.test/v1/rewards/facial" in scorer.values()
    assert spec["validationDatasetUri"].endswith("-validation.jsonl")
    rows = [
        json.loads(line) for line in vertex_fake.objects[spec["trainingDatasetUri"]].splitlines()
    ]
    refs = rows[0]["references"]
    assert json.loads(refs["scenario"])["model_type"] == "facial" and refs["grading"] == '"episode"'
    vertex_fake.clock.advance(200)
    assert service.refresh_job(ctx, job["id"])["status"] == "succeeded"


def test_bad_dataset_fails_the_job_with_the_providers_message(make_ctx, vertex_fake):
    ctx = make_ctx()
    provider = ctx.provider("vertex", vertex_fake.url)
    uri = provider.upload_dataset(
        b'{"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}\n', "x.jsonl"
    )
    created = provider.create_job(JobSpec(model=FLASH, method="supervised", training_file=uri))
    assert created.status == "queued"
    vertex_fake.clock.advance(20)
    failed = provider.get_job(created.job_id)
    assert failed.status == "failed" and failed.raw_status == "JOB_STATE_FAILED"
    assert "Dataset validation failed: line 1: the last turn must be from 'model'" in failed.error


def test_cancel(make_ctx, vertex_fake, facial_examples):
    ctx = make_ctx()
    job = service.submit_job(ctx, _request(facial_examples), base_url=vertex_fake.url)
    assert service.cancel_job(ctx, job["id"])["status"] == "cancelled"
    assert service.get_job(ctx, job["id"])["budget_hold"] == "released"


def test_429_then_success_and_expired_token(make_ctx, vertex_fake, facial_examples, sleeps):
    ctx = make_ctx()
    vertex_fake.fail_next("POST", r"tuningJobs$", 429, message="Quota exceeded")
    job = service.submit_job(ctx, _request(facial_examples), base_url=vertex_fake.url)
    assert job["status"] == "queued" and sleeps == [1.0]
    vertex_fake.expired_tokens.add(VERTEX_TOKEN)
    with pytest.raises(AuthFailed) as info:
        service.submit_job(ctx, _request(facial_examples[:5]), base_url=vertex_fake.url)
    assert "UNAUTHENTICATED" in str(info.value) or "401" in str(info.value)
    assert VERTEX_TOKEN not in str(info.value)
    assert sleeps == [1.0]
