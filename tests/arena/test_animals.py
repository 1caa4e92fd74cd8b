"""Behaviour of the animals arena: each rule fires from the data, the simulator moves as stated,
the expert is optimal where the answer can be worked out by hand, and order is enforced by the
food web (prey first, predators after)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from srlforge.arena import get_arena
from srlforge.arena.animals import AnimalsArena
from srlforge.rules import DATA_DIR, RuleFileError, load_rule_dir
from srlforge.schema import Scenario


@pytest.fixture(scope="module")
def arena() -> AnimalsArena:
    return get_arena("animals")  # type: ignore[return-value]


def _role(rid: str, **fields: Any) -> dict[str, Any]:
    role = {
        "id": rid,
        "text": rid,
        "species_any": None,
        "patch_any": None,
        "slot": None,
        "on_route": False,
        "player_response_any": None,
        "monster_response": None,
        "preys_on_patch": None,
        "hunt": False,
    }
    return {**role, **fields}


def _state(**changes: Any) -> dict[str, Any]:
    """A hand-made region: meadow p0 - forest p1 - crypt p2 - swamp p3, in October."""
    state = {
        "patches": {
            "p0": {"terrain": "meadow", "capacity": 40.0, "adjacent": ["p1"]},
            "p1": {"terrain": "forest", "capacity": 40.0, "adjacent": ["p0", "p2"]},
            "p2": {"terrain": "crypt", "capacity": 40.0, "adjacent": ["p1", "p3"]},
            "p3": {"terrain": "swamp", "capacity": 40.0, "adjacent": ["p2"]},
        },
        "month": 10,
        "season": "autumn",
        "window": ["dusk", "night"],
        "monster": None,
        "route": [{"patch": "p0", "slot": "dusk"}, {"patch": "p1", "slot": "night"}],
        "brief": {
            "roles": [
                _role("r0", species_any=["deer"], patch_any=["p0"], slot="dusk"),
                _role("r1", species_any=["wolf"], slot="dusk", preys_on_patch="p0"),
            ],
            "group_count": 2,
        },
        "groups": [],
        "load": {"p0": 0.0, "p1": 0.0, "p2": 0.0, "p3": 0.0},
    }
    state.update(copy.deepcopy(changes))
    return state


def _act(
    species: str,
    unit: str,
    count: int,
    patch: str,
    slots: list[str],
    player: str,
    monster: str = "none",
) -> dict[str, Any]:
    return {
        "type": unit,
        "target": patch,
        "params": {
            "species": species,
            "count": count,
            "player_response": player,
            "monster_response": monster,
        },
        "timing": {"slots": slots},
    }


DEER = _act("deer", "herd", 3, "p0", ["dusk"], "flee")
WOLF = _act("wolf", "pack", 8, "p1", ["dusk"], "wary")
DEER_GROUP = {
    "id": "g0",
    "species": "deer",
    "unit": "herd",
    "count": 3,
    "patch": "p0",
    "slots": ["dusk"],
    "player_response": "flee",
    "monster_response": "none",
}
VAMPIRE = {"species": "vampire", "lair": "p2", "slots": ["dusk", "night"]}


def _scenario(arena: AnimalsArena, state: dict[str, Any]) -> Scenario:
    return Scenario(
        id="animals:0:0:1",
        model_type="animals",
        seed=0,
        index=0,
        difficulty=1,
        split="train",
        rules_version=arena.rules_version,
        objective="hand-made",
        state=state,
        max_steps=state["brief"]["group_count"] + 2,
    )


def _after(arena: AnimalsArena, state: dict[str, Any], *actions: dict[str, Any]):
    for action in actions:
        verdict, state, _ = arena.evaluate_step(state, action)
        assert not verdict.hard_violation, verdict.feedback
    return state


def _rules(arena, state, action) -> set[str]:
    verdict = arena.verify_step(state, action)
    assert verdict.format_valid, verdict.feedback
    return {v.rule_id for v in verdict.violations}


# (rule id, state, action): each case breaks its rule in an otherwise plausible placement
HARD_CASES = {
    "region.patch": (_state(), _act("deer", "herd", 3, "p9", ["dusk"], "flee")),
    "species.known": (_state(), _act("dragon", "herd", 3, "p0", ["dusk"], "flee")),
    "habitat.terrain": (_state(), _act("deer", "herd", 3, "p3", ["dusk"], "flee")),
    "activity.window": (_state(), _act("crow", "family", 2, "p0", ["day"], "tolerate")),
    "activity.slots": (_state(), _act("crow", "family", 2, "p0", ["dusk"], "tolerate")),
    "season.dormancy": (
        _state(
            month=1,
            season="winter",
            patches={"p0": {"terrain": "desert", "capacity": 9.0, "adjacent": []}},
        ),
        _act("rattlesnake", "solitary", 1, "p0", ["dusk"], "defensive"),
    ),
    "social.unit": (_state(), _act("deer", "pack", 3, "p0", ["dusk"], "flee")),
    "social.count": (_state(), _act("mountain_lion", "solitary", 3, "p0", ["dusk"], "avoid")),
    "response.player": (_state(), _act("deer", "herd", 3, "p0", ["dusk"], "aggressive")),
    "season.alligator_nesting": (
        _state(month=5, season="spring"),
        _act("alligator", "solitary", 1, "p3", ["dusk"], "avoid"),
    ),
    "response.monster": (_state(), _act("deer", "herd", 3, "p0", ["dusk"], "flee", "flee")),
    "monster.summon": (
        _state(
            monster=VAMPIRE, patches={"p2": {"terrain": "crypt", "capacity": 40.0, "adjacent": []}}
        ),
        _act("wolf", "pack", 8, "p2", ["night"], "wary", "ally"),  # wolves come only outdoors
    ),
    "monster.flee_undead": (
        _state(monster=VAMPIRE),
        _act("bat", "colony", 20, "p2", ["night"], "avoid", "flee"),
    ),
    "ecology.prey_base": (_state(), WOLF),
    "ecology.predator_overlap": (
        _state(groups=[DEER_GROUP]),
        _act("wolf", "pack", 8, "p0", ["dusk"], "wary"),
    ),
    "capacity.patch": (
        _state(load={"p0": 38.0, "p1": 0.0, "p2": 0.0, "p3": 0.0}),
        DEER,  # 3 Medium deer fill 3 squares, 2 are free
    ),
}


@pytest.mark.parametrize("rule_id", sorted(HARD_CASES))
def test_each_hard_rule_fires_on_its_crafted_action(arena, rule_id):
    state, action = HARD_CASES[rule_id]
    assert rule_id in _rules(arena, state, action)
    assert (
        arena.rules.constraint("animals", rule_id) in arena.rules.file("animals").hard_constraints
    )


def test_rules_that_depend_on_earlier_groups_fire(arena):
    after_chain = _after(arena, _state(brief={"roles": [], "group_count": 9}), DEER, WOLF)
    # prey will not settle next to an established predator
    elk = _act("elk", "herd", 5, "p0", ["dusk"], "aggressive")
    assert "ecology.landscape_of_fear" in _rules(arena, after_chain, elk)
    assert "territory.duplicate" in _rules(arena, after_chain, DEER)
    full = _after(arena, _state(), DEER, WOLF)
    assert "brief.group_count" in _rules(
        arena, full, _act("bat", "colony", 20, "p2", ["night"], "avoid")
    )


def test_every_hard_constraint_in_the_data_has_a_firing_test(arena):
    tested = set(HARD_CASES) | {"ecology.landscape_of_fear", "territory.duplicate"}
    tested.add("brief.group_count")
    assert {c.id for c in arena.rules.file("animals").hard_constraints} == tested


@pytest.mark.parametrize(
    ("rule_id", "state", "action"),
    [
        ("activity.preferred", _state(), _act("deer", "herd", 3, "p0", ["night"], "flee")),
        (
            "social.band",
            _state(groups=[DEER_GROUP]),
            _act("wolf", "pack", 5, "p1", ["dusk"], "wary"),
        ),
        ("season.elk_rut", _state(), _act("elk", "herd", 5, "p0", ["dusk"], "flee")),
        (
            "response.uncertain",
            _state(patches={"p0": {"terrain": "coastal_sea", "capacity": 9.0, "adjacent": []}}),
            _act("shark", "solitary", 1, "p0", ["night"], "flee"),
        ),
        (
            "social.winter_roost",
            _state(month=12, season="winter", window=["day"]),
            _act("crow", "family", 2, "p0", ["day"], "tolerate"),
        ),
    ],
)
def test_uncertain_facts_only_cost_a_soft_penalty(arena, rule_id, state, action):
    verdict = arena.verify_step(state, action)
    assert rule_id in {v.rule_id for v in verdict.violations}
    assert not verdict.hard_violation and 0.0 < verdict.rule_compliance < 1.0


def test_vampire_calls_bat_swarms_to_its_lair_only_while_the_sun_is_down(arena):
    state = _state(monster=VAMPIRE, window=["day", "dusk", "night"])
    swarm = _act("bat", "swarm", 3, "p2", ["night"], "avoid", "ally")
    assert _rules(arena, state, swarm) == set()
    by_day = _act("bat", "swarm", 3, "p2", ["day"], "avoid", "ally")
    assert "monster.summon" in _rules(arena, state, by_day)
    free_swarm = _act("bat", "swarm", 3, "p2", ["night"], "avoid", "flee")
    assert "social.unit" in _rules(arena, state, free_swarm)


def test_a_brief_hunt_allows_the_predator_onto_its_prey(arena):
    hunt = _role("r1", species_any=["wolf"], patch_any=["p1"], preys_on_patch="p1", hunt=True)
    state = _state(brief={"roles": [hunt], "group_count": 3})
    boar = _act("wild_boar", "sounder", 2, "p1", ["dusk"], "flee")
    wolf_on_boar = _act("wolf", "pack", 8, "p1", ["dusk"], "wary")
    assert "ecology.prey_base" in _rules(arena, state, wolf_on_boar)  # boar is not wolf prey
    state["brief"]["roles"][0]["preys_on_patch"] = "p0"
    state = _after(arena, state, DEER)
    assert _rules(arena, state, wolf_on_boar) == set()  # adjacent deer is its prey base
    state = _after(arena, state, boar)
    hunt_in_p0 = _act("wolf", "pack", 8, "p0", ["dusk"], "wary")
    assert "ecology.predator_overlap" in _rules(arena, state, hunt_in_p0)


def test_apply_adds_the_group_and_its_load_without_mutating_the_input(arena):
    state = _state()
    before = copy.deepcopy(state)
    action, _ = arena.validate_action(WOLF)
    nxt, delta = arena.apply(state, action)
    assert state == before
    assert delta == {
        "placed": {"id": "g0", "species": "wolf", "patch": "p1", "load": 8.0},
        "load": {"p1": 8.0},
        "groups": 1,
    }
    assert nxt["groups"][0]["count"] == 8 and nxt["load"]["p1"] == 8.0
    # a hard-violating step leaves the world as it was
    verdict, same, _ = arena.evaluate_step(state, WOLF)
    assert verdict.hard_violation and same is state


def test_expert_is_optimal_on_a_case_worked_out_by_hand(arena):
    # deer herd of 3 (the smallest herd) in p0 at dusk, then a pack of 8 (bottom of the ~8-12
    # band) in p1, the only forest next to p0: the only rule-clean plan at minimal sizes.
    scenario = _scenario(arena, _state())
    steps = arena.solve(scenario)
    assert [s.action for s in steps] == [
        {**DEER, "metadata": {"role": "r0"}},
        {**WOLF, "metadata": {"role": "r1"}},
    ]
    verdict = arena.verify_episode(scenario, steps)
    assert verdict.success and verdict.outcome_reward == 1.0 and verdict.suboptimal_moves == 0


def test_order_is_enforced_by_the_food_web(arena):
    scenario = _scenario(arena, _state())
    swapped = arena.verify_episode(scenario, [{"action": WOLF}, {"action": DEER}])
    assert not swapped.success
    assert "ecology.prey_base" in {v.rule_id for v in swapped.violations}
    # with some other prey base for the wolf, the herd still won't settle beside the pack
    elk_role = _role("r2", species_any=["elk"])
    state = _state(brief={"roles": [*_state()["brief"]["roles"], elk_role], "group_count": 3})
    state["patches"]["p2"]["terrain"] = "mountains"
    elk = _act("elk", "herd", 5, "p2", ["dusk"], "aggressive")
    verdict = arena.verify_episode(_scenario(arena, state), [elk, WOLF, DEER])
    assert not verdict.success
    assert "ecology.landscape_of_fear" in {v.rule_id for v in verdict.violations}
    assert arena.verify_episode(_scenario(arena, state), [elk, DEER, WOLF]).success


def test_a_group_that_fills_no_role_is_a_suboptimal_move(arena):
    scenario = _scenario(arena, _state())
    bats = _act("bat", "colony", 20, "p2", ["night"], "avoid")
    verdict = arena.verify_episode(scenario, [DEER, bats])
    assert not verdict.success and verdict.suboptimal_moves == 1
    assert verdict.details["roles_filled"] == 1


def test_strict_schema_rejects_stringly_numbers_repeated_slots_and_absurd_counts(arena):
    for bad in (
        {**DEER, "params": {**DEER["params"], "count": "3"}},
        {**DEER, "params": {**DEER["params"], "count": 501}},
        {**DEER, "timing": {"slots": ["dusk", "dusk"]}},
        {**DEER, "type": "horde"},
    ):
        assert not arena.verify_step(_state(), bad).format_valid


def test_expert_steps_are_free_of_any_violation(arena):
    for d in (1, 3, 5):
        for i in range(15):
            scenario = arena.sample(21, i, d)
            replay = arena.replay(scenario, arena.solve(scenario))
            assert all(not v.violations for v in replay.verdicts), scenario.id


def test_difficulty_grows_the_problem(arena):
    def mean(d: int, key: str) -> float:
        return sum(arena.sample(4, i, d).metadata[key] for i in range(40)) / 40

    groups = [mean(d, "groups") for d in (1, 2, 3, 4, 5)]
    assert groups == sorted(groups) and groups[0] < groups[-1]
    assert mean(5, "capacity_slack") < mean(1, "capacity_slack")
    assert sum(arena.sample(4, i, 5).metadata["monster"] is not None for i in range(20)) == 20


@pytest.fixture()
def rules_copy(tmp_path: Path) -> Path:
    root = tmp_path / "1.0.0"
    shutil.copytree(DATA_DIR / "1.0.0", root)
    return root


def _edit(root: Path, change) -> None:
    path = root / "animals.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _species(data: dict, name: str) -> dict:
    return next(r for r in data["tables"]["species"]["rows"] if r["species"] == name)


def test_changing_the_rule_data_changes_the_verdict(arena, rules_copy):
    assert "habitat.terrain" not in _rules(arena, _state(), DEER)
    _edit(rules_copy, lambda d: _species(d, "deer").update(habitat=["forest"]))
    _edit(rules_copy, lambda d: _species(d, "wolf")["units"]["pack"].update(band=[4, 6]))
    edited = AnimalsArena(load_rule_dir(rules_copy))
    assert "habitat.terrain" in _rules(edited, _state(), DEER)
    assert "social.band" in _rules(
        edited, _state(), _act("wolf", "pack", 8, "p1", ["dusk"], "wary")
    )


def test_a_malformed_table_names_the_file_and_the_path(rules_copy):
    _edit(rules_copy, lambda d: _species(d, "wolf")["units"].update(horde={"count": [1, 2]}))
    with pytest.raises(RuleFileError, match=r"animals\.yaml.*\n.*tables\.species\.rows\[3\]"):
        AnimalsArena(load_rule_dir(rules_copy))


def test_forbidden_actions_break_a_hard_rule_and_random_actions_are_schema_valid(arena):
    import random

    rng = random.Random(3)
    for i in range(10):
        scenario = arena.sample(30, i, 3)
        state = arena.reset(scenario)
        for action in arena.forbidden_actions(scenario, state):
            assert arena.verify_step(state, action).hard_violation
        assert arena.verify_step(state, arena.random_action(rng, state)).format_valid
        for action in arena.action_mask(state) or []:
            assert not arena.verify_step(state, action).hard_violation
