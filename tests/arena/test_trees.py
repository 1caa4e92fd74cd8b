"""Behaviour of the trees arena: rules read from trees.yaml, the plant → shape → voice simulator,
canopy-before-understory shade, the aeolian tone, the judge's roles, and a hand-solved expert."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from srlforge.arena import DIFFICULTIES, get_arena
from srlforge.arena.trees import TreesArena
from srlforge.rules import DATA_DIR, RuleFileError, load_rule_dir
from srlforge.schema import Scenario


@pytest.fixture(scope="module")
def arena() -> TreesArena:
    return get_arena("trees")


def _scene(arena, month=7, brief=None, biome="temperate_deciduous", wind=10.0) -> Scenario:
    """3×3: c0 dry chalk, c1 crypt, c2 wet loam, row 1 path, c6/c7 moist loam, c8 moist sand."""
    soils = {0: ("dry", "chalk"), 2: ("wet", "loam"), 8: ("moist", "sand")}
    cells = []
    for i in range(9):
        moisture, soil = soils.get(i, ("moist", "loam"))
        features = ["crypt"] if i == 1 else (["path"] if 3 <= i <= 5 else [])
        cells.append({"id": f"c{i}", "x": i % 3, "y": i // 3, "moisture": moisture,
                      "soil": soil, "features": features})  # fmt: skip
    brief = brief or [{"id": "r1", "role": "landmark", "where": "anywhere", "zone": ["c0", "c2"]}]
    state = {"biome": biome, "month": month, "wind_ms": wind, "width": 3, "cells": cells,
             "brief": brief, "placed": {}}  # fmt: skip
    return Scenario(
        id="trees:test:0:1", model_type="trees", seed=0, index=0, difficulty=1, split="train",
        rules_version=arena.rules_version, objective="test", state=state, max_steps=9,
    )  # fmt: skip


def plant(target, species="sugar_maple", stage="mature", height=27.5, trunk=None, role="backdrop"):
    trunk = trunk if trunk is not None else round(height / 65, 3)
    params = {"species": species, "stage": stage, "height_m": height, "trunk_diameter_m": trunk}
    return {"type": "plant", "target": target, "params": {**params, "role": role}}


def shape(target, crown=8.25, branch=0.005, roots=None, form="lateral", leaves="full",
          colour="green", month=7):  # fmt: skip
    roots = roots if roots is not None else round(crown * 1.4, 2)
    params = {"crown_radius_m": crown, "branch_diameter_m": branch, "root_spread_m": roots,
              "root_form": form, "leaves": leaves, "leaf_colour": colour}  # fmt: skip
    return {"type": "shape", "target": target, "params": params, "timing": {"month": month}}


def voice(target, wind=10.0, tone=400.0):
    params = {"wind_speed_ms": wind, "frequency_hz": tone}
    return {"type": "voice", "target": target, "params": params}


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


MAPLE = [plant("c6"), shape("c6")]

HARD_CASES = [
    # (rule, scene kwargs, setup actions, the violating action)
    ("cell.unknown", {}, [], plant("c42")),
    ("cell.blocked", {}, [], plant("c3")),
    ("cell.occupied", {}, [plant("c0")], plant("c0", "english_yew", height=15.0)),
    ("vocab.unknown", {}, [], plant("c0", "baobab")),
    ("species.biome", {}, [], plant("c6", "black_spruce", height=11.5)),
    ("habitat.moisture", {}, [], plant("c0", "red_maple", height=15.0)),
    ("understory.shade", {}, [], plant("c7", "eastern_hemlock", height=15.0)),
    ("height.max", {}, [], plant("c6", height=40.0)),
    ("height.stage", {}, [], plant("c6", stage="seedling", height=10.0)),
    ("role.eligible", {}, [], plant("c6", stage="seedling", height=1.0, role="landmark")),
    ("role.eligible", {}, [], plant("c6", role="hazard")),
    ("order.sequence", {}, [], shape("c6")),
    ("order.sequence", {}, [plant("c6")], voice("c6")),
    ("order.sequence", {}, MAPLE, shape("c6")),
    ("timing.month", {}, [plant("c6")], shape("c6", month=8)),
    ("structure.branch", {}, [plant("c6")], shape("c6", branch=0.5)),
    ("roots.form", {}, [plant("c6")], shape("c6", form="knees")),
    ("leaves.season", {"month": 1}, [plant("c6")], shape("c6", month=1)),  # full leaf in January
    ("leaves.season", {}, [plant("c6", "english_yew", height=15.0)], shape("c6", leaves="bare",
     colour="none", crown=4.5)),
    ("leaves.season", {}, [plant("c6", stage="snag", height=20.0, role="landmark")],
     shape("c6", crown=6.0)),
    ("leaves.colour", {"month": 10}, [plant("c6")], shape("c6", leaves="autumn", colour="russet",
     month=10)),
    ("vocab.unknown", {}, [plant("c6")], shape("c6", colour="purple")),
    ("wind.scene", {}, MAPLE, voice("c6", wind=12.0, tone=480.0)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "kw", "setup", "action"), HARD_CASES, ids=[c[0] for c in HARD_CASES]
)
def test_each_hard_rule_fires_on_a_crafted_action(arena, rule, kw, setup, action):
    state = _after(arena, _scene(arena, **kw), *setup)
    assert (rule, "hard") in _rules(arena, state, action)
    _, next_state, _ = arena.evaluate_step(state, action)
    assert next_state is state  # a hard-violating step changes nothing


SOFT_CASES = [
    ("habitat.soil", {}, [], plant("c8")),
    ("height.stage_uncertain", {"biome": "boreal"}, [],
     plant("c6", "quaking_aspen", stage="juvenile", height=15.0)),  # aspen height is ⚠
    ("structure.slenderness", {}, [], plant("c6", trunk=0.1)),
    ("structure.crown", {}, [plant("c6")], shape("c6", crown=1.0, roots=1.4)),
    ("structure.roots", {}, [plant("c6")], shape("c6", roots=30.0)),
    ("roots.knees_expected", {"biome": "swamp"}, [plant("c2", "bald_cypress", height=18.0)],
     shape("c2", crown=5.4)),
    ("leaves.shoulder", {"month": 9}, [plant("c6")], shape("c6", leaves="autumn", colour="red",
     month=9)),
    ("tone.aeolian", {}, MAPLE, voice("c6", tone=480.0)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "kw", "setup", "action"), SOFT_CASES, ids=[c[0] for c in SOFT_CASES]
)
def test_soft_rules_cost_compliance_but_do_not_block(arena, rule, kw, setup, action):
    state = _after(arena, _scene(arena, **kw), *setup)
    verdict = arena.verify_step(state, action)
    assert (rule, "soft") in {(v.rule_id, v.severity) for v in verdict.violations}
    assert not verdict.hard_violation and 0.0 < verdict.rule_compliance < 1.0


def test_aeolian_tone_matches_the_ams_example(arena):
    # AMS glossary: 10 m/s over a 5 mm twig ≈ 400 Hz; 430 Hz is inside the 10 % band.
    state = _after(arena, _scene(arena), *MAPLE)
    assert _rules(arena, state, voice("c6", tone=400.0)) == set()
    assert _rules(arena, state, voice("c6", tone=430.0)) == set()


def test_understory_needs_a_finished_leafy_canopy_beside_it(arena):
    hemlock = plant("c7", "eastern_hemlock", height=15.0)
    shaded = _after(arena, _scene(arena), *MAPLE)  # c6 is beside c7, crown 8.25 m in leaf
    assert ("understory.shade", "hard") not in _rules(arena, shaded, hemlock)
    only_planted = _after(arena, _scene(arena), plant("c6"))
    assert ("understory.shade", "hard") in _rules(arena, only_planted, hemlock)
    small = _after(arena, _scene(arena), plant("c6"), shape("c6", crown=3.0, roots=4.2))
    assert ("understory.shade", "hard") in _rules(arena, small, hemlock)
    winter = _after(arena, _scene(arena, month=1), plant("c6"), shape("c6", leaves="bare",
                    colour="none", month=1))  # fmt: skip
    assert ("understory.shade", "hard") in _rules(arena, winter, hemlock)


def test_canopy_before_understory_is_an_ordering_the_episode_enforces(arena):
    brief = [
        {"id": "r1", "role": "backdrop", "where": "anywhere", "zone": ["c6"]},
        {"id": "r2", "role": "backdrop", "where": "anywhere", "zone": ["c7"]},
    ]
    scenario = _scene(arena, brief=brief)
    canopy = [*MAPLE, voice("c6")]
    under = [plant("c7", "eastern_hemlock", height=15.0), shape("c7", crown=4.5), voice("c7")]
    assert arena.verify_episode(scenario, canopy + under).success
    wrong = arena.verify_episode(scenario, under + canopy)
    assert not wrong.success and "understory.shade" in {v.rule_id for v in wrong.violations}


def test_plant_shape_voice_transitions_and_input_is_not_mutated(arena):
    state = arena.reset(_scene(arena))
    snapshot = repr(state)
    model, _ = arena.validate_action(plant("c6"))
    planted, delta = arena.apply(state, model)
    assert repr(state) == snapshot
    assert delta == {"c6": {"species": "sugar_maple", "stage": "mature", "height_m": 27.5,
                            "trunk_diameter_m": 0.423, "role": "backdrop", "layer": "canopy",
                            "built": "planted"}}  # fmt: skip
    model, _ = arena.validate_action(voice("c6"))
    shaped, _ = arena.apply(planted, arena.validate_action(shape("c6"))[0])
    voiced, delta = arena.apply(shaped, model)
    assert delta == {"c6": {"wind_speed_ms": 10.0, "frequency_hz": 400.0, "built": "voiced"}}
    assert voiced["placed"]["c6"]["crown_radius_m"] == 8.25
    assert planted["placed"]["c6"]["built"] == "planted"


def test_expert_solves_the_hand_scene_optimally(arena):
    # Landmark in c0 (dry chalk) or c2 (wet loam), January, 10 m/s. Sugar maple (dry/moist,
    # loam/chalk, 20-35 m) fits c0 and is first in the table: 27.5 m, trunk 27.5/65 = 0.423 m,
    # crown 0.3 × 27.5 = 8.25 m, roots 1.4 × 8.25 = 11.55 m, bare in January, 5 mm twig → 400 Hz.
    scenario = _scene(arena, month=1)
    steps = arena.solve(scenario)
    assert [s.action for s in steps] == [
        plant("c0", role="landmark"),
        shape("c0", crown=8.25, roots=11.55, leaves="bare", colour="none", month=1),
        voice("c0", tone=400.0),
    ]
    verdict = arena.verify_episode(scenario, steps)
    assert verdict.success and verdict.outcome_reward == 1.0 and verdict.suboptimal_moves == 0
    actions = [s.action for s in steps]
    for bad in (actions[::-1], [actions[1], actions[0], actions[2]], actions[:2],
                [actions[0], actions[2]], [actions[0]] * 3):  # fmt: skip
        assert not arena.verify_episode(scenario, bad).success
    # A half-built extra tree leaves the scene unfinished even though the brief is filled.
    unfinished = arena.verify_episode(scenario, [*actions, plant("c6")])
    assert not unfinished.objective_met and unfinished.details["incomplete"] == ["c6"]


def test_landmark_tone_band_is_judged_on_the_physics_not_the_claim(arena):
    brief = [{"id": "r1", "role": "landmark", "where": "anywhere", "zone": ["c6"],
              "tone_hz": [90.0, 110.0]}]  # fmt: skip
    scenario = _scene(arena, brief=brief)
    claimed = [plant("c6", role="landmark"), shape("c6"), voice("c6", tone=100.0)]
    verdict = arena.verify_episode(scenario, claimed)  # 5 mm twig really sings at 400 Hz
    assert not verdict.objective_met
    real = [plant("c6", role="landmark"), shape("c6", branch=0.02), voice("c6", tone=100.0)]
    assert arena.verify_episode(scenario, real).success


def test_cover_in_january_needs_an_evergreen(arena):
    brief = [{"id": "r1", "role": "cover", "where": "along the path", "zone": ["c6"]}]
    scenario = _scene(arena, month=1, brief=brief)
    bare = [plant("c6", role="cover"), shape("c6", leaves="bare", colour="none", month=1),
            voice("c6")]  # fmt: skip
    assert not arena.verify_episode(scenario, bare).objective_met
    yew = [plant("c6", "english_yew", height=15.0, role="cover"),
           shape("c6", crown=4.5, month=1), voice("c6")]  # fmt: skip
    assert arena.verify_episode(scenario, yew).success


def test_the_expert_breaks_no_rule_on_generated_scenes(arena):
    for d in DIFFICULTIES:
        for i in range(15):
            scenario = arena.sample(21, i, d)
            replay = arena.replay(scenario, arena.solve(scenario))
            assert all(not v.violations for v in replay.verdicts), scenario.id


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
    assert reqs == sorted(reqs) and reqs[-1] >= reqs[0] + 2
    assert mean(1, "tone_bands") == 0 and mean(5, "tone_bands") > 0
    assert mean(5, "contested_cells") > mean(1, "contested_cells")


def _copied_rules(tmp_path: Path, edit) -> TreesArena:
    root = tmp_path / "1.0.0"
    shutil.copytree(DATA_DIR / "1.0.0", root)
    path = root / "trees.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return TreesArena(load_rule_dir(root))


def test_checks_come_from_the_rule_data(arena, tmp_path):
    def edit(data):
        data["tables"]["aeolian"]["strouhal"] = 0.25
        roles = data["tables"]["roles"]["rows"]
        next(r for r in roles if r["id"] == "landmark")["min_height_m"] = 30.0

    edited = _copied_rules(tmp_path, edit)
    for candidate, flagged in ((arena, False), (edited, True)):
        state = _after(candidate, _scene(candidate), *MAPLE)
        assert (("tone.aeolian", "soft") in _rules(candidate, state, voice("c6"))) is flagged
        fresh = candidate.reset(_scene(candidate))
        landmark = plant("c6", role="landmark")
        assert (("role.eligible", "hard") in _rules(candidate, fresh, landmark)) is flagged


def test_malformed_rule_data_names_the_file_and_path(tmp_path):
    def bad_phenology(data):
        data["tables"]["species"]["rows"][0]["phenology"] = "marcescent"

    with pytest.raises(RuleFileError, match=r"trees\.yaml.*species\[sugar_maple\]\.phenology"):
        _copied_rules(tmp_path, bad_phenology)
    with pytest.raises(RuleFileError, match=r"trees\.yaml[\s\S]*tables\.aeolian\.rel_tol"):
        _copied_rules(tmp_path / "b", lambda d: d["tables"]["aeolian"].update(rel_tol=2))
