"""Together AI fine-tuning (SFT, DPO) over its REST API against the fake."""

from __future__ import annotations

import json

import pytest
from srlforge_test_fakes.credentials import TOGETHER_KEY

from paid_ft_service import service
from paid_ft_service.datasets import examples_from_trajectories
from paid_ft_service.errors import AuthFailed, NotAvailable
from paid_ft_service.providers import JobSpec
from paid_ft_service.service import SubmitRequest

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


def test_dpo_job_with_verified_worse_answers_completes(
    make_ctx, together_fake, facial_trajectories
):
    ctx = make_ctx()
    examples = list(examples_from_trajectories(facial_trajectories, "episode", with_rejected=True))
    request = SubmitRequest("together", LLAMA, "dpo", examples, model_type="facial", suffix="fx")
    job = service.submit_job(ctx, request, base_url=f"{together_fake.url}/v1")
    rows = [json.loads(x) for x in next(iter(together_fake.files.values())).splitlines()]
    assert (
        rows[0]["preferred_output"][0]["content"] != rows[0]["non_preferred_output"][0]["content"]
    )
    assert together_fake.jobs[job["provider_job_id"]]["training_method"] == {"method": "dpo"}
    together_fake.clock.advance(100)
    done = service.get_job(ctx, service.refresh_job(ctx, job["id"])["id"])
    assert done["status"] == "succeeded" and done["tuned_model"].endswith(
        f"-fx-{job['provider_job_id']}"
    )
    assert [e["message"] for e in done["events"]][-1] == "Job finished"


def test_bad_file_cancel_and_auth(make_ctx, together_fake, facial_examples, sleeps):
    ctx = make_ctx()
    provider = ctx.provider("together", f"{together_fake.url}/v1")
    fid = provider.upload_dataset(b'{"text": "no messages"}\n', "bad.jsonl")
    created = provider.create_job(JobSpec(model=LLAMA, method="supervised", training_file=fid))
    together_fake.clock.advance(15)
    failed = provider.get_job(created.job_id)
    assert failed.status == "failed" and "missing field 'messages'" in failed.error

    request = SubmitRequest("together", LLAMA, "supervised", facial_examples, model_type="facial")
    job = service.submit_job(ctx, request, base_url=f"{together_fake.url}/v1")
    assert service.cancel_job(ctx, job["id"])["status"] == "cancelled"

    together_fake.expired_keys.add(TOGETHER_KEY)
    with pytest.raises(AuthFailed) as info:
        service.submit_job(ctx, request, base_url=f"{together_fake.url}/v1")
    assert TOGETHER_KEY not in str(info.value) and sleeps == []


def test_reinforcement_is_refused_up_front(make_ctx, together_fake, facial_examples):
    request = SubmitRequest(
        "together", LLAMA, "reinforcement", facial_examples, model_type="facial"
    )
    with pytest.raises(NotAvailable, match="does not support method 'reinforcement'"):
        service.submit_job(make_ctx(), request, base_url=f"{together_fake.url}/v1")
    assert together_fake.log == []
