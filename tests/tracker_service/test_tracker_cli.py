"""``srlforge tracker`` commands through typer's CliRunner, on both backends."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tracker_service.cli import app

runner = CliRunner()


def _run(*args, code=0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


def _json(*args):
    return json.loads(_run(*args, "--json").stdout)


def test_record_then_regressions_json(db_url):
    for step in range(20):
        latency = 400 + (80 if step >= 15 else 0) + step % 3
        _run(
            "record",
            "--db",
            db_url,
            "--model-id",
            "m1",
            "--metric",
            "latency_ms",
            "--value",
            latency,
            "--step",
            step,
            "--model-type",
            "personality",
        )
    rows = _json("regressions", "--db", db_url, "--model-id", "m1", "--recent", 5)
    assert {"metric", "baseline", "recent", "change", "regression"} <= set(rows[0])
    assert rows[0]["metric"] == "latency_ms" and rows[0]["regression"] is True
    assert rows[0]["change"] > 0.05
    trend = _json(
        "trend", "--db", db_url, "--model-id", "m1", "--metric", "latency_ms", "--buckets", 4
    )
    assert trend["count"] == 20 and trend["status"] == "worsening"
    [model] = _json("models", "--db", db_url)
    assert (model["model_id"], model["model_type"]) == ("m1", "personality")


def test_bad_input_exits_2_with_a_message_and_writes_nothing(db_url):
    _run("models", "register", "--db", db_url, "--model-type", "facial", "--model-id", "f1")
    nan = _run(
        "record",
        "--db",
        db_url,
        "--model-id",
        "f1",
        "--metric",
        "accuracy",
        "--value",
        "nan",
        "--json",
        code=2,
    )
    assert nan.stdout == "" and "finite" in nan.stderr
    unknown = _run(
        "record", "--db", db_url, "--model-id", "f1", "--metric", "acc", "--value", 0.5, code=2
    )
    assert "unknown metric 'acc'" in unknown.stderr
    ghost = _run(
        "record",
        "--db",
        db_url,
        "--model-id",
        "ghost",
        "--metric",
        "accuracy",
        "--value",
        0.5,
        code=2,
    )
    assert "--model-type" in ghost.stderr
    # A bad value with --model-type must not register the unknown model either.
    _run(
        "record",
        "--db",
        db_url,
        "--model-id",
        "ghost",
        "--metric",
        "accuracy",
        "--value",
        3,
        "--model-type",
        "facial",
        code=2,
    )
    wrong_type = _run(
        "record",
        "--db",
        db_url,
        "--model-id",
        "f1",
        "--metric",
        "accuracy",
        "--value",
        0.5,
        "--model-type",
        "animals",
        code=2,
    )
    assert "is a facial model" in wrong_type.stderr
    _run(
        "record",
        "--db",
        db_url,
        "--model-id",
        "f1",
        "--metric",
        "accuracy",
        "--value",
        "high",
        code=2,
    )  # not a number: typer refuses it
    assert [m["model_id"] for m in _json("models", "--db", db_url)] == ["f1"]
    assert _json("trend", "--db", db_url, "--model-id", "f1", "--metric", "accuracy")["count"] == 0


def test_models_lifecycle(db_url):
    good = '{"accuracy": 0.85, "quality": 0.82, "latency_ms": 420}'
    first = _json(
        "models", "register", "--db", db_url, "--model-type", "animals", "--evaluation", good
    )
    _run("models", "promote", "--db", db_url, "--model-id", first["model_id"])
    worse = _json(
        "models",
        "register",
        "--db",
        db_url,
        "--model-type",
        "animals",
        "--evaluation",
        '{"accuracy": 0.5, "quality": 0.82, "latency_ms": 420}',
    )
    refused = _run("models", "promote", "--db", db_url, "--model-id", worse["model_id"], code=1)
    assert "does not beat production" in refused.stderr
    better = _json(
        "models",
        "register",
        "--db",
        db_url,
        "--model-type",
        "animals",
        "--evaluation",
        '{"accuracy": 0.9, "quality": 0.82, "latency_ms": 420}',
    )
    promoted = _json("models", "promote", "--db", db_url, "--model-id", better["model_id"])
    assert promoted["previous"]["model_id"] == first["model_id"]
    back = _json("models", "rollback", "--db", db_url, "--model-type", "animals")
    assert back["model"]["model_id"] == first["model_id"]
    stages = {m["model_id"]: m["stage"] for m in _json("models", "--db", db_url)}
    assert stages == {
        first["model_id"]: "production",
        worse["model_id"]: "candidate",
        better["model_id"]: "archived",
    }
    audit = _json("models", "audit", "--db", db_url, "--model-type", "animals")
    assert [a["action"] for a in audit][-2:] == ["rollback", "rollback"]
    weak = _json("weaknesses", "--db", db_url, "--model-type", "animals")
    assert weak == []
    decision = _json(
        "retrain",
        "--db",
        db_url,
        "--model-type",
        "animals",
        "--new-examples",
        1000,
        "--rules-version",
        "9.9.9",
    )
    assert decision["fired"] is False  # rules version of the model is unknown: one condition


def test_human_output_and_help(db_url):
    _run(
        "record",
        "--db",
        db_url,
        "--model-id",
        "h1",
        "--metric",
        "quality",
        "--value",
        0.5,
        "--model-type",
        "trees",
    )
    assert "h1" in _run("models", "--db", db_url).stdout
    assert (
        "quality" in _run("trend", "--db", db_url, "--model-id", "h1", "--metric", "quality").stdout
    )
    for command in (
        "serve",
        "migrate",
        "record",
        "trend",
        "regressions",
        "weaknesses",
        "models",
        "retrain",
    ):
        assert "--db" in _run(command, "--help").stdout


def test_migrate_command_and_refusal(tmp_path):
    empty_db_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    refused = _run("models", "--db", empty_db_url, code=1)
    assert "srlforge tracker migrate --db" in refused.stderr
    assert _json("migrate", "--db", empty_db_url)["revision"] == "0001"
    assert _json("models", "--db", empty_db_url) == []
