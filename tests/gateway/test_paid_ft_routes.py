"""``/v1/paid-ft``: the paid fine-tuning service embedded in the gateway, against the fakes.

Job creation goes over real HTTP to the Together fake in ``tests/fakes`` (the service's
settings point at it); the OpenAI fake shows that a retired model is refused before upload.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

from paid_ft_service.datasets import examples_from_trajectories, expert_trajectories
from paid_ft_service.orm import PaidFTDatabase
from paid_ft_service.service import PaidFT
from paid_ft_service.settings import PaidFTSettings

FAKES_DIR = Path(__file__).resolve().parents[1] / "fakes"
PACKAGE = "srlforge_test_fakes"
LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
RETIRED = "gpt-4.1-nano-2025-04-14"


def fake_module(name: str):
    """A module of ``tests/fakes`` (loaded as a package: importlib mode has no test packages)."""
    if PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            PACKAGE, FAKES_DIR / "__init__.py", submodule_search_locations=[str(FAKES_DIR)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = module
        spec.loader.exec_module(module)
    return importlib.import_module(f"{PACKAGE}.{name}")


CREDS = fake_module("credentials")


@pytest.fixture(scope="module")
def examples() -> list[dict]:
    trajectories = expert_trajectories("facial", 14, seed=11)
    return [dataclasses.asdict(e) for e in examples_from_trajectories(trajectories, "episode")]


@pytest.fixture
def together_fake():
    with fake_module("together_fake").FakeTogether(CREDS.TOGETHER_KEY) as fake:
        yield fake


@pytest.fixture
def openai_fake():
    models = {RETIRED, "gpt-4.1-mini-2025-04-14"}
    with fake_module("openai_fake").FakeOpenAI(CREDS.OPENAI_KEY, models=models) as fake:
        yield fake


@pytest.fixture
def papi(api, tmp_path, together_fake, openai_fake):
    """The gateway with an embedded paid-ft service pointed at the fakes."""
    settings = PaidFTSettings(
        db_url=f"sqlite:///{tmp_path / 'paid_ft.db'}",
        openai_api_key=CREDS.OPENAI_KEY,
        openai_base_url=f"{openai_fake.url}/v1",
        together_api_key=CREDS.TOGETHER_KEY,
        together_base_url=f"{together_fake.url}/v1",
        default_budget_usd=1000.0,
        max_retries=0,
    )
    api.state.paid_ft = PaidFT(
        settings, db=PaidFTDatabase(settings.resolved_db_url()), sleep=lambda s: None
    )
    return api


def _job_body(examples: list[dict], **overrides) -> dict:
    body = {
        "provider": "together",
        "model": LLAMA,
        "method": "supervised",
        "examples": examples,
        "model_type": "facial",
        "suffix": "gw",
    }
    body.update(overrides)
    return body


def _no_secrets(text: str) -> None:
    for secret in (CREDS.OPENAI_KEY, CREDS.TOGETHER_KEY):
        assert secret not in text


def test_requires_auth(papi):
    assert papi.get("/v1/paid-ft/providers").status_code == 401


def test_providers_list(papi):
    r = papi.get("/v1/paid-ft/providers", headers=papi.key("acme"))
    assert r.status_code == 200
    by_name = {p["provider"]: p for p in r.json()}
    assert {"openai", "together", "anthropic"} <= set(by_name)
    nano = next(m for m in by_name["openai"]["models"] if m["model"] == RETIRED)
    assert nano["available"] is False
    _no_secrets(r.text)


def test_dataset_report_row_level(papi, examples):
    headers = papi.key("acme")
    body = {"provider": "together", "model": LLAMA, "method": "supervised", "examples": examples}
    r = papi.post("/v1/paid-ft/datasets", json=body, headers=headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["ok"] is True and report["training_tokens"] > 0
    assert report["train"]["accepted"] == len(examples)

    # DPO without verified-worse answers: rows rejected, each with its rule and source.
    r = papi.post("/v1/paid-ft/datasets", json={**body, "method": "dpo"}, headers=headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["ok"] is False
    rejected = report["train"]["rejected"]
    assert rejected
    assert all({"index", "reason", "source", "row_id"} <= set(row) for row in rejected)
    assert any("verified-worse" in row["reason"] for row in rejected)

    r = papi.post("/v1/paid-ft/datasets", json={**body, "extra": 1}, headers=headers)
    assert r.status_code == 422


def test_estimate(papi):
    headers = papi.key("acme")
    body = {"provider": "together", "model": LLAMA, "method": "supervised"}
    r = papi.post(
        "/v1/paid-ft/estimates", json={**body, "training_tokens": 100_000}, headers=headers
    )
    assert r.status_code == 200, r.text
    cost = r.json()
    assert cost["training_usd"] >= 0 and "confirmed" in cost
    r = papi.post(
        "/v1/paid-ft/estimates",
        json={**body, "model": RETIRED, "provider": "openai", "training_tokens": 1},
        headers=headers,
    )
    assert r.status_code == 422 and "gpt-4.1-nano" in r.json()["detail"]


def test_job_lifecycle_idempotent_and_tenant_scoped(papi, together_fake, examples):
    acme = papi.key("acme")
    headers = {**acme, "Idempotency-Key": "ft-1"}
    first = papi.post("/v1/paid-ft/jobs", json=_job_body(examples), headers=headers)
    assert first.status_code == 201, first.text
    job = first.json()
    assert job["provider"] == "together" and job["provider_job_id"] in together_fake.jobs
    second = papi.post("/v1/paid-ft/jobs", json=_job_body(examples), headers=headers)
    assert second.status_code == 201 and second.json()["id"] == job["id"]
    assert len(together_fake.jobs) == 1
    _no_secrets(first.text)

    listed = papi.get("/v1/paid-ft/jobs", headers=acme).json()
    assert [j["id"] for j in listed] == [job["id"]]
    got = papi.get(f"/v1/paid-ft/jobs/{job['id']}", headers=acme)
    assert got.status_code == 200 and got.json()["budget_hold"] is not None

    other = papi.key("globex")
    assert papi.get(f"/v1/paid-ft/jobs/{job['id']}", headers=other).status_code == 404
    assert papi.post(f"/v1/paid-ft/jobs/{job['id']}:cancel", headers=other).status_code == 404
    assert papi.get("/v1/paid-ft/jobs", headers=other).json() == []

    cancelled = papi.post(f"/v1/paid-ft/jobs/{job['id']}:cancel", headers=acme)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert together_fake.jobs[job["provider_job_id"]]["status"] == "cancelled"
    assert papi.get("/v1/paid-ft/jobs/nope", headers=acme).status_code == 404


def test_retired_model_refused_before_upload(papi, openai_fake, examples):
    body = _job_body(examples, provider="openai", model=RETIRED)
    r = papi.post("/v1/paid-ft/jobs", json=body, headers=papi.key("acme"))
    assert r.status_code == 422
    assert RETIRED in r.json()["detail"]
    assert openai_fake.files == {}
    assert papi.get("/v1/paid-ft/jobs", headers=papi.key("acme")).json() == []


def test_invalid_dataset_refused_with_report(papi, together_fake, examples):
    body = _job_body(examples, method="dpo")
    r = papi.post("/v1/paid-ft/jobs", json=body, headers=papi.key("acme"))
    assert r.status_code == 422
    assert r.json()["detail"]["report"]["ok"] is False
    assert together_fake.files == {}
