"""Amazon Bedrock customization through boto3 (bedrock, s3, lambda) against the fake."""

from __future__ import annotations

import pytest
from srlforge_test_fakes.credentials import AWS_KEY_ID, AWS_SECRET

from paid_ft_service import service
from paid_ft_service.datasets import examples_from_trajectories, render_episode
from paid_ft_service.errors import AuthFailed, NotAvailable
from paid_ft_service.providers import JobSpec
from paid_ft_service.service import SubmitRequest
from srlforge.arena import get_arena
from srlforge.arena.hacks import PROBES

NOVA = "amazon.nova-2-lite-v1:0"


def _request(examples, method="supervised", model=NOVA):
    return SubmitRequest("bedrock", model, method, examples, model_type="facial")


def test_fine_tuning_job_completes_with_custom_model(make_ctx, bedrock_fake, facial_examples):
    ctx = make_ctx()
    job = service.submit_job(ctx, _request(facial_examples), base_url=bedrock_fake.url)
    assert job["provider_job_id"].startswith("arn:aws:bedrock:us-east-1:123456789012:")
    (uri,) = [u for u in bedrock_fake.objects if u.endswith("-train.jsonl")]
    assert uri.startswith("s3://srlforge-data/srlforge/")
    assert b'"schemaVersion": "bedrock-conversation-2024"' in bedrock_fake.objects[uri]
    bedrock_fake.clock.advance(150)
    done = service.get_job(ctx, service.refresh_job(ctx, job["id"])["id"])
    assert done["status"] == "succeeded"
    assert done["tuned_model"] == "arn:aws:bedrock:us-east-1:123456789012:custom-model/000000000001"
    assert any(e["data"].get("train_loss") == 0.42 for e in done["events"])


def test_bad_training_data_surfaces_failure_message(make_ctx, bedrock_fake):
    ctx = make_ctx()
    provider = ctx.provider("bedrock", bedrock_fake.url)
    uri = provider.upload_dataset(
        b'{"messages": [{"role": "user", "content": "x"}]}\n', "bad.jsonl"
    )
    created = provider.create_job(JobSpec(model=NOVA, method="supervised", training_file=uri))
    bedrock_fake.clock.advance(20)
    failed = provider.get_job(created.job_id)
    assert failed.status == "failed"
    assert failed.error.endswith("line 1: the last message must be from the assistant")


def test_stop_and_throttling_then_success(make_ctx, bedrock_fake, facial_examples, sleeps):
    ctx = make_ctx()
    bedrock_fake.fail_next("POST", r"^/model-customization-jobs$", 429, message="Rate exceeded")
    job = service.submit_job(ctx, _request(facial_examples), base_url=bedrock_fake.url)
    assert sleeps == [1.0] and job["provider_status"] == "InProgress"
    assert service.cancel_job(ctx, job["id"])["status"] == "cancelled"
    assert service.get_job(ctx, job["id"])["budget_hold"] == "released"


def test_expired_credentials_are_not_retried_or_leaked(
    make_ctx, bedrock_fake, facial_examples, sleeps
):
    bedrock_fake.expired_key_ids.add(AWS_KEY_ID)
    ctx = make_ctx()
    with pytest.raises(AuthFailed) as info:
        service.submit_job(ctx, _request(facial_examples), base_url=bedrock_fake.url)
    assert "ExpiredToken" in str(info.value)
    assert AWS_KEY_ID not in str(info.value) and AWS_SECRET not in str(info.value)
    assert sleeps == []


def test_retired_claude_haiku_and_missing_grader_are_refused_up_front(
    make_ctx, bedrock_fake, facial_examples
):
    ctx = make_ctx()
    with pytest.raises(NotAvailable, match="retired on 2026-09-10"):
        service.submit_job(
            ctx,
            _request(facial_examples, model="anthropic.claude-3-haiku-20240307-v1:0"),
            base_url=bedrock_fake.url,
        )
    with pytest.raises(NotAvailable, match="needs a Lambda grader"):
        service.submit_job(
            ctx, _request(facial_examples, "reinforcement"), base_url=bedrock_fake.url
        )
    assert bedrock_fake.log == []


def test_rft_lambda_grader_rewards_expert_over_hacked(
    make_ctx, settings, bedrock_fake, facial_trajectories
):
    settings.bedrock_lambda_role_arn = "arn:aws:iam::123456789012:role/srlforge-grader"
    ctx = make_ctx()
    examples = list(examples_from_trajectories(facial_trajectories, "episode"))
    arena = get_arena("facial")
    answers = {
        "expert": {t.scenario.id: render_episode(t.steps) for t in facial_trajectories},
        "hacked": {
            t.scenario.id: render_episode(PROBES["repeat_one"](arena, t.scenario, t.steps)[0])
            for t in facial_trajectories
        },
    }
    means = {}
    for name, by_scenario in answers.items():
        bedrock_fake.policy = lambda row, a=by_scenario: a[
            row["reference_answer"]["scenario"]["id"]
        ]
        job = service.submit_job(
            ctx,
            _request(examples, "reinforcement", "openai.gpt-oss-20b-1:0"),
            idempotency_key=name,
            base_url=bedrock_fake.url,
        )
        bedrock_fake.clock.advance(150)
        assert service.refresh_job(ctx, job["id"])["status"] == "succeeded"
        rewards = bedrock_fake.rewards[job["provider_job_id"]]
        means[name] = sum(rewards) / len(rewards)
    (lambda_arn,) = bedrock_fake.functions
    assert lambda_arn.startswith(
        "arn:aws:lambda:us-east-1:123456789012:function:srlforge-grader-facial-"
    )
    assert means["expert"] > 0.9 and means["hacked"] < 0.3
