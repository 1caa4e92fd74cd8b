"""Animals: place and schedule animal groups in a map region, one group per step.

A scenario is a region of terrain patches (with adjacency and capacity in 5-ft squares), a
month, a window of day slots, the player's route, perhaps a monster with its lair, and a brief:
a list of roles ("the crypt needs bats", "a predator of the deer herd in p1", "an omen seen from
the route", "a threat on the route", "the vampire's children of the night") and the exact number
of groups to place. Each step places one group (species, social unit, size, patch, active slots,
responses to the player and to the monster). Every check reads ``animals.yaml``: habitat,
activity, social structure, seasons, responses, the vampire's summons, patch capacity and a food
web in which prey settles before the predators that follow it. That last rule is why order
matters: a predator needs its prey base already in reach, and prey will not settle where a
predator already hunts, so reversing or swapping the plan fails for an ecological reason.
"""

from __future__ import annotations

import random
from itertools import product
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from srlforge.arena._animals_gen import generate
from srlforge.arena._animals_rules import fills, group_load, group_violations
from srlforge.arena._animals_solver import solve_roles
from srlforge.arena._animals_tables import (
    Ecology,
    Group,
    MonsterResponse,
    PlayerResponse,
    Slot,
    Unit,
)
from srlforge.arena.base import Arena, Judgement, Replay
from srlforge.rules import RuleSet
from srlforge.schema import Scenario, Step, Violation

MAX_COUNT = 500  # the schema's ceiling; every social unit in the data stays below it


class GroupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    species: str = Field(pattern=r"^[a-z_]{1,24}$", description="A species of tables.species.")
    count: int = Field(ge=1, le=MAX_COUNT, description="Individuals (or swarms) in the group.")
    player_response: PlayerResponse
    monster_response: MonsterResponse


