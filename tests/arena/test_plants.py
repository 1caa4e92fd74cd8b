"""Behaviour of the plants arena: rules read from plants.yaml, the place → dress simulator with
layers, hosts and light, the judge's role checks, and the expert on a scene solvable by hand."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from srlforge.arena import DIFFICULTIES, get_arena
from srlforge.arena.plants import PlantsArena
from srlforge.rules import DATA_DIR, RuleFileError, load_rule_dir
from srlforge.schema import Scenario


@pytest.fixture(scope="module")
def arena() -> PlantsArena:
    return get_arena("plants")


def _cell(i, x, y, moisture="moist", soil="loam", features=(), light="open", **extra):
    return {"id": f"c{i}", "x": x, "y": y, "moisture": moisture, "soil": soil,
            "features": list(features), "light": light, **extra}  # fmt: skip


def _scene(arena: PlantsArena, month: int = 7, brief=None, biome="temperate_deciduous"):
    """A 3×3 woodland: path on row 1, crypt at c1, a maple (c2), a yew (c8) and a wall (c7).

    In July the maple's canopy is closed (shade); the yew shades all year.
    """
    maple = {"species": "sugar_maple", "habit": "deciduous", "height_m": 25.0}
    yew = {"species": "english_yew", "habit": "evergreen", "height_m": 14.0}
    maple_light = "shade" if month in (6, 7, 8, 9, 10) else "partial"
    cells = [
        _cell(0, 0, 0),
        _cell(1, 1, 0, features=["crypt"]),
        _cell(2, 2, 0, tree=maple, light=maple_light),
        *[_cell(3 + x, x, 1, features=["path"]) for x in range(3)],
        _cell(6, 0, 2, moisture="wet", soil="peat"),
        _cell(7, 1, 2, moisture="dry", soil="chalk", features=["wall"], wall_m=3.0),
        _cell(8, 2, 2, tree=yew, light="shade"),
    ]
    brief = brief or [
        {"id": "r1", "role": "hazard", "where": "next to the crypt", "zone": ["c0", "c2"]}
    ]
    state = {"biome": biome, "month": month, "cells": cells, "brief": brief, "placed": {}}
    return Scenario(
        id="plants:test:0:1", model_type="plants", seed=0, index=0, difficulty=1, split="train",
        rules_version=arena.rules_version, objective="test", state=state, max_steps=6,
    )  # fmt: skip


def place(target, species, stage="mature", height=1.5, count=1, role="ambience", host="none"):
    params = {"species": species, "stage": stage, "height_m": height, "count": count}
    return {"type": "place", "target": target, "params": {**params, "role": role, "host": host}}


def dress(target, species, bloom="none", foliage="green", month=7):
    params = {"species": species, "bloom": bloom, "foliage": foliage}
    return {"type": "dress", "target": target, "params": params, "timing": {"month": month}}


def _rules(arena, state, action):
    verdict = arena.verify_step(state, action)
    assert verdict.format_valid, verdict.feedback
    return {(v.rule_id, v.severity) for v in verdict.violations}


def _after(arena, scenario, *actions):
    state = arena.reset(scenario)
    for action in actions:
        verdict, state, _ = arena.evaluate_step(state, action)
        assert not verdict.hard_violation, verdict.feedback
    return state


HARD_CASES = [
    # (rule, actions that set the state up, the violating action)
    ("cell.unknown", [], place("c42", "foxglove")),
    ("cell.blocked", [], place("c3", "foxglove")),
    ("vocab.unknown", [], place("c0", "mandrake")),
    ("species.biome", [], place("c0", "big_sagebrush", height=1.5)),
    ("habitat.moisture", [], place("c6", "foxglove")),
    ("habitat.canopy", [], place("c0", "bluebell", height=0.4)),
    ("host.required", [], place("c0", "ivy", height=2.0, host="wall")),
    ("host.required", [], place("c0", "foxglove", host="tree")),
    ("host.height", [], place("c7", "ivy", height=5.0, host="wall")),
    ("layer.occupied", [place("c0", "foxglove")], place("c0", "deadly_nightshade", height=1.0)),
    ("layer.order", [place("c7", "deadly_nightshade", height=1.0)],
     place("c7", "heather", height=0.3)),
    ("height.max", [], place("c0", "foxglove", height=2.5)),
    ("height.stage", [], place("c0", "monkshood", stage="seedling", height=1.2)),
    ("count.max", [], place("c0", "foxglove", count=13)),
    ("role.eligible", [], place("c8", "ivy", height=2.0, role="hazard", host="tree")),
    ("role.eligible", [], place("c0", "foxglove", stage="dead", height=1.5, role="cover")),
    ("order.sequence", [], dress("c0", "foxglove", bloom="flowering")),
    ("order.sequence", [place("c0", "foxglove"), dress("c0", "foxglove", "flowering")],
     dress("c0", "foxglove", "flowering")),
    ("timing.month", [place("c0", "foxglove")], dress("c0", "foxglove", "flowering", month=8)),
    ("phenology.flowering", [place("c7", "ivy", height=2.0, host="wall")],
     dress("c7", "ivy", bloom="flowering")),
    ("phenology.fruiting", [place("c0", "foxglove")], dress("c0", "foxglove", "fruiting")),
    ("phenology.maturity", [place("c0", "foxglove", stage="juvenile", height=0.5)],
     dress("c0", "foxglove", bloom="flowering")),
    ("foliage.habit", [place("c7", "ivy", height=2.0, host="wall")],
     dress("c7", "ivy", foliage="dormant")),
    ("foliage.habit", [place("c0", "foxglove")], dress("c0", "foxglove", "flowering", "dead")),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "setup", "action"), HARD_CASES, ids=[c[0] for c in HARD_CASES])
def test_each_hard_rule_fires_on_a_crafted_action(arena, rule, setup, action):
    scenario = _scene(arena)
    state = _after(arena, scenario, *setup)
    assert (rule, "hard") in _rules(arena, state, action)
    # A hard-violating step leaves the simulator where it was.
    _, next_state, _ = arena.evaluate_step(state, action)
    assert next_state is state


SOFT_CASES = [
    ("habitat.soil", [], place("c7", "foxglove", height=1.5)),  # chalk; foxglove wants acid
    ("habitat.light", [], place("c2", "foxglove")),  # under a closed maple canopy
    ("height.stage_uncertain", [], place("c0", "foxglove", height=0.8)),  # "to 2 m" ⚠
    ("phenology.missed", [place("c0", "foxglove")], dress("c0", "foxglove", "none")),
    ("foliage.season", [place("c0", "foxglove")], dress("c0", "foxglove", "flowering", "autumn")),
]


@pytest.mark.parametrize(("rule", "setup", "action"), SOFT_CASES, ids=[c[0] for c in SOFT_CASES])
def test_soft_rules_cost_compliance_but_do_not_block(arena, rule, setup, action):
    state = _after(arena, _scene(arena), *setup)
    verdict = arena.verify_step(state, action)
    assert (rule, "soft") in {(v.rule_id, v.severity) for v in verdict.violations}
    assert not verdict.hard_violation and 0.0 < verdict.rule_compliance < 1.0


def test_edge_month_flowering_is_soft_and_out_of_window_is_hard(arena):
    # Heather: "flowers late Jul-Nov" — July is a vague edge (soft), June is out (hard).
    for month, expected in ((7, ("phenology.edge", "soft")), (6, ("phenology.flowering", "hard"))):
        scenario = _scene(arena, month=month, biome="moorland_heath")
        state = _after(arena, scenario, place("c0", "heather", height=0.3))
        assert expected in _rules(arena, state, dress("c0", "heather", "flowering", month=month))


def test_the_expert_breaks_no_rule_on_generated_scenes(arena):
    for d in DIFFICULTIES:
        for i in range(15):
            scenario = arena.sample(21, i, d)
            replay = arena.replay(scenario, arena.solve(scenario))
            assert all(not v.violations for v in replay.verdicts), scenario.id


def test_place_then_dress_transitions_and_input_is_not_mutated(arena):
    state = arena.reset(_scene(arena))
    snapshot = repr(state)
    model, _ = arena.validate_action(place("c0", "foxglove", count=4, role="hazard"))
    placed, delta = arena.apply(state, model)
    assert repr(state) == snapshot
    assert delta == {"c0:ground": {"species": "foxglove", "stage": "mature", "height_m": 1.5,
                                   "count": 4, "role": "hazard", "host": "none",
                                   "layer": "ground", "dressed": False}}  # fmt: skip
    model, _ = arena.validate_action(dress("c0", "foxglove", "flowering"))
    dressed, delta = arena.apply(placed, model)
    assert delta == {"c0:ground": {"bloom": "flowering", "foliage": "green", "dressed": True}}
    assert dressed["placed"]["c0:ground"]["count"] == 4
    assert not placed["placed"]["c0:ground"]["dressed"]


def test_a_shrub_dims_the_light_of_the_ground_layer_below_it(arena):
    # Moorland in April: c2's bare maple lets partial light through; heather above a foxglove
    # dims it to shade, which foxglove (open/partial) does not want.
    scenario = _scene(arena, month=4, biome="moorland_heath")
    assert ("habitat.light", "soft") not in _rules(
        arena, arena.reset(scenario), place("c2", "foxglove")
    )
    state = _after(arena, scenario, place("c2", "heather", height=0.3))
    cell = state["cells"][2]
    assert arena._layer_light(cell, state["placed"], rank=2) == "shade"
    assert arena._layer_light(cell, state["placed"], rank=1) == "partial"
    assert ("habitat.light", "soft") in _rules(arena, state, place("c2", "foxglove"))


def test_expert_solves_the_hand_scene_optimally(arena):
    # Hazard next to the crypt, zone c0 (open moist loam) / c2 (under the maple, shade).
    # Temperate poisonous plants: foxglove (loam ok, open ok) and nightshade (wants chalk): only
    # foxglove at c0 is clean. Mature 1-2 m → 1.5 m; July is inside Jun-Sep → flowering.
    scenario = _scene(arena)
    steps = arena.solve(scenario)
    assert [s.action for s in steps] == [
        place("c0", "foxglove", height=1.5, count=6, role="hazard"),
        dress("c0", "foxglove", bloom="flowering", foliage="green"),
    ]
    verdict = arena.verify_episode(scenario, steps)
    assert verdict.success and verdict.outcome_reward == 1.0 and verdict.suboptimal_moves == 0
    # An extra plant is clutter and two wasted moves.
    padded = [*steps, place("c7", "deadly_nightshade", height=1.0), dress("c7", "deadly_nightshade",
              "flowering")]  # fmt: skip
    worse = arena.verify_episode(scenario, padded)
    assert worse.suboptimal_moves == 2 and worse.outcome_reward < verdict.outcome_reward


def test_order_matters_for_a_principled_reason(arena):
    scenario = _scene(arena)
    first, second = (s.action for s in arena.solve(scenario))
    for steps in ([second, first], [first], [second], [first, first]):
        verdict = arena.verify_episode(scenario, steps)
        assert not verdict.success
    swapped = arena.verify_episode(scenario, [second, first])
    assert "order.sequence" in {v.rule_id for v in swapped.violations}


def test_cover_in_winter_needs_a_plant_in_leaf_whatever_the_model_claims(arena):
    # January: a perennial's foliage is dormant per the calendar; claiming "green" is only a soft
    # miss at the step, but the judge reads the calendar, so the dormant plant is no cover.
    brief = [{"id": "r1", "role": "cover", "where": "along the path", "zone": ["c0"]}]
    scenario = _scene(arena, month=1, brief=brief)
    steps = [
        place("c0", "deadly_nightshade", height=1.2, role="cover"),
        dress("c0", "deadly_nightshade", foliage="green", month=1),
    ]
    verdict = arena.verify_episode(scenario, steps)
    assert not verdict.objective_met and verdict.outcome_reward == 0.0
    ivy = [place("c7", "ivy", height=2.0, role="cover", host="wall"), dress("c7", "ivy", month=1)]
    brief[0]["zone"] = ["c7"]
    assert arena.verify_episode(_scene(arena, month=1, brief=brief), ivy).success


def test_forbidden_actions_are_schema_valid_and_hard(arena):
    for i in range(10):
        scenario = arena.sample(5, i, 4)
        state = arena.reset(scenario)
        for step in arena.solve(scenario):
            for bad in arena.forbidden_actions(scenario, state):
                verdict = arena.verify_step(state, bad)
                assert verdict.format_valid and verdict.hard_violation, bad
            _, state, _ = arena.evaluate_step(state, step.action)


def test_difficulty_grows_the_problem(arena):
    def mean(d, key):
        return sum(arena.sample(8, i, d).metadata[key] for i in range(30)) / 30

    reqs = [mean(d, "requirements") for d in DIFFICULTIES]
    cells = [mean(d, "cells") for d in DIFFICULTIES]
    assert reqs == sorted(reqs) and reqs[-1] >= reqs[0] + 3
    assert cells == sorted(cells) and cells[-1] > cells[0]
    assert mean(5, "contested_cells") > mean(1, "contested_cells")


def _copied_rules(tmp_path: Path, edit) -> PlantsArena:
    root = tmp_path / "1.0.0"
    shutil.copytree(DATA_DIR / "1.0.0", root)
    path = root / "plants.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return PlantsArena(load_rule_dir(root))


def _species(data, name):
    return next(r for r in data["tables"]["species"]["rows"] if r["id"] == name)


def test_checks_come_from_the_rule_data(arena, tmp_path):
    def edit(data):
        _species(data, "foxglove")["flower_months"] = [8, 9]
        next(r for r in data["tables"]["roles"]["rows"] if r["id"] == "cover")["min_height_m"] = 2.5

    edited = _copied_rules(tmp_path, edit)
    action = dress("c0", "foxglove", "flowering")
    assert ("phenology.flowering", "hard") not in _rules(
        arena, _after(arena, _scene(arena), place("c0", "foxglove")), action
    )
    state = _after(edited, _scene(edited), place("c0", "foxglove"))
    assert ("phenology.flowering", "hard") in _rules(edited, state, action)
    assert ("role.eligible", "hard") in _rules(
        edited, arena.reset(_scene(edited)), place("c0", "foxglove", height=2.0, role="cover")
    )


def test_malformed_rule_data_names_the_file_and_path(tmp_path):
    with pytest.raises(RuleFileError, match=r"plants\.yaml.*species\[ivy\]\.biomes"):
        _copied_rules(tmp_path, lambda d: _species(d, "ivy").update(biomes=["atlantis"]))
    with pytest.raises(RuleFileError, match=r"plants\.yaml[\s\S]*max_per_cell"):
        _copied_rules(tmp_path / "b", lambda d: _species(d, "ivy").update(max_per_cell=0))
