"""Behaviour of the buildings arena: its rules fire on the designs that break them (and only
those), its checks come from the rule data, its simulator and expert are right."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from srlforge.arena import get_arena
from srlforge.arena._buildings_layout import edge_contact, overlaps, shared_wall
from srlforge.arena.buildings import BuildingsArena
from srlforge.rules import DATA_DIR, available_versions, load_rule_dir
from srlforge.schema import Scenario

ARENA: BuildingsArena = get_arena("buildings")  # type: ignore[assignment]


def _find(pred: Callable[[Scenario], bool], difficulty: int) -> Scenario:
    for i in range(400):
        scenario = ARENA.sample(0, i, difficulty)
        if pred(scenario):
            return scenario
    raise AssertionError("no generated scenario matches")  # the generator lost a feature


def _at(scenario: Scenario, pick: Callable[[dict], bool]) -> tuple[dict, dict]:
    """(state just before the first expert step whose action matches, a copy of that action)."""
    state = ARENA.reset(scenario)
    for step in ARENA.solve(scenario):
        if pick(step.action):
            return state, copy.deepcopy(step.action)
        _, state, _ = ARENA.evaluate_step(state, step.action)
    raise AssertionError("no expert step matches")


def _rule_ids(state: dict, action: dict) -> set[str]:
    verdict = ARENA.verify_step(state, action)
    assert verdict.format_valid, verdict.feedback
    return {v.rule_id for v in verdict.violations}


def _habitable_main(scenario: Scenario) -> Callable[[dict], bool]:
    program, functions = scenario.state["program"], ARENA.t.functions

    def pick(a: dict) -> bool:
        brief = program.get(a["target"])
        if a["type"] != "room" or not brief or brief["min_ceiling"] is None:
            return False
        row = functions[a["params"]["function"]]
        return row.habitable and not row.area_exempt

    return pick


TWO = _find(lambda s: s.state["building"]["storeys"] == 2, 5)
BRUT = _find(lambda s: s.state["building"]["style"] == "brutalist", 3)
GOTHIC = _find(
    lambda s: (
        s.state["building"]["style"] == "gothic_revival" and not s.state["building"]["below_grade"]
    ),
    4,
)


def _is(kind: str) -> Callable[[dict], bool]:
    return lambda a: a["type"] == kind


def _central(a: dict) -> bool:
    return a.get("params", {}).get("attach_to") == "entrance"


def _p(**changes: Any) -> Callable[[dict, dict], dict]:
    """Mutation: replace params fields."""
    return lambda state, a: {**a, "params": {**a["params"], **changes}}


def _other_style_material(state: dict, a: dict) -> dict:
    """A Brutalist room finished in a Queen Anne material (fish-scale shingles)."""
    materials = [*a["params"]["materials"], "fish_scale_shingles"]
    return {**a, "params": {**a["params"], "materials": materials}}


def _exterior_feature(state: dict, a: dict) -> dict:
    style = ARENA.t.styles[state["building"]["style"]]
    outside = next(f.name for f in style.features if f.scope == "exterior")
    return {**a, "params": {**a["params"], "features": [outside]}}


def _daylight(period: str) -> Callable[[dict, dict], dict]:
    return lambda state, a: {
        "type": "lighting",
        "target": a["target"],
        "params": {"source": "daylight", "level": 0.5},
        "timing": {"period": period},
    }


def _stairs_floor_down(state: dict, a: dict) -> dict:
    return {**a, "params": {**a["params"], "floor": 0}}


def _extra_on(field: str) -> Callable[[dict, dict], dict]:
    """An unlisted room copying a built element's rectangle (field='rect') or door (entrance)."""

    def make(state: dict, a: dict) -> dict:
        params = {**a["params"]}
        if field == "rect":
            built = next(e for e in state["elements"].values() if e["kind"] == "room")
            params.update(dict(zip(("x", "y", "width", "depth"), built["rect"], strict=True)))
        else:
            params["attach_to"] = "entrance"
        return {**a, "target": "annex", "params": params}

    return make