class GroupTiming(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slots: list[Slot] = Field(min_length=1, max_length=4, description="Active day slots.")

    @field_validator("slots")
    @classmethod
    def _distinct(cls, slots: list[str]) -> list[str]:
        if len(set(slots)) != len(slots):
            raise ValueError("slots must not repeat")
        return slots


class GroupMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(default=None, pattern=r"^r[0-9]{1,2}$")
    note: str | None = Field(default=None, max_length=200)


class AnimalAction(BaseModel):
    """Place one animal group: ``type`` is its social unit, ``target`` the patch."""

    model_config = ConfigDict(extra="forbid")

    type: Unit
    target: str = Field(pattern=r"^p[0-9]{1,2}$")
    params: GroupParams
    timing: GroupTiming
    metadata: GroupMetadata | None = None


def _group(action: AnimalAction) -> Group:
    p = action.params
    return {
        "species": p.species,
        "unit": action.type,
        "count": p.count,
        "patch": action.target,
        "slots": list(action.timing.slots),
        "player_response": p.player_response,
        "monster_response": p.monster_response,
    }


def _action(g: Group, role_id: str | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": g["unit"],
        "target": g["patch"],
        "params": {
            "species": g["species"],
            "count": g["count"],
            "player_response": g["player_response"],
            "monster_response": g["monster_response"],
        },
        "timing": {"slots": list(g["slots"])},
    }
    if role_id is not None:
        action["metadata"] = {"role": role_id}
    return action


def _max_matching(options: list[list[int]]) -> int:
    """Size of a maximum matching of roles to groups (Kuhn's augmenting paths; n is tiny)."""
    owner: dict[int, int] = {}

    def augment(role: int, seen: set[int]) -> bool:
        for g in options[role]:
            if g in seen:
                continue
            seen.add(g)
            if g not in owner or augment(owner[g], seen):
                owner[g] = role
                return True
        return False

    return sum(augment(r, set()) for r in range(len(options)))


class AnimalsArena(Arena):
    model_type = "animals"
    action_model = AnimalAction
    description = "Place and schedule animal groups for a region, season, time window and brief."

    def load_rules(self, rules: RuleSet) -> None:
        self.eco = Ecology(rules)
        self._species = list(self.eco.species)

    # ----- scenario and simulator ---------------------------------------------------------------

    def generate(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        return generate(self.eco, rng, difficulty)

    def initial_state(self, scenario: Scenario) -> dict[str, Any]:
        s = scenario.state
        return {**s, "groups": list(s["groups"]), "load": dict(s["load"])}

    def check_action(self, state: dict[str, Any], action: BaseModel) -> list[Violation]:
        found = group_violations(self.eco, state, _group(action))  # type: ignore[arg-type]
        return [self.violation(rule, message) for rule, message in found]

    def apply(
        self, state: dict[str, Any], action: BaseModel
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return self._place(state, _group(action))  # type: ignore[arg-type]

    def _place(self, state: dict[str, Any], g: Group) -> tuple[dict[str, Any], dict[str, Any]]:
        gid = f"g{len(state['groups'])}"
        load = group_load(self.eco, g)
        patch = g["patch"]
        new_load = dict(state["load"])
        new_load[patch] = new_load.get(patch, 0.0) + load
        groups = [*state["groups"], {"id": gid, **g}]
        delta = {
            "placed": {"id": gid, "species": g["species"], "patch": patch, "load": load},
            "load": {patch: new_load[patch]},
            "groups": len(groups),
        }
        return {**state, "groups": groups, "load": new_load}, delta

    def judge(self, scenario: Scenario, replay: Replay) -> Judgement:
        final = replay.states[-1]
        groups = final["groups"]
        roles = scenario.state["brief"]["roles"]
        options = [
            [i for i, g in enumerate(groups) if fills(self.eco, final, role, g)] for role in roles
        ]
        matched = _max_matching(options)
        unfillable = [r["id"] for r, opts in zip(roles, options, strict=True) if not opts]
        target = scenario.state["brief"]["group_count"]
        return Judgement(
            objective_met=matched == len(roles) and len(groups) == target,
            # a placed group that fills no role is a move the optimal plan never makes
            suboptimal_moves=len(groups) - matched,
            details={
                "roles": len(roles),
                "roles_filled": matched,
                "groups": len(groups),
                "unfillable_roles": unfillable,
            },
        )

    # ----- the expert ---------------------------------------------------------------------------

    def solve(self, scenario: Scenario) -> list[Step]:
        state = self.initial_state(scenario)
        steps = []
        for role, g in solve_roles(self.eco, state):
            think = self._think(state, role, g)
            next_state, delta = self._place(state, g)
            steps.append(
                Step(think=think, action=_action(g, role["id"]), expected_state_delta=delta)
            )
            state = next_state
        return steps

    def _think(self, state: dict[str, Any], role: dict[str, Any], g: Group) -> str:
        eco, name, patch = self.eco, g["species"], g["patch"]
        terrain = state["patches"][patch]["terrain"]
        parts = [
            f"{role['id']}: {name} in {patch} ({terrain} is its habitat) at {g['slots'][0]}, "
            f"a usual slot",
            f"{g['unit']} of {g['count']}, the smallest size the social rules allow, "
            f"to save capacity",
        ]
        monster = state["monster"]
        if g["monster_response"] == "ally":
            parts.append(f"called by the {monster['species']} while the sun isn't up")
        else:
            prey = eco.prey_of.get(name, frozenset())
            reach = (patch, *state["patches"][patch]["adjacent"])
            base = next(
                (h for h in state["groups"] if h["species"] in prey and h["patch"] in reach), None
            )
            if base is not None:
                parts.append(
                    f"it preys on the {base['species']} already settled in {base['patch']}"
                )
            if monster is not None:
                parts.append(f"{g['monster_response']} from the {monster['species']}")
        if eco.predators_of.get(name):
            parts.append("settled before any predator of it arrives")
        parts.append(f"{g['player_response']} toward the player")
        return "; ".join(parts) + "."

    # ----- baselines and probes -----------------------------------------------------------------

    def random_action(self, rng: random.Random, state: dict[str, Any]) -> dict[str, Any]:
        slots = list(get_args(Slot))
        return {
            "type": rng.choice(get_args(Unit)),
            "target": rng.choice(sorted(state.get("patches") or {"p0": None})),
            "params": {
                "species": rng.choice(self._species),
                "count": rng.randint(1, MAX_COUNT),
                "player_response": rng.choice(get_args(PlayerResponse)),
                "monster_response": rng.choice(get_args(MonsterResponse)),
            },
            "timing": {"slots": rng.sample(slots, rng.randint(1, len(slots)))},
        }

    def saturated_action(self, scenario: Scenario) -> dict[str, Any]:
        first = next(iter(scenario.state["patches"]))
        return {
            "type": "pack",
            "target": first,
            "params": {
                "species": "wolf",
                "count": MAX_COUNT,
                "player_response": "aggressive",
                "monster_response": "ally",
            },
            "timing": {"slots": list(get_args(Slot))},
        }

    def forbidden_actions(self, scenario: Scenario, state: dict[str, Any]) -> list[dict[str, Any]]:
        """A species outside its habitat, a solitary one in a big group, a dormant one active.

        Apart from the broken rule each action is as plausible as the data allows (a usual slot,
        the species' first response, a fitting monster response), so the probe tests that very
        rule rather than a side effect.
        """
        eco, patches, out = self.eco, state["patches"], []
        first = next(iter(patches))
        monster_response = eco.monster_responses[eco.monster_class(state["monster"])][0]

        def home(species: str) -> str:
            habitat = eco.species[species].habitat
            return next((p for p, i in patches.items() if i["terrain"] in habitat), first)

        def placement(species: str, unit: str, count: int, patch: str) -> dict[str, Any]:
            sp = eco.species[species]
            slot = next((s for s in state["window"] if s in sp.usual_slots), state["window"][0])
            group = {
                "species": species,
                "unit": unit,
                "count": count,
                "patch": patch,
                "slots": [slot],
                "player_response": sp.responses[0],
                "monster_response": monster_response,
            }
            return _action(group)

        for species, sp in eco.species.items():
            if patches[first]["terrain"] not in sp.habitat:
                unit, spec = next(iter(sp.units.items()))
                out.append(placement(species, unit, spec.count[0], first))
                break
        for species, sp in eco.species.items():
            solo = sp.units.get("solitary")
            if solo is not None and len(sp.units) == 1:  # a strictly solitary species
                out.append(placement(species, "solitary", solo.count[1] + 5, home(species)))
                break
        for species, sp in eco.species.items():
            if state["season"] in sp.dormant:
                unit, spec = next(iter(sp.units.items()))
                out.append(placement(species, unit, spec.count[0], home(species)))
                break
        return out

    def action_mask(self, state: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Hard-allowed placements in canonical form: one slot, the smallest allowed size.

        The full action set (every size and slot subset) is finite but far too large to list;
        these representatives are what a constrained decoder needs to choose a placement.
        """
        eco, allowed = self.eco, []
        monster_responses = (*eco.monster_responses[eco.monster_class(state["monster"])], "ally")
        for species, sp in eco.species.items():
            spots = [
                (patch, slot)
                for patch, info in state["patches"].items()
                if info["terrain"] in sp.habitat
                for slot in state["window"]
                if slot in sp.hard_slots
            ]
            options = product(spots, sp.units.items(), sp.responses, monster_responses)
            for (patch, slot), (unit, spec), response, monster_response in options:
                summon = eco.summon_of(state["monster"], species)
                ally = monster_response == "ally" and summon is not None and summon.unit == unit
                count = max(spec.count[0], summon.count[0]) if ally else spec.count[0]
                g = {
                    "species": species,
                    "unit": unit,
                    "count": count,
                    "patch": patch,
                    "slots": [slot],
                    "player_response": response,
                    "monster_response": monster_response,
                }
                found = group_violations(eco, state, g)
                if all(self._severity.get(rule) != "hard" for rule, _ in found):
                    allowed.append(_action(g))
        return allowed
