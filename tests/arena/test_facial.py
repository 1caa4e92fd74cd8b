"""Behaviour of the facial arena: every rule fires for its own reason, checks follow the rule
data, the simulator carries the face forward, and the expert is optimal where we can count."""

from __future__ import annotations

import copy
import random
import shutil
from pathlib import Path

import pytest
import yaml

from srlforge.arena import get_arena
from srlforge.arena.facial import FacialArena
from srlforge.rules import DATA_DIR, load_rule_dir

HAPPY = {"display": "genuine", "felt": "happiness", "felt_intensity": "C"}
CONTEMPT_MASK = {
    "display": "masked",
    "felt": "contempt",
    "felt_intensity": "A",
    "shown": "happiness",
    "shown_intensity": "C",
}
SURPRISE_FEAR = {
    "display": "blend",
    "felt": "surprise",
    "felt_intensity": "C",
    "secondary": "fear",
    "secondary_intensity": "B",
}
BEAT = {"min_s": 1.0, "max_s": 2.0}


@pytest.fixture(scope="module")
def arena() -> FacialArena:
    return get_arena("facial")


def scenario(arena, species="vampire", brief=HAPPY, beat=BEAT):
    base = arena.sample(0, 0, 1)
    mode = arena.fr.modes[brief["display"]]
    state = {**base.state, "species": species, "brief": dict(brief), "beat": beat}
    return base.model_copy(
        update={"state": state, "species": species, "max_steps": len(mode.phases)}
    )


def actions(arena, scen):
    return [copy.deepcopy(s.action) for s in arena.solve(scen)]


def state_before(arena, scen, step):
    state = arena.reset(scen)
    for action in actions(arena, scen)[:step]:
        _, state, _ = arena.evaluate_step(state, action)
    return state


def rule_ids(verdict, severity=None):
    return {v.rule_id for v in verdict.violations if severity in (None, v.severity)}


# ----- the expert -------------------------------------------------------------------------------


def test_expert_keyframes_break_no_rule_and_predict_every_delta(arena):
    for d in range(1, 6):
        for i in range(25):
            scen = arena.sample(21, i, d)
            replay = arena.replay(scen, arena.solve(scen))
            for verdict in replay.verdicts:
                assert verdict.violations == [], (scen.id, verdict.feedback)
                assert verdict.state_predictability == 1.0
            assert all(replay.states[-1]["marks"])


def test_expert_timing_matches_a_hand_computed_case(arena):
    # Duchenne smile 6C+12C on a full human face. Ramps at 0.8 × 8/s = 6.4/s: onset 0 -> 0.30
    # needs 47 ms, apex 0.30 -> 0.52 needs 35 ms (floor 40 ms), offset 0.52 -> 0 needs 82 ms,
    # apex hold 30 ms: 199 ms. The beat [1.0, 2.0] s asks for 1500 ms; the 1301 ms extra splits
    # 1:1:1 over the three ramps (260 each) and 2 to the apex hold (520), remainder to the offset.
    steps = arena.solve(scenario(arena))
    assert [s.action["type"] for s in steps] == ["onset", "apex", "offset"]
    assert [s.action["params"]["aus"] for s in steps] == [
        {"6": "B", "12": "B"},
        {"6": "C", "12": "C"},
        {},
    ]
    assert steps[1].action["params"]["blendshapes"] == {
        "cheekSquintLeft": 0.52,
        "cheekSquintRight": 0.52,
        "mouthSmileLeft": 0.52,
        "mouthSmileRight": 0.52,
    }
    assert [tuple(s.action["timing"].values()) for s in steps] == [
        (0.307, 0.307),
        (0.607, 1.157),
        (1.5, 1.5),
    ]
    verdict = arena.verify_episode(scenario(arena), steps)
    assert verdict.success and verdict.outcome_reward == 1.0 and verdict.suboptimal_moves == 0


def test_every_expert_step_is_needed_and_order_matters(arena):
    scen = scenario(arena, brief=CONTEMPT_MASK)
    expert = actions(arena, scen)
    assert len(expert) == scen.max_steps == 4
    variants = [expert[::-1], [expert[1], expert[0], *expert[2:]], [expert[0], *expert]]
    variants += [expert[:i] + expert[i + 1 :] for i in range(len(expert))]
    for steps in variants:
        assert not arena.verify_episode(scen, steps).success