HARD_CASES: dict[str, tuple[Scenario, Callable[[dict], bool], Callable[[dict, dict], dict]]] = {
    "element.unique": (TWO, lambda a: a["type"] == "room", lambda s, a: ARENA.solve(TWO)[0].action),
    "envelope.within_site": (TWO, _is("envelope"), _p(width=TWO.state["site"]["width"] + 1)),
    "envelope.storeys_match_brief": (TWO, _is("envelope"), _p(storeys=1)),
    "envelope.height_limit": (
        TWO,
        _is("envelope"),
        _p(storey_height=TWO.state["building"]["height_limit"] / 2 + 0.3),
    ),
    "element.attach_exists": (TWO, _habitable_main(TWO), _p(attach_to="ghost")),
    "element.inside_envelope": (TWO, _habitable_main(TWO), _p(x=40.0)),
    "element.no_overlap": (TWO, _habitable_main(TWO), _extra_on("rect")),
    "door.shared_wall": (TWO, _central, _p(x=TWO.state["entrance"]["x"] + 0.5)),
    "door.egress_min": (TWO, _habitable_main(TWO), _p(door={"width": 0.7, "height": 2.0})),
    "door.fits_height": (TWO, _habitable_main(TWO), _p(door={"width": 0.9, "height": 3.9})),
    "entrance.single": (TWO, _habitable_main(TWO), _extra_on("entrance")),
    "room.known_function": (TWO, _habitable_main(TWO), _p(function="ballroom")),
    "room.habitable_area": (TWO, _habitable_main(TWO), _p(width=2.2, depth=2.2)),
    "room.habitable_dimension": (TWO, _habitable_main(TWO), _p(width=2.0, depth=4.0)),
    "room.ceiling_min": (TWO, _habitable_main(TWO), _p(ceiling_height=2.0)),
    "room.ceiling_fits_storey": (TWO, _habitable_main(TWO), _p(ceiling_height=7.5)),
    "corridor.width": (TWO, _central, _p(width=0.8)),
    "stairs.width": (TWO, _is("stairs"), _p(width=0.8)),
    "stairs.riser": (TWO, _is("stairs"), _p(riser_height=0.21)),
    "stairs.tread": (TWO, _is("stairs"), _p(tread_depth=0.2)),
    "stairs.headroom": (TWO, _is("stairs"), _p(headroom=1.9)),
    "stairs.rise_matches_storey": (TWO, _is("stairs"), _p(risers=30)),
    "stairs.run_fits": (TWO, _is("stairs"), _p(length=1.0)),
    "stairs.foot_opens_onto_parent": (TWO, _is("stairs"), _p(direction="south")),
    "stairs.head_serves_upper_floor": (
        TWO,
        lambda a: a.get("params", {}).get("attach_to") == "stairs",
        _stairs_floor_down,
    ),
    "style.vocabulary": (BRUT, _habitable_main(BRUT), _other_style_material),
    "style.feature_scope": (BRUT, _habitable_main(BRUT), _exterior_feature),
    "program.match": (TWO, _habitable_main(TWO), _p(function="storage")),
    "program.min_ceiling": (
        TWO,
        _habitable_main(TWO),
        lambda s, a: {**a, "params": {**a["params"], "ceiling_height": 2.2}},
    ),
    "program.adjacency": (TWO, lambda a: a["type"] == "stairs", _p(attach_to="landing")),
    "program.style_features": (
        TWO,
        lambda a: a["type"] == "room" and TWO.state["program"][a["target"]]["min_features"] > 0,
        _p(features=[]),
    ),
    "lighting.target_exists": (TWO, _is("lighting"), lambda s, a: {**a, "target": "ghost"}),
    "lighting.known_source": (
        TWO,
        _is("lighting"),
        lambda s, a: {**a, "params": {"source": "torch", "level": 0.2}},
    ),
    "lighting.daylight_by_day_only": (TWO, _is("lighting"), _daylight("night")),
}


@pytest.mark.parametrize("rule_id", sorted(HARD_CASES))
def test_hard_rule_fires_on_its_violation_and_not_on_the_expert(rule_id):
    scenario, pick, mutate = HARD_CASES[rule_id]
    state, action = _at(scenario, pick)
    assert _rule_ids(state, action) == set(), "the expert's own step must be clean"
    assert rule_id in _rule_ids(state, mutate(state, action))
    assert (
        ARENA.rules.constraint("buildings", rule_id)
        in ARENA.rules.file("buildings").hard_constraints
    )


def test_room_before_the_envelope_is_refused_and_changes_nothing():
    state = ARENA.reset(TWO)
    room = next(s.action for s in ARENA.solve(TWO) if s.action["type"] == "room")
    verdict, after, _ = ARENA.evaluate_step(state, room)
    assert {v.rule_id for v in verdict.violations} == {"order.envelope_first"}
    assert after is state and verdict.rule_compliance == 0.0


def test_program_area_is_the_briefs_not_just_the_codes():
    state, action = _at(TWO, _habitable_main(TWO))
    need = TWO.state["program"][action["target"]]["min_area"]
    side = round((need - 1.0) ** 0.5, 2)  # a square just under the brief, above the code minimum
    assert side * side >= 6.5
    assert "program.min_area" in _rule_ids(state, _p(width=side, depth=side)(state, action))


