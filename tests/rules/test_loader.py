import shutil
from pathlib import Path

import pytest
import yaml

from srlforge.rules import DATA_DIR, RuleFileError, available_versions, load_rule_dir, load_rules


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    version = available_versions()[-1]
    target = tmp_path / version
    shutil.copytree(DATA_DIR / version, target)
    return target


def test_every_table_and_constraint_cites_a_source():
    rules = load_rules()
    assert rules.files, "no rule files loaded"
    for name, rule_file in rules.files.items():
        for table_name, table in rule_file.tables.items():
            assert len(table.source) > 10, f"{name}.{table_name} has no real source"
        for c in (*rule_file.hard_constraints, *rule_file.soft_constraints):
            assert c.source, f"{name}:{c.id}"


def test_hard_and_soft_constraints_are_distinct_and_weighted():
    rules = load_rules()
    for name, rule_file in rules.files.items():
        hard = {c.id for c in rule_file.hard_constraints}
        soft = {c.id for c in rule_file.soft_constraints}
        assert not hard & soft, name


def test_identity_is_version_plus_content_hash(rules_copy: Path):
    original = load_rule_dir(rules_copy)
    assert original.identity.startswith(rules_copy.name + "+")
    assert load_rule_dir(rules_copy).identity == original.identity
    path = next(rules_copy.glob("*.yaml"))
    data = yaml.safe_load(path.read_text())
    data["description"] = data.get("description", "") + " (edited)"
    path.write_text(yaml.safe_dump(data))
    assert load_rule_dir(rules_copy).identity != original.identity


def test_malformed_file_names_the_file_and_the_path_inside_it(rules_copy: Path):
    path = next(rules_copy.glob("*.yaml"))
    data = yaml.safe_load(path.read_text())
    first_table = next(iter(data["tables"]))
    del data["tables"][first_table]["source"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RuleFileError) as info:
        load_rule_dir(rules_copy)
    message = str(info.value)
    assert path.name in message
    assert f"tables.{first_table}.source" in message
    assert "Field required" in message


def test_model_type_must_match_file_name(rules_copy: Path):
    path = next(rules_copy.glob("*.yaml"))
    data = yaml.safe_load(path.read_text())
    data["model_type"] = "something_else"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RuleFileError, match="model_type: expected"):
        load_rule_dir(rules_copy)


def test_invalid_yaml_and_unknown_version_are_clear(rules_copy: Path):
    path = next(rules_copy.glob("*.yaml"))
    path.write_text("tables: [unclosed\n")
    with pytest.raises(RuleFileError, match="not valid YAML"):
        load_rule_dir(rules_copy)
    with pytest.raises(RuleFileError, match=r"unknown rule set version '9\.9\.9'"):
        load_rules("9.9.9")


def test_duplicate_constraint_ids_are_refused(rules_copy: Path):
    for path in rules_copy.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        if data.get("hard_constraints"):
            data["hard_constraints"].append(dict(data["hard_constraints"][0]))
            path.write_text(yaml.safe_dump(data))
            break
    with pytest.raises(RuleFileError, match="unique"):
        load_rule_dir(rules_copy)