def test_rig_limits_force_a_variant(arena):
    # Zombie nose wrinkle (9) is capped at B, so disgust D cannot use 9+15+16: the expert takes
    # the accepted variant 10 alone, and the prototype breaks the rig.
    brief = {"display": "genuine", "felt": "disgust", "felt_intensity": "D"}
    scen = scenario(arena, species="zombie", brief=brief)
    expert = actions(arena, scen)
    assert expert[1]["params"]["aus"] == {"10": "D"}
    state = state_before(arena, scen, 1)
    prototype = {"9": "D", "15": "D", "16": "D"}
    apex = {**expert[1], "params": {"aus": prototype, "blendshapes": {}}}
    assert "rig.max_band" in rule_ids(arena.verify_step(state, apex), "hard")


# ----- each hard rule fires on a crafted keyframe ----------------------------------------------


def _edit(action, aus=None, shapes=None, **top):
    action = copy.deepcopy(action)
    action["params"]["aus"].update(aus or {})
    action["params"]["blendshapes"].update(shapes or {})
    action.update(top)
    return action


HARD_CASES = {
    "au.vocabulary": ("vampire", HAPPY, 1, lambda a: _edit(a, aus={"R1": "C"})),
    "au.laterality": ("vampire", HAPPY, 1, lambda a: _edit(a, aus={"R12": "A"})),
    "blendshape.vocabulary": ("vampire", HAPPY, 1, lambda a: _edit(a, shapes={"grin": 0.3})),
    "rig.support": (
        "lich",
        {"display": "genuine", "felt": "surprise", "felt_intensity": "C"},
        1,
        lambda a: _edit(a, aus={"12": "C"}, shapes={"mouthSmileLeft": 0.5, "mouthSmileRight": 0.5}),
    ),
    "rig.max_band": (
        "zombie",
        {"display": "genuine", "felt": "sadness", "felt_intensity": "B"},
        0,
        lambda a: _edit(a, aus={"1": "C"}, shapes={"browInnerUp": 0.5}),
    ),
    "blendshape.consistency": (
        "vampire",
        HAPPY,
        1,
        lambda a: _edit(a, shapes={"mouthSmileLeft": 0.9}),
    ),
    "blendshape.undriven": ("vampire", HAPPY, 1, lambda a: _edit(a, shapes={"mouthClose": 0.5})),
    "emotion.unilateral": (
        "vampire",
        CONTEMPT_MASK,
        1,
        lambda a: _edit(
            {**a, "params": {"aus": {}, "blendshapes": {}}},
            aus={"12": "A", "14": "A"},
            shapes={
                "mouthSmileLeft": 0.12,
                "mouthSmileRight": 0.12,
                "mouthDimpleLeft": 0.12,
                "mouthDimpleRight": 0.12,
            },
        ),
    ),
    "timing.order": ("vampire", HAPPY, 1, lambda a: _edit(a, timing={"start": 0.2, "end": 0.9})),
    "timing.window": (
        "vampire",
        {"display": "suppressed", "felt": "fear", "felt_intensity": "C"},
        2,
        lambda a: _edit(a, timing={"start": 0.6, "end": 0.6}),
    ),
    "phase.order": ("vampire", HAPPY, 0, lambda a: _edit(a, type="apex")),
}


@pytest.mark.parametrize("rule", sorted(HARD_CASES))
def test_each_hard_rule_fires_on_its_violation_and_not_on_the_expert(arena, rule):
    species, brief, step, mutate = HARD_CASES[rule]
    scen = scenario(arena, species=species, brief=brief)
    state = state_before(arena, scen, step)
    expert = actions(arena, scen)[step]
    assert arena.verify_step(state, expert).violations == []
    verdict = arena.verify_step(state, mutate(expert))
    assert rule in rule_ids(verdict, "hard"), verdict.feedback
    assert verdict.rule_compliance == 0.0
    # A hard-violating keyframe does not move the face.
    _, after, _ = arena.evaluate_step(state, mutate(expert))
    assert after is state


