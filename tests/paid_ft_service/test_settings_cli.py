"""Settings (secrets), and the `srlforge paid-ft` CLI end to end against the OpenAI fake."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from srlforge_test_fakes.credentials import OPENAI_KEY
from typer.testing import CliRunner

from paid_ft_service import cli
from paid_ft_service import settings as settings_module
from paid_ft_service.settings import PaidFTSettings


def test_placeholder_keys_fail_fast_and_secrets_never_print():
    with pytest.raises(ValidationError, match="SRLFORGE_PAID_FT_OPENAI_API_KEY is empty or a"):
        PaidFTSettings(openai_api_key="changeme")
    s = PaidFTSettings(openai_api_key=OPENAI_KEY)
    assert OPENAI_KEY not in repr(s) and OPENAI_KEY not in str(s.model_dump())
    assert OPENAI_KEY in s.secret_values()


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SRLFORGE_PAID_FT_DB_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SRLFORGE_PAID_FT_OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("SRLFORGE_PAID_FT_DEFAULT_BUDGET_USD", "100")
    settings_module.get_settings.cache_clear()
    yield CliRunner()
    settings_module.get_settings.cache_clear()


def test_providers_json_shape(cli_env):
    result = cli_env.invoke(cli.app, ["providers", "--json"])
    assert result.exit_code == 0
    listing = json.loads(result.stdout)
    assert [p["provider"] for p in listing] == [
        "openai",
        "vertex",
        "bedrock",
        "together",
        "anthropic",
    ]
    model = listing[0]["models"][0]
    assert {"model", "methods", "available", "shutdown_date", "source"} <= set(model)


def test_prepare_then_submit_and_status(cli_env, tmp_path, openai_fake, facial_trajectories):
    data = tmp_path / "trajectories.jsonl"
    data.write_text(
        "".join(
            json.dumps({"trajectory": t.model_dump_json()}) + "\n" for t in facial_trajectories[:12]
        )
    )
    prepared = cli_env.invoke(
        cli.app,
        [
            "prepare",
            "--provider",
            "openai",
            "--method",
            "supervised",
            "--dataset",
            str(data),
            "--out",
            str(tmp_path / "out"),
            "--json",
        ],
    )
    assert prepared.exit_code == 0, prepared.output
    assert json.loads(prepared.stdout)["train"]["accepted"] == 12
    assert (tmp_path / "out" / "train.jsonl").read_text().count("\n") == 12

    argv = [
        "submit",
        "--provider",
        "openai",
        "--model",
        "gpt-4o-mini-2024-07-18",
        "--method",
        "supervised",
        "--dataset",
        str(data),
        "--base-url",
        f"{openai_fake.url}/v1",
        "--json",
    ]
    submitted = cli_env.invoke(cli.app, argv)
    assert submitted.exit_code == 0, submitted.output
    job = json.loads(submitted.stdout)
    assert job["status"] == "queued" and job["provider_job_id"].startswith("ftjob-")
    status = cli_env.invoke(cli.app, ["status", job["id"], "--json"])
    assert json.loads(status.stdout)["budget_hold"] == "held"
    cancelled = cli_env.invoke(cli.app, ["cancel", job["id"], "--json"])
    assert json.loads(cancelled.stdout)["status"] == "cancelled"


def test_submit_refuses_retired_model_with_exit_2_before_upload(cli_env, tmp_path, openai_fake):
    argv = [
        "submit",
        "--provider",
        "openai",
        "--model",
        "o4-mini-2025-04-16",
        "--method",
        "reinforcement",
        "--dataset",
        str(tmp_path / "missing.jsonl"),
        "--base-url",
        f"{openai_fake.url}/v1",
    ]
    result = cli_env.invoke(cli.app, argv)
    assert result.exit_code == 2
    assert "retired on 2026-10-23" in result.output
    together = [
        "submit",
        "--provider",
        "together",
        "--model",
        "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
        "--method",
        "reinforcement",
        "--dataset",
        str(tmp_path / "missing.jsonl"),
        "--json",
    ]
    unsupported = cli_env.invoke(cli.app, together)
    assert unsupported.exit_code == 2
    assert "does not support method 'reinforcement'" in json.loads(unsupported.stdout)["error"]
    assert openai_fake.log == []


def test_grader_command_writes_all_three_artifacts(cli_env, tmp_path):
    result = cli_env.invoke(
        cli.app, ["grader", "--model-type", "facial", "--out", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest["model_type"] == "facial"
    assert {p.name for p in tmp_path.iterdir()} >= {"grader.py", "openai_grader.json", "lambda.zip"}