def test_windows_need_an_exterior_wall_and_the_facade_to_match():
    window = next(f.name for f in ARENA.t.styles["gothic_revival"].features if f.window)
    steps = ARENA.solve(GOTHIC)
    state = ARENA.replay(GOTHIC, steps).states[-1]
    room = next(
        s.action for s in steps if s.action["type"] == "room" and s.action["params"]["x"] == 0
    )
    probe = {**room, "target": "annex", "params": {**room["params"], "features": [window]}}
    inner = {**probe, "params": {**probe["params"], "x": 1.0, "y": 1.0, "width": 1.0, "depth": 1.0}}
    assert "style.window_on_exterior_wall" in _rule_ids(state, inner)
    assert "style.window_on_exterior_wall" not in _rule_ids(state, probe)
    # a façade without the window makes the room's window inconsistent inside and out
    bare = {**state, "envelope": {**state["envelope"], "features": ["finials"]}}
    assert "style.inside_matches_outside" in _rule_ids(bare, probe)
    with_window = {**bare, "envelope": {**bare["envelope"], "features": ["finials", window]}}
    assert "style.inside_matches_outside" not in _rule_ids(with_window, probe)


def test_daylight_rules_follow_the_walls_and_the_brief():
    crypt = _find(lambda s: s.state["building"]["below_grade"], 2)
    state, action = _at(crypt, _is("lighting"))
    ids = _rule_ids(state, _daylight("day")(state, action))
    assert "lighting.daylight_needs_window" in ids  # below grade: no window anywhere
    daylit = _find(lambda s: any(p["daylit"] for p in s.state["program"].values()), 3)
    target = next(k for k, p in daylit.state["program"].items() if p["daylit"])
    state, _ = _at(daylit, _is("lighting"))
    era = ARENA.t.era_source[daylit.state["building"]["style"]]
    dark = {
        "type": "lighting",
        "target": target,
        "params": {"source": era, "level": 0.8},
        "timing": {"period": "day"},
    }
    assert "program.daylight_variant" in _rule_ids(state, dark)
    # a brief marking a room daylit needs it on an exterior wall
    state, room = _at(TWO, _habitable_main(TWO))
    program = copy.deepcopy(state["program"])
    program[room["target"]]["daylit"] = True
    daylit_state = {**state, "program": program}
    moved = _p(x=1.0, y=1.0, width=2.5, depth=2.7)(state, room)
    assert "program.daylight_access" in _rule_ids(daylit_state, moved)
    p, env = room["params"], state["envelope"]
    on_wall = p["x"] == 0 or p["y"] == 0 or p["x"] + p["width"] >= env["width"] - 0.01
    on_wall = on_wall or p["y"] + p["depth"] >= env["depth"] - 0.01
    assert ("program.daylight_access" in _rule_ids(daylit_state, room)) != on_wall


def test_soft_rules_cost_compliance_without_blocking():
    state, room = _at(BRUT, _habitable_main(BRUT))
    verdict = ARENA.verify_step(state, _p(materials=["plaster"])(state, room))
    assert [v.rule_id for v in verdict.violations] == ["style.shared_material"]
    assert verdict.rule_compliance == pytest.approx(0.8)
    state, light = _at(BRUT, _is("lighting"))
    candle = {**light, "params": {"source": "candle", "level": 0.9}, "timing": {"period": "night"}}
    ids = {v.rule_id for v in ARENA.verify_step(state, candle).violations}
    assert {"lighting.period_source", "lighting.night_dim"} <= ids


def test_apply_is_a_pure_transition_with_the_delta_it_reports():
    state, room = _at(TWO, _habitable_main(TWO))
    frozen = copy.deepcopy(state)
    model, _ = ARENA.validate_action(room)
    after, delta = ARENA.apply(state, model)
    assert state == frozen, "apply mutated its input"
    rec = after["elements"][room["target"]]
    p = room["params"]
    assert rec["rect"] == [p["x"], p["y"], p["width"], p["depth"]]
    assert rec["parent"] == p["attach_to"] and delta == {"elements": {room["target"]: rec}}
    assert set(after["elements"]) == set(state["elements"]) | {room["target"]}