def test_forbidden_actions_are_schema_valid_and_hard_violations(arena):
    cases = [
        ("werewolf", {"display": "genuine", "felt": "disgust", "felt_intensity": "C"}),
        ("zombie", {"display": "genuine", "felt": "sadness", "felt_intensity": "B"}),
        ("vampire", CONTEMPT_MASK),
    ]
    for species, brief in cases:
        scen = scenario(arena, species, brief)
        state = arena.reset(scen)
        for expert in actions(arena, scen):
            forbidden = arena.forbidden_actions(scen, state)
            assert len(forbidden) >= 3
            for action in forbidden:
                verdict = arena.verify_step(state, action)
                assert verdict.format_valid and verdict.hard_violation, action
            _, state, _ = arena.evaluate_step(state, expert)


# ----- soft rules and emotion realisation -------------------------------------------------------


def test_a_social_smile_masks_but_does_not_pass_for_a_felt_one(arena):
    genuine = scenario(arena)
    social = _edit(actions(arena, genuine)[1])
    social["params"] = {
        "aus": {"12": "C"},
        "blendshapes": {"mouthSmileLeft": 0.52, "mouthSmileRight": 0.52},
    }
    verdict = arena.verify_step(state_before(arena, genuine, 1), social)
    assert rule_ids(verdict) == {"emotion.realised"} and not verdict.hard_violation
    steps = actions(arena, genuine)
    steps[1] = social
    assert not arena.verify_episode(genuine, steps).success

    masked = scenario(arena, brief=CONTEMPT_MASK)
    expert = actions(arena, masked)
    assert expert[2]["params"]["aus"] == {"12": "C"}
    duchenne = _edit(expert[2], aus={"6": "C"}, shapes={"cheekSquintLeft": 0.52})
    duchenne["params"]["blendshapes"]["cheekSquintRight"] = 0.52
    verdict = arena.verify_step(state_before(arena, masked, 2), duchenne)
    assert rule_ids(verdict) == {"emotion.realised"}


def test_apex_must_rise_above_the_onset(arena):
    scen = scenario(arena)
    expert = actions(arena, scen)
    onset_at_apex = {**expert[1], "type": "onset", "timing": expert[0]["timing"]}
    state = arena.reset(scen)
    verdict, state, _ = arena.evaluate_step(state, onset_at_apex)
    assert verdict.violations == []  # reaching the apex band already is a legal onset...
    verdict, state, _ = arena.evaluate_step(state, expert[1])
    assert rule_ids(verdict) == {"emotion.realised"}  # ...but then the apex does not rise
    assert state["marks"] == [True, False]


def test_a_blend_layers_onto_the_apex(arena):
    scen = scenario(arena, brief=SURPRISE_FEAR)
    expert = actions(arena, scen)
    state = state_before(arena, scen, 2)
    assert arena.verify_step(state, expert[2]).violations == []
    fear_only = {"1": "B", "2": "B", "4": "B", "5": "B", "20": "B", "26": "B"}
    alone = {**expert[2], "params": {"aus": fear_only, "blendshapes": {}}}
    alone["params"]["blendshapes"] = arena.solve(scen)[2].action["params"]["blendshapes"]
    assert "emotion.realised" in rule_ids(arena.verify_step(state, alone))


def test_uncertain_mapping_and_smoothness_are_soft(arena):
    brief = {"display": "genuine", "felt": "disgust", "felt_intensity": "C"}
    scen = scenario(arena, brief=brief)
    expert = actions(arena, scen)
    assert expert[1]["params"]["aus"] == {"9": "C", "15": "C", "16": "C"}
    state = state_before(arena, scen, 1)
    no_lower_lip = copy.deepcopy(expert[1])
    del no_lower_lip["params"]["blendshapes"]["mouthLowerDownLeft"]
    verdict = arena.verify_step(state, no_lower_lip)  # AU 16 -> mouthLowerDown is a ⚠ row
    assert rule_ids(verdict) == {"blendshape.uncertain_mapping"}
    assert verdict.rule_compliance == pytest.approx(0.9)
    rushed = _edit(expert[1], timing={"start": state["time"] + 0.001, "end": 0.9})
    assert rule_ids(arena.verify_step(state, rushed)) == {"motion.smoothness"}


