"""The main job end to end on the micro preset: every report field, files, registration."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_pipeline_report_has_every_field(tmp_path):
    from trainer_service.pipeline import load_config, run_pipeline
    from trainer_service.report import missing_fields

    config = load_config(
        None,
        base_model="micro",
        species="vampire",
        n_examples=6,
        train_difficulties=[1],
        max_steps={"sft": 2, "srl": 2, "rlvr": 1},
        stages=["sft", "srl", "rlvr"],
        eval_episodes=3,
        similarity_rows=4,
        runs_dir=tmp_path / "runs",
        run_id="t1",
        stage_overrides={"rlvr": {"per_device_train_batch_size": 8}},
    )
    report = run_pipeline(config, progress=False)
    run_dir = tmp_path / "runs" / "t1"
    on_disk = json.loads((run_dir / "report.json").read_text())
    assert missing_fields(on_disk) == []
    assert [s["name"] for s in on_disk["stages"]] == ["sft", "srl", "rlvr"]
    assert set(on_disk["eval"]) == {"base", "sft", "srl", "rlvr"}
    assert set(on_disk["eval"]["rlvr"]["splits"]) == {"in_distribution", "harder"}
    # legal-action decoding by default, and the free-decoding numbers next to it
    assert on_disk["eval"]["rlvr"]["decoding"] == "legal_actions"
    assert on_disk["eval"]["rlvr"]["unconstrained"]["split"] == "in_distribution"
    assert on_disk["eval"]["rlvr"]["unconstrained"]["episodes"] == 3
    assert on_disk["dataset"]["kept"] == 6 and len(on_disk["dataset"]["hash"]) == 64
    assert on_disk["registered"] is True and on_disk["model_id"] == report["model_id"]
    # promoted exactly when the trained model beats its base on held-out data
    from trainer_service.steps import promotion_check

    refused = promotion_check(on_disk["eval"]["rlvr"], on_disk["eval"]["base"])
    assert on_disk["promoted"] is (refused is None)
    assert on_disk["tracker"].get("reason") == refused or not refused
    for name in (
        "report.md",
        "rewards.png",
        "success.png",
        "registration.json",
        "dataset/trajectories.jsonl",
        "dataset/srl.jsonl",
        "dataset/manifest.json",
    ):
        assert (run_dir / name).exists(), name
    assert (run_dir / "report.md").read_text().startswith("# Run t1")
    # a re-run of the same run id reuses every finished stage instead of training again
    again = run_pipeline(config, progress=False)
    assert [s["seconds"] for s in again["stages"]] == [s["seconds"] for s in report["stages"]]


def test_cli_json_prints_only_json(tmp_path):
    from typer.testing import CliRunner

    from trainer_service.cli import pipeline_app

    config = tmp_path / "c.json"
    config.write_text(
        json.dumps(
            {
                "train_difficulties": [1],
                "similarity_rows": 2,
                "stage_overrides": {"rlvr": {"per_device_train_batch_size": 8}},
            }
        )
    )
    args = [
        "--base-model",
        "micro",
        "--n-examples",
        "4",
        "--max-steps",
        "1",
        "--eval-episodes",
        "2",
        "--runs-dir",
        str(tmp_path),
        "--run-id",
        "cli",
        "--config",
        str(config),
        "--json",
    ]
    result = CliRunner().invoke(pipeline_app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["run_id"] == "cli" and report["stages"][0]["name"] == "srl"
    bad = CliRunner().invoke(pipeline_app, ["--stages", "rlvr,srl"])
    assert bad.exit_code == 2
    assert "out of order" in bad.output


def test_promotion_needs_a_held_out_improvement_over_the_base():
    from trainer_service.steps import promotion_check

    def ev(success, outcome):
        return {
            "splits": {"in_distribution": {"success_rate": success, "mean_outcome_reward": outcome}}
        }

    assert promotion_check(ev(0.5, 0.4), ev(0.25, 0.2)) is None
    assert promotion_check(ev(0.25, 0.3), ev(0.25, 0.2)) is None  # tie on success, better outcome
    reason = promotion_check(ev(0.0, 0.0), ev(0.0, 0.0))
    assert reason and "does not beat the base model" in reason
    assert promotion_check(ev(0.2, 0.9), ev(0.25, 0.1)) is not None  # less success never wins
    assert promotion_check(ev(0.0, 0.0), None) is None
