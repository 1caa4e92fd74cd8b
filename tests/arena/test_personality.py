"""The personality arena's domain behaviour: species rules bind, data drives the checks, the
simulator moves the hunter as specified, and the expert is optimal where we can count by hand."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

from srlforge.arena import get_arena
from srlforge.arena.personality import PersonalityArena
from srlforge.rules import DATA_DIR, RuleFileError, load_rule_dir
from srlforge.schema import Scenario

# street - house - crypt and street - alley - forest - crypt: two ways to the crypt, the short
# one through a private home. The church hangs off the street, the ford off the forest.
MAP = {
    "street": {"tags": ["lit"], "exits": ["house", "alley", "church"]},
    "house": {"tags": ["indoors", "private_home"], "exits": ["street", "crypt"]},
    "alley": {"tags": ["cover"], "exits": ["street", "forest"]},
    "forest": {"tags": ["cover"], "exits": ["alley", "crypt", "ford"]},
    "crypt": {"tags": ["indoors", "cover"], "exits": ["house", "forest"]},
    "church": {"tags": ["indoors", "consecrated", "lit"], "exits": ["street"]},
    "ford": {"tags": ["running_water"], "exits": ["forest"]},
}


@pytest.fixture(scope="module")
def arena() -> PersonalityArena:
    return get_arena("personality")  # type: ignore[return-value]


def world(arena, species="vampire", at="street", hunter="church", **changes) -> dict:
    """A hand-built state on MAP (the hunter stands still unless his route says otherwise)."""
    sp = arena.cfg.species[species]
    state = {
        "species": species,
        "objective": {"kind": "reach_refuge", "goal": "crypt", "deadline": 8},
        "dawn_turn": 10,
        "moon": "new",
        "map": copy.deepcopy(MAP),
        "homes_invited": [],
        "phylactery": None,
        "turn": 0,
        "status": "ongoing",
        "outcome": None,
        "monster": {
            "at": at,
            "hp": sp.hit_points,
            "max_hp": sp.hit_points,
            "hidden": False,
            "fed": False,
            "allies_at": None,
            "used": [],
            "traits": dict.fromkeys(
                ("intelligence", "charisma", "aggression", "survival_instinct", "faction_loyalty"),
                3,
            ),
            "emotions": {"fear": 0, "rage": 0, "hunger": 0, "curiosity": 0},
            "goal": "survive",
        },
        "player": {
            "at": hunter,
            "hp": 26,
            "level": 3,
            "weapon": "mundane",
            "mode": "patrol",
            "mode_turns": 0,
            "route": [hunter],
            "route_i": 0,
            "loop": True,
            "last_seen": None,
            "resolve": 3,
            "parleyed": False,
        },
    }
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            state[section][field] = value
        else:
            state[section] = value
    return state


def act(kind, target, offer=None, ability=None, turns=None) -> dict:
    out = {"type": kind, "target": target, "params": {}}
    if offer:
        out["params"]["offer"] = offer
    if ability:
        out["params"]["ability"] = ability
    if turns:
        out["timing"] = {"turns": turns}
    return out


def hard_rules(arena, state, action) -> set[str]:
    verdict = arena.verify_step(state, action)
    assert verdict.format_valid, verdict.feedback
    return {v.rule_id for v in verdict.violations if v.severity == "hard"}


def scenario(arena, state, max_steps=8) -> Scenario:
    return Scenario(
        id="personality:test:0:1",
        model_type="personality",
        species=state["species"],
        seed=0,
        index=0,
        difficulty=1,
        split="train",
        rules_version=arena.rules_version,
        objective="test",
        state=state,
        max_steps=max_steps,
    )


# ----- species rules bind (and only where they apply) ----------------------------------------


def test_forbiddance_bars_an_uninvited_home_only_for_species_that_need_invitation(arena):
    assert "species.forbiddance" in hard_rules(arena, world(arena), act("move", "house"))
    invited = world(arena, homes_invited=["house"])
    assert not hard_rules(arena, invited, act("move", "house"))
    assert not hard_rules(arena, world(arena, "werewolf"), act("move", "house"))


def test_running_water_sunlight_and_speech(arena):
    at_forest = world(arena, at="forest")
    assert "species.running_water" in hard_rules(arena, at_forest, act("move", "ford"))
    assert not hard_rules(arena, world(arena, "ghoul", at="forest"), act("move", "ford"))
    # One turn before dawn: the open alley would be in sunlight, the indoor crypt is fine.
    dawn = world(arena, at="forest", turn=9)
    assert "species.sunlight" in hard_rules(arena, dawn, act("move", "alley"))
    assert not hard_rules(arena, dawn, act("move", "crypt"))
    near = world(arena, "zombie", hunter="house")
    assert "species.speech" in hard_rules(arena, near, act("negotiate", "player", offer="parley"))
    assert not hard_rules(arena, world(arena, hunter="house"), act("negotiate", "player", "parley"))


def test_pack_calls_only_at_night_and_the_lich_guards_its_phylactery(arena):
    night = world(arena, "werewolf", hunter="house")
    assert not hard_rules(arena, night, act("call_pack", "street"))
    day = world(arena, "werewolf", hunter="house", turn=3, dawn_turn=3)
    assert "call_pack.available" in hard_rules(arena, day, act("call_pack", "street"))
    assert "call_pack.available" in hard_rules(
        arena, world(arena, "zombie", hunter="house"), act("call_pack", "street")
    )
    lich = world(arena, "lich", at="crypt", hunter="house", phylactery="crypt")
    assert "species.guards" in hard_rules(arena, lich, act("move", "forest"))
    far = world(arena, "lich", at="crypt", hunter="church", phylactery="crypt")
    assert not hard_rules(arena, far, act("move", "forest"))


def test_generic_rules_and_emotion_gates(arena):
    state = world(arena, hunter="street")
    assert "move.adjacent" in hard_rules(arena, state, act("move", "crypt"))
    assert "concealment.cover" in hard_rules(arena, state, act("stalk", "house"))
    assert "action.target" in hard_rules(arena, state, act("wait", "crypt", turns=1))
    assert "action.params" in hard_rules(arena, state, act("move", "alley", turns=2))
    assert "feed.victim" in hard_rules(arena, state, act("feed", "victim"))
    assert not hard_rules(arena, state, act("attack", "player", turns=1))
    fear = {"fear": 5, "rage": 0, "hunger": 0, "curiosity": 0}
    afraid = world(arena, hunter="street", monster__emotions=fear)
    assert "emotion.panic" in hard_rules(arena, afraid, act("attack", "player", turns=1))


def test_folklore_is_soft_and_weighted_from_data(arena):
    verdict = arena.verify_step(world(arena), act("move", "church"))
    assert [v.rule_id for v in verdict.violations] == ["folklore.avoided_place"]
    assert verdict.violations[0].severity == "soft"
    weight = arena.rules.constraint("personality", "folklore.avoided_place").weight
    assert verdict.rule_compliance == pytest.approx(1 - weight)


def test_forbidden_actions_are_hard_in_their_state_and_species_specific_first(arena):
    state = world(arena)
    forbidden = arena.forbidden_actions(scenario(arena, state), state)
    assert forbidden[0] == act("move", "house")  # the vampire's uninvited home
    for action in forbidden:
        assert hard_rules(arena, state, action), action
    zombie = world(arena, "zombie", hunter="house")
    assert act("negotiate", "player", offer="bargain") in arena.forbidden_actions(
        scenario(arena, zombie), zombie
    )
    mask = arena.action_mask(state)
    assert act("move", "alley") in mask and act("move", "house") not in mask
    assert all(not hard_rules(arena, state, a) for a in mask)


# ----- the checks come from the rule data --------------------------------------------------


def _rules_with(tmp_path: Path, file: str, edit) -> PersonalityArena:
    root = tmp_path / "1.0.0"
    shutil.copytree(DATA_DIR / "1.0.0", root)
    doc = yaml.safe_load((root / file).read_text())
    edit(doc)
    (root / file).write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return PersonalityArena(load_rule_dir(root))


def test_changing_species_data_changes_the_verdict(tmp_path, arena):
    def welcome(doc):
        for row in doc["tables"]["species"]["rows"]:
            if row["name"] == "vampire":
                row["needs_invitation"] = False

    relaxed = _rules_with(tmp_path, "species.yaml", welcome)
    assert "species.forbiddance" in hard_rules(arena, world(arena), act("move", "house"))
    assert not hard_rules(relaxed, world(relaxed), act("move", "house"))


def test_changing_personality_data_changes_the_simulation(tmp_path, arena):
    def silent_moves(doc):
        for row in doc["tables"]["actions"]["rows"]:
            if row["name"] == "move":
                row["noise"] = 0

    quiet = _rules_with(tmp_path, "personality.yaml", silent_moves)
    # In the dark, a move next to the hunter is heard only while moves make noise.
    state = world(arena, at="street", hunter="forest")
    loud = arena.apply(state, arena.validate_action(act("move", "alley"))[0])[0]
    hushed = quiet.apply(state, quiet.validate_action(act("move", "alley"))[0])[0]
    assert loud["player"]["last_seen"] == "alley" and loud["player"]["mode"] == "chase"
    assert hushed["player"]["last_seen"] is None and hushed["player"]["mode"] == "patrol"


def test_bad_rule_data_fails_at_load_naming_file_and_path(tmp_path):
    def drop_guards(doc):
        doc["hard_constraints"] = [
            c for c in doc["hard_constraints"] if c["id"] != "species.guards"
        ]

    with pytest.raises(RuleFileError, match=r"personality\.yaml.*species\.guards"):
        _rules_with(tmp_path / "a", "personality.yaml", drop_guards)

    def bad_weapon(doc):
        doc["tables"]["weapons"]["rows"][0]["damage"] = "lots"

    with pytest.raises(RuleFileError, match=r"tables\.weapons\.rows\[0\]\.damage"):
        _rules_with(tmp_path / "b", "personality.yaml", bad_weapon)


# ----- the simulator ---------------------------------------------------------------------------


def _play(arena, state, *actions):
    for action in actions:
        verdict, state, _ = arena.evaluate_step(state, action)
        assert not verdict.hard_violation, verdict.feedback
    return state


def test_apply_is_pure_and_its_delta_is_what_changed(arena):
    state = world(arena, hunter="forest", player__route=["forest", "alley"])
    before = json.dumps(state, sort_keys=True)
    after, delta = arena.apply(state, arena.validate_action(act("stalk", "alley"))[0])
    assert json.dumps(state, sort_keys=True) == before
    # The hunter walks into the alley, but the stalking vampire stays hidden in its cover,
    # watching him pass unaware (which makes it curious about him).
    assert delta == {
        "turn": 1,
        "monster": {"at": "alley", "hidden": True, "emotions": {"curiosity": 1}},
        "player": {"at": "alley", "route_i": 1},
    }
    assert after["player"]["mode"] == "patrol"


def test_hunter_hears_chases_and_cannot_be_slipped_past(arena):
    # A move two locations from the patrolling hunter goes unheard; one location away, heard.
    state = _play(arena, world(arena, "ghoul", hunter="forest"), act("move", "house"))
    assert state["player"]["mode"] == "patrol"
    state = _play(arena, world(arena, hunter="forest"), act("move", "alley"))
    assert (state["player"]["mode"], state["player"]["last_seen"]) == ("chase", "alley")
    # Walking at him along the path he is coming down: they meet, he strikes.
    chasing = world(
        arena,
        "ghoul",
        at="street",
        hunter="alley",
        player__mode="chase",
        player__last_seen="street",
    )
    met = _play(arena, chasing, act("move", "alley"))
    assert met["player"]["at"] == met["monster"]["at"] == "alley"
    assert met["monster"]["hp"] == 22 - 5 * 3  # mundane 5 x 3 strikes, full effect on a ghoul


def test_regeneration_holy_water_and_undead_fortitude(arena):
    hit = world(
        arena,
        hunter="alley",
        player__weapon="silver",
        player__mode="chase",
        player__last_seen="street",
    )
    # Silver is resisted (half) and the vampire regenerates 20 the same turn.
    assert _play(arena, hit, act("move", "alley"))["monster"]["hp"] == 144
    holy = copy.deepcopy(hit)
    holy["player"]["weapon"] = "holy_water"
    assert _play(arena, holy, act("move", "alley"))["monster"]["hp"] == 144 - 7 * 3
    zombie = world(
        arena,
        "zombie",
        at="street",
        hunter="alley",
        player__mode="chase",
        player__last_seen="street",
        player__level=1,
        monster__hp=5,
    )
    # A 5-point hit would destroy it; Undead Fortitude (<= 8, not radiant) leaves 1 HP.
    assert _play(arena, zombie, act("move", "alley"))["monster"]["hp"] == 1


def test_feeding_is_witnessed_by_any_hunter_awake_and_near(arena):
    objective = {"kind": "feed_unseen", "victim": "alley", "refuge": None, "deadline": 8}
    feed = act("feed", "victim")
    # A hunter in truce beside it still sees; a patrolling one next door hears (noise 1).
    for hunter, mode in (("alley", "truce"), ("forest", "patrol")):
        watched = world(arena, "ghoul", at="alley", hunter=hunter, objective=objective)
        watched["player"]["mode"] = mode
        assert _play(arena, watched, feed)["outcome"] == "seen_feeding", mode
    fled = world(arena, "ghoul", at="alley", hunter="alley", objective=objective)
    fled["player"].update(mode="frightened", mode_turns=2)
    assert _play(arena, fled, feed)["outcome"] == "feed_unseen"


def test_lured_means_he_came_chasing_the_monster(arena):
    objective = {"kind": "lure", "goal": "alley", "deadline": 8}
    rounds = world(arena, "ghoul", at="church", hunter="forest", objective=objective)
    rounds["player"]["route"] = ["forest", "alley"]
    # His own rounds take him to the alley: not lured.
    assert _play(arena, rounds, act("wait", "church", turns=1))["status"] == "ongoing"
    chasing = copy.deepcopy(rounds)
    chasing["player"].update(mode="chase", last_seen="alley")
    assert _play(arena, chasing, act("wait", "church", turns=1))["status"] == "won"


def test_slow_species_take_longer_per_move(arena):
    assert _play(arena, world(arena, "zombie"), act("move", "alley"))["turn"] == 2
    assert _play(arena, world(arena, "ghoul"), act("move", "alley"))["turn"] == 1


# ----- the expert ------------------------------------------------------------------------------


def test_expert_takes_the_hand_computed_shortest_lawful_way(arena):
    # Uninvited, the vampire must go round: street -> alley -> forest -> crypt (3 turns).
    plan = arena.solve(scenario(arena, world(arena)))
    assert [s.action["target"] for s in plan] == ["alley", "forest", "crypt"]
    assert "Forbiddance" in plan[0].think
    assert arena.planner.cost_to_go(world(arena)) == pytest.approx(3.03)
    # Invited, the house is the short way (2 turns).
    invited = world(arena, homes_invited=["house"])
    assert [s.action["target"] for s in arena.solve(scenario(arena, invited))] == [
        "house",
        "crypt",
    ]


def test_judge_counts_moves_worse_than_the_optimal_plan(arena):
    state = world(arena)
    case = scenario(arena, state)
    waste = [
        act("wait", "street", turns=1),
        act("move", "alley"),
        act("move", "forest"),
        act("move", "crypt"),
    ]
    verdict = arena.verify_episode(case, waste)
    assert verdict.success and verdict.suboptimal_moves == 1
    assert arena.verify_episode(case, arena.solve(case)).suboptimal_moves == 0
    assert not arena.verify_episode(case, waste[1:3]).success  # stops short of the crypt


def test_difficulty_grows_the_problem(arena):
    def mean(d, key):
        values = [arena.sample(8, i, d).metadata[key] for i in range(40)]
        return sum(values) / len(values)

    assert mean(1, "map_size") < mean(3, "map_size") < mean(5, "map_size")
    assert mean(1, "hunter_level") < mean(5, "hunter_level")
    assert mean(1, "slack") > mean(5, "slack")
    assert mean(1, "weapon_is_bane") < mean(5, "weapon_is_bane")


def test_a_new_species_needs_no_code(tmp_path):
    def add_wight(doc):
        doc["tables"]["species"]["rows"].append(
            {
                "name": "wight",
                "srd_index": "wight",
                "creature_type": "undead",
                "hit_points": 45,
                "speed_ft": 30,
                "intelligence": 10,
                "wisdom": 13,
                "charisma": 15,
                "senses": {"darkvision": "60 ft.", "passive_perception": 13},
                "languages": "the languages it knew in life",
                "can_speak": True,
                "damage_resistances": [
                    "necrotic",
                    "bludgeoning, piercing, and slashing from nonmagical weapons that aren't "
                    "silvered",
                ],
                "damage_immunities": ["poison"],
                "condition_immunities": ["exhaustion", "poisoned"],
                "special_abilities": ["Sunlight Sensitivity"],
                "attack": {"name": "Multiattack (two Longsword attacks)", "damage": 12},
                "strengths": ["life drain"],
                "weaknesses": ["sunlight sensitivity", "silvered weapons"],
                "activity": "nocturnal",
                "social": "solitary",
                "harmed_by": ["silver", "holy_water", "fire"],
                "weapon_effect": dict(silver=1.0, holy_water=1.0, stake=0.5, fire=1.0, mundane=0.5),
                "sunlight": "sensitive",
                "needs_invitation": False,
                "running_water": "none",
                "pack_call": "never",
                "resting_places": ["tomb", "crypt"],
                "trait_ranges": dict(
                    aggression=[3, 4], survival_instinct=[2, 4], faction_loyalty=[2, 3]
                ),
                "personal_goals": ["survive", "lure", "passage", "territory"],
            }
        )

    arena = _rules_with(tmp_path, "species.yaml", add_wight)
    wights = [
        s for d in (1, 3, 5) for i in range(40) if (s := arena.sample(4, i, d)).species == "wight"
    ]
    assert len(wights) >= 10
    for case in wights:
        outcome = arena.expert_trajectory(case).outcome
        assert outcome.success and outcome.outcome_reward >= 0.9, case.id
    # Its SRD trait binds through the data alone: daylight on open ground is a soft violation.
    state = world(arena, "wight", at="forest", turn=9)
    verdict = arena.verify_step(state, act("move", "alley"))
    assert [v.rule_id for v in verdict.violations] == ["species.sunlight_sensitive"]