def test_missing_the_beat_fails_the_objective(arena):
    scen = scenario(arena)
    steps = actions(arena, scen)
    steps[-1]["timing"] = {"start": 2.5, "end": 2.5}  # still a macro expression, past the beat
    verdict = arena.verify_episode(scen, steps)
    assert not verdict.success and "timing.beat" in rule_ids(verdict)


def test_saturated_face_is_a_hard_violation(arena):
    for i in range(10):
        scen = arena.sample(8, i, 3)
        verdict = arena.verify_step(arena.reset(scen), arena.saturated_action(scen))
        assert verdict.format_valid and verdict.hard_violation


# ----- the simulator ------------------------------------------------------------------------------


def test_apply_carries_the_face_forward_without_mutating_its_input(arena):
    scen = scenario(arena, brief=CONTEMPT_MASK)
    state = arena.reset(scen)
    snapshot = copy.deepcopy(state)
    first = actions(arena, scen)[0]
    model, _ = arena.validate_action(first)
    nxt, delta = arena.apply(state, model)
    assert state == snapshot
    assert delta == {
        "phase": "onset",
        "reached": first["timing"]["start"],
        "time": first["timing"]["end"],
        "pose": {"R12": "A"},
        "weights": {"mouthSmileRight": 0.12},
        "marks": [True],
    }
    assert nxt == {**state, **delta}


def test_random_actions_are_schema_valid(arena):
    rng = random.Random(3)
    state = arena.reset(arena.sample(1, 0, 3))
    for _ in range(200):
        model, error = arena.validate_action(arena.random_action(rng, state))
        assert model is not None, error


def test_difficulty_changes_the_problem(arena):
    meta = {d: [arena.sample(5, i, d).metadata for i in range(60)] for d in range(1, 6)}
    assert {m["display"] for m in meta[1]} == {"genuine"}
    assert all(m["n_phases"] == 4 for m in meta[4] + meta[5])
    assert meta[5][0]["beat_width_s"] < meta[2][0]["beat_width_s"]
    hard = sum(m["conflict"] or m["variant_forced"] for m in meta[5])
    assert hard / len(meta[5]) > 0.9


# ----- the checks come from the rule data ---------------------------------------------------------


def _edited_arena(tmp_path: Path, edit) -> FacialArena:
    folder = tmp_path / "1.0.0"
    folder.mkdir()
    shutil.copy(DATA_DIR / "1.0.0" / "facial.yaml", folder / "facial.yaml")
    data = yaml.safe_load((folder / "facial.yaml").read_text(encoding="utf-8"))
    edit(data["tables"])
    (folder / "facial.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return FacialArena(load_rule_dir(folder))


def _row(rows, **match):
    return next(r for r in rows if all(r.get(k) == v for k, v in match.items()))


def test_a_rig_edit_in_the_data_changes_the_verdict(arena, tmp_path):
    scen = scenario(arena)
    steps = arena.solve(scen)
    assert arena.verify_episode(scen, steps).success

    def no_smile(tables):
        _row(tables["rigs"]["rows"], species="vampire")["unsupported"] = ["12"]

    edited = _edited_arena(tmp_path, no_smile)
    verdict = edited.verify_episode(scen.model_copy(update={"rules_version": ""}), steps)
    assert not verdict.success and "rig.support" in rule_ids(verdict, "hard")


def _micro_under_150_ms(tables):
    _row(tables["timing_classes"]["rows"], name="micro")["max_s"] = 0.15


def _narrow_band_c(tables):
    _row(tables["intensity_bands"]["rows"], band="C").update(low=0.6, high=0.65, weight=0.62)


@pytest.mark.parametrize(
    ("edit", "rule"),
    [(_micro_under_150_ms, "timing.window"), (_narrow_band_c, "blendshape.consistency")],
)
def test_band_and_timing_edits_in_the_data_change_the_verdict(arena, tmp_path, edit, rule):
    brief = {"display": "suppressed", "felt": "fear", "felt_intensity": "C"}
    suppressed = scenario(arena, brief=brief)
    steps = arena.solve(suppressed)
    assert arena.verify_episode(suppressed, steps).success
    verdict = _edited_arena(tmp_path, edit).verify_episode(suppressed, steps)
    assert not verdict.success and rule in rule_ids(verdict, "hard")
