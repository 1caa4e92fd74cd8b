"""The CLI contract other tools rely on: --json prints only JSON; bad input exits 2, clearly."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from srlforge.arena import model_types
from srlforge.cli import app

runner = CliRunner()


def _json(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_arena_list_json():
    rows = _json(["arena", "list", "--json"])
    assert [r["model_type"] for r in rows] == model_types()
    for r in rows:
        assert r["difficulties"] == [1, 2, 3, 4, 5]
        assert "+" in r["rules_version"]


@pytest.mark.parametrize("model_type", model_types())
def test_sample_solve_verify_round_trip(model_type, tmp_path):
    key = ["--model-type", model_type, "--seed", "3", "--index", "2", "--difficulty", "2"]
    scenario = _json(["arena", "sample", *key, "--json"])
    trajectory = _json(["arena", "solve", *key, "--json"])
    assert trajectory["scenario"] == scenario
    assert trajectory["outcome"]["success"] is True
    submitted = {"scenario": scenario, "steps": trajectory["steps"]}
    path = tmp_path / "episode.json"
    path.write_text(json.dumps(submitted))
    verdict = _json(["arena", "verify", "--model-type", model_type, "--input", str(path), "--json"])
    assert verdict["episode"]["success"] is True
    assert len(verdict["steps"]) == len(trajectory["steps"])
    # Drop the last step: the same file format must now fail verification.
    submitted["steps"] = trajectory["steps"][:-1]
    path.write_text(json.dumps(submitted))
    verdict = _json(["arena", "verify", "--model-type", model_type, "--input", str(path), "--json"])
    assert verdict["episode"]["success"] is False


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ('{"steps": []}', 'keys "scenario" and "steps"'),
        ('{"scenario": {"id": 1}, "steps": []}', "scenario."),
    ],
)
def test_verify_rejects_malformed_input_with_exit_2(tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = runner.invoke(app, ["arena", "verify", "-t", "personality", "--input", str(path)])
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert result.stdout == ""


def test_unknown_model_type_and_bad_difficulty_exit_2():
    result = runner.invoke(app, ["arena", "sample", "--model-type", "dragons", "--json"])
    assert result.exit_code == 2 and "unknown model type 'dragons'" in result.stderr
    result = runner.invoke(app, ["arena", "sample", "-t", "facial", "--difficulty", "9", "--json"])
    assert result.exit_code == 2 and "difficulty must be one of" in result.stderr
    result = runner.invoke(app, ["arena", "verify", "-t", "facial", "--input", "/nonexistent"])
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_check_json_is_the_only_thing_on_stdout():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "srlforge.cli",
            "arena",
            "check",
            "-t",
            "facial",
            "--n",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    (report,) = json.loads(proc.stdout)
    assert report["model_type"] == "facial"
    assert report["expert_success_rate"] == 1.0
    assert report["random_success_rate"] <= 0.05
    assert report["hack_max_outcome_reward"] <= 0.2
    assert report["verify_steps_per_s"] > 0
