import json

from typer.testing import CliRunner

from srlforge.cli import app
from srlforge.schema import EXPORTED_MODELS, Step, Trajectory, content_hash, json_schemas


def test_json_schemas_cover_every_contract_and_are_json():
    schemas = json_schemas()
    assert set(schemas) == set(EXPORTED_MODELS)
    for name, schema in schemas.items():
        assert schema["type"] == "object", name
        json.dumps(schema)
    assert set(schemas["Trajectory"]["required"]) >= {"id", "model_type", "scenario", "steps"}
    prov = schemas["Trajectory"]["$defs"]["Provenance"]["properties"]
    assert {"teacher", "rules_version", "seed", "difficulty", "created_at", "content_hash"} <= set(
        prov
    )


def test_content_hash_ignores_key_order_but_not_values():
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})


def test_trajectory_hash_depends_on_actions_not_on_think_text(tmp_path):
    from srlforge.arena import get_arena

    arena = get_arena("personality")
    t = arena.expert_trajectory(arena.sample(0, 0, 1))
    renamed = t.model_copy(
        update={"steps": [Step(think="other", action=s.action) for s in t.steps]}
    )
    assert renamed.compute_hash() == t.compute_hash()
    changed = t.model_copy(update={"steps": t.steps[:-1]})
    assert changed.compute_hash() != t.compute_hash()
    assert Trajectory.model_validate_json(t.model_dump_json()) == t


def test_schema_export_cli_writes_files(tmp_path):
    result = CliRunner().invoke(app, ["schema", "export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "Scenario.json").read_text())["title"] == "Scenario"
