"""The orchestrator with the scripted teacher: keep rule, provenance, dedup, coverage, strategies,
regeneration rounds and the no-padding rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collab_service.dedup import Coverage, Deduplicator
from collab_service.orchestrator import GenerationConfig, Orchestrator
from collab_service.strategies import ScenarioSearchError
from srlforge.arena import get_arena
from srlforge.schema import Step

MODEL_TYPE = "personality"


def run(settings, **overrides):
    config = GenerationConfig(**{"model_type": MODEL_TYPE, "n": 12, **overrides})
    return Orchestrator(config, settings).run()


def test_synthetic_run_keeps_only_verified_trajectories_with_provenance(settings):
    result = run(settings, species="vampire", difficulties=(3,), n=20, seed=5)
    assert len(result.kept) == 20 and result.failed == 0
    arena = get_arena(MODEL_TYPE)
    for t in result.kept:
        assert t.species == "vampire" and t.scenario.difficulty == 3
        assert arena.verify_episode(t.scenario, t.steps).success  # re-verified from scratch
        assert t.outcome.success and not [v for v in t.outcome.violations if v.severity == "hard"]
        p = t.provenance
        assert p.teacher == "scripted" and p.model == f"srlforge.arena.{MODEL_TYPE}.expert"
        assert p.rules_version == arena.rules_version and p.seed == 5 and p.difficulty == 3
        assert p.content_hash == t.compute_hash() and t.id.endswith(p.content_hash[:12])
        collab = t.outcome.details["collab"]
        assert collab["request_id"] == result.config.request_id and collab["started_at"]
    assert len({t.provenance.content_hash for t in result.kept}) == 20
    assert result.coverage["difficulty"]["3"]["kept"] == 20


def test_same_config_same_dataset(settings):
    a = run(settings, seed=11, n=8)
    b = run(settings, seed=11, n=8)
    assert [t.provenance.content_hash for t in a.kept] == [
        t.provenance.content_hash for t in b.kept
    ]


def test_dedup_finds_exact_and_near_duplicates_only_within_a_scenario_kind():
    arena = get_arena(MODEL_TYPE)
    trajectory = arena.expert_trajectory(arena.sample(0, 3, 3))
    dedup = Deduplicator(threshold=0.9)
    assert dedup.check(trajectory) == "unique"
    assert dedup.check(trajectory) == "exact"
    # the same plan for another scenario of the same kind, with one leaf changed: near
    twin = trajectory.model_copy(deep=True)
    twin.scenario = twin.scenario.model_copy(update={"id": "personality:0:999:3", "index": 999})
    steps = [s.model_copy(deep=True) for s in twin.steps]
    steps[-1] = Step(think=steps[-1].think, action={**steps[-1].action, "_note": "x"})
    twin.steps = steps
    twin.provenance.content_hash = twin.compute_hash()
    assert dedup.check(twin) == "near"
    # a scenario of another kind with the same plan is not a duplicate: its prompt differs
    other = twin.model_copy(deep=True)
    other.scenario = other.scenario.model_copy(
        update={"metadata": {**other.scenario.metadata, "map_size": -1}}
    )
    other.provenance.content_hash = "other"
    assert dedup.check(other) == "unique"
    assert dedup.counts == {"unique": 2, "exact": 1, "near": 1}


def test_duplicates_are_counted_and_replaced_by_regeneration(settings, tmp_path):
    from collab_service.service import produce

    first = produce(GenerationConfig(model_type=MODEL_TYPE, n=6, seed=21), tmp_path / "a", settings)
    # the same scenarios again, but what earlier requests produced counts as a duplicate: the
    # first round is all duplicates and the next rounds regenerate fresh scenarios
    again = run(settings, n=6, seed=21, skip_produced=True)
    assert again.duplicates["exact"] >= 6 and again.rounds_run >= 2
    assert len(again.kept) == 6
    new = {t.provenance.content_hash for t in again.kept}
    lines = Path(first["dataset"]).read_text().splitlines()
    old = {json.loads(line)["content_hash"] for line in lines}
    assert not new & old
    assert again.attempted == len(again.kept) + again.duplicate_total + again.failed


def test_coverage_counts_feature_cells():
    arena = get_arena(MODEL_TYPE)
    coverage = Coverage()
    scenario = arena.sample(0, 1, 2)
    coverage.add(scenario, "kept")
    coverage.add(arena.sample(0, 2, 2), "failed")
    report = coverage.to_dict()
    assert report["difficulty"]["2"] == {"kept": 1, "failed": 1}
    assert report["features"][f"species={scenario.species}"]["2"]["kept"] >= 1
    assert report["cells_attempted"] >= report["cells_kept"] > 0


def test_adversarial_targets_weaknesses_and_failed_scenarios(settings):
    arena = get_arena(MODEL_TYPE)
    failed = arena.sample(0, 40, 4)
    weakness = {"difficulty": 2, "species": "werewolf"}
    result = run(
        settings,
        strategy="adversarial",
        n=6,
        weaknesses=[weakness, {"difficulty": 3, "no_such_feature": "x"}],
        failed_scenario_ids=[failed.id],
    )
    scenarios = [t.scenario for t in result.kept]
    assert failed.id in {s.id for s in scenarios}  # the failed scenario itself comes first
    aimed = [s for s in scenarios if s.id != failed.id]
    assert all(
        (s.difficulty == 2 and s.species == "werewolf")
        or (s.difficulty == failed.difficulty and s.species == failed.species)
        for s in aimed
    )
    assert any("no_such_feature" in u for u in result.unmatched_targets)


def test_bad_requests_fail_with_the_fix_in_the_message(settings):
    with pytest.raises(ValueError, match="synthetic"):
        GenerationConfig(model_type=MODEL_TYPE, n=1, teacher="openai", strategy="synthetic")
    with pytest.raises(ValueError, match="difficulties"):
        GenerationConfig(model_type=MODEL_TYPE, n=1, difficulties=(0,))
    with pytest.raises(ValueError, match="n must be"):
        GenerationConfig(model_type=MODEL_TYPE, n=0)
    with pytest.raises(ValueError, match="adversarial"):
        run(settings, strategy="adversarial")
    with pytest.raises(ScenarioSearchError, match="banshee"):
        run(settings, species="banshee")