def test_expert_is_step_optimal_on_a_small_brief():
    scenario = ARENA.sample(0, 0, 1)
    brief = scenario.state
    # by hand: one envelope + one step per programme element + one per lighting variant
    lower_bound = 1 + len(brief["program"]) + len(brief["lighting_brief"])
    steps = ARENA.solve(scenario)
    assert len(steps) == lower_bound == scenario.metadata["optimal_steps"]
    actions = [s.action for s in steps]
    assert ARENA.verify_episode(scenario, actions).outcome_reward == 1.0
    for k in range(len(actions)):  # nothing shorter works
        assert not ARENA.verify_episode(scenario, actions[:k] + actions[k + 1 :]).success
    # an unrequested (but valid) extra variant succeeds with one suboptimal move
    wanted = {(x["target"], x["period"]) for x in brief["lighting_brief"]}
    room = next((k, p) for p in ("night", "day") for k in brief["program"] if (k, p) not in wanted)
    era = ARENA.t.era_source[brief["building"]["style"]]
    extra = {
        "type": "lighting",
        "target": room[0],
        "params": {"source": era, "level": 0.2},
        "timing": {"period": room[1]},
    }
    verdict = ARENA.verify_episode(scenario, [*actions, extra])
    assert verdict.success and verdict.suboptimal_moves == 1
    assert verdict.outcome_reward == pytest.approx(0.95)


def test_geometry_helpers_on_hand_computed_rectangles():
    a, b = (0.0, 0.0, 3.0, 4.0), (3.0, 1.0, 2.0, 2.0)
    assert shared_wall(a, b, 0.01) == pytest.approx(2.0)  # x = 3 wall, y from 1 to 3
    assert not overlaps(a, b, 0.01) and overlaps(a, (2.0, 1.0, 2.0, 2.0), 0.01)
    stair = (1.0, 4.0, 1.0, 3.0)  # a flight going north from y = 4
    assert edge_contact(stair, (0.0, 0.0, 3.0, 4.0), "south", 0.01) == pytest.approx(1.0)
    assert edge_contact(stair, (0.0, 0.0, 3.0, 4.0), "north", 0.01) == 0.0


def test_order_matters_for_every_expert_step():
    for d in (2, 5):
        for i in range(8):
            scenario = ARENA.sample(21, i, d)
            actions = [s.action for s in ARENA.solve(scenario)]
            assert ARENA.verify_episode(scenario, actions).success
            assert not ARENA.verify_episode(scenario, actions[::-1]).success
            for k in range(len(actions)):
                repeated = [*actions[: k + 1], actions[k], *actions[k + 1 :]]
                assert not ARENA.verify_episode(scenario, repeated).success


def test_difficulty_grows_the_problem():
    def mean(d: int, key: str) -> float:
        return sum(ARENA.sample(5, i, d).metadata[key] for i in range(40)) / 40

    elements = [mean(d, "elements") for d in range(1, 6)]
    assert elements == sorted(elements) and elements[-1] > 2 * elements[0]
    assert mean(5, "storeys") > 1.3 and mean(1, "storeys") == 1
    assert mean(5, "lighting_variants") > mean(1, "lighting_variants")
    for i in range(40):  # corridor width follows the occupant load (IBC 1020.2)
        s = ARENA.sample(5, i, 4)
        corridor = next(x.action for x in ARENA.solve(s) if x.action["type"] == "corridor")
        wide = s.state["building"]["occupants"] >= 50
        assert corridor["params"]["width"] >= (1.12 if wide else 0.91)


def test_the_expert_refuses_a_brief_it_did_not_generate():
    forged = TWO.model_copy(update={"state": {**TWO.state, "site": {"width": 99, "depth": 99}}})
    with pytest.raises(ValueError, match="not generated"):
        ARENA.solve(forged)


def _rules_with(tmp_path: Path, edit: Callable[[dict], None]) -> BuildingsArena:
    version = available_versions()[-1]
    root = tmp_path / version
    root.mkdir(parents=True)
    shutil.copy(DATA_DIR / version / "buildings.yaml", root / "buildings.yaml")
    data = yaml.safe_load((root / "buildings.yaml").read_text(encoding="utf-8"))
    edit(data["tables"])
    (root / "buildings.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return BuildingsArena(load_rule_dir(root))


def test_checks_read_their_thresholds_and_vocabularies_from_the_rule_data(tmp_path):
    state, room = _at(TWO, _habitable_main(TWO))
    assert room["params"]["door"]["width"] == 0.9
    stricter = _rules_with(tmp_path / "a", lambda t: t["codes"]["egress_door"].update(
        min_width_m=0.95))  # fmt: skip
    ids = {v.rule_id for v in stricter.verify_step(state, room).violations}
    assert ids == {"door.egress_min"}

    state, room = _at(BRUT, _habitable_main(BRUT))
    shingled = _other_style_material(state, room)
    assert "style.vocabulary" in _rule_ids(state, shingled)

    def allow_shingles(t: dict) -> None:
        brutalist = next(r for r in t["styles"]["rows"] if r["style"] == "brutalist")
        brutalist["materials"].append("fish_scale_shingles")

    lenient = _rules_with(tmp_path / "b", allow_shingles)
    assert lenient.verify_step(state, shingled).violations == []
