"""The animals rule checks, on plain group dicts.

A group is ``{species, unit, count, patch, slots, player_response, monster_response}``. The
verifier, the scenario generator and the expert solver all call ``group_violations``, so they
apply the very same rules; every threshold and vocabulary comes from ``Ecology`` (the data).
"""

from __future__ import annotations

from typing import Any

from srlforge.arena._animals_tables import Ecology, Found, Group


def _shares(a: list[str], b: list[str]) -> bool:
    return any(s in b for s in a)


def hunt_allowed(state: dict[str, Any], species: str, patch: str) -> bool:
    for role in state["brief"]["roles"]:
        if (
            role["hunt"]
            and species in (role["species_any"] or ())
            and patch in (role["patch_any"] or ())
        ):
            return True
    return False


def group_violations(eco: Ecology, state: dict[str, Any], g: Group) -> Found:
    """Every rule ``g`` breaks if placed in ``state`` (hard and soft, by rule id)."""
    patch_id = g["patch"]
    patch = state["patches"].get(patch_id)
    if patch is None:
        return [("region.patch", f"no patch '{patch_id}' in this region")]
    name = g["species"]
    sp = eco.species.get(name)
    if sp is None:
        return [("species.known", f"'{name}' is not in the species catalogue")]
    found: Found = []
    slots, season = g["slots"], state["season"]
    if patch["terrain"] not in sp.habitat:
        found.append(("habitat.terrain", f"{name} lives in {sorted(sp.habitat)}, not {patch_id}"))
    if any(s not in state["window"] for s in slots):
        found.append(("activity.window", f"slots {slots} leave the window {state['window']}"))
    off = [s for s in slots if s not in sp.usual_slots]
    if off:
        rule = "activity.preferred" if sp.activity_uncertain else "activity.slots"
        found.append((rule, f"{name} is not active at {off} (usual: {sorted(sp.usual_slots)})"))
    if season in sp.dormant:
        found.append(("season.dormancy", f"{name} is dormant in {season}"))
    ally = g["monster_response"] == "ally"
    spec = sp.units.get(g["unit"])
    if spec is None:
        found.append(("social.unit", f"{name} does not form a {g['unit']}"))
    elif spec.summoned_only and not ally:
        found.append(("social.unit", f"a {g['unit']} of {name} only exists when summoned"))
    else:
        count = g["count"]
        if not spec.count[0] <= count <= spec.count[1]:
            found.append(("social.count", f"a {g['unit']} of {name} is {list(spec.count)}"))
        elif spec.band is not None and not spec.band[0] <= count <= spec.band[1]:
            found.append(("social.band", f"a {g['unit']} of {name} is usually {list(spec.band)}"))
    for row in eco.seasonal_units.get(name, ()):
        if season in row.seasons and g["unit"] not in row.units:
            found.append((row.rule, f"in {season} {name} gather as {row.units}"))
    response = g["player_response"]
    if response not in sp.responses:
        rule = "response.uncertain" if sp.responses_uncertain else "response.player"
        found.append((rule, f"{name} meets people with {list(sp.responses)}, not {response}"))
    for row in eco.seasonal_responses.get(name, ()):
        allowed = row.during if state["month"] in row.months else row.otherwise
        if response not in allowed:
            found.append((row.rule, f"in month {state['month']} {name} is {allowed}"))
    found += _monster_checks(eco, state, g, patch, ally)
    found += _ecology_checks(eco, state, g, patch, ally)
    for other in state["groups"]:
        if other["species"] == name and other["patch"] == patch_id:
            found.append(("territory.duplicate", f"{patch_id} already holds a group of {name}"))
            break
    load = g["count"] * sp.unit_load.get(g["unit"], 0.0)
    if state["load"][patch_id] + load > patch["capacity"]:
        free = patch["capacity"] - state["load"][patch_id]
        found.append(("capacity.patch", f"{load} squares needed, {free} free in {patch_id}"))
    if len(state["groups"]) >= state["brief"]["group_count"]:
        found.append(("brief.group_count", f"the brief asks for {state['brief']['group_count']}"))
    return found


def _monster_checks(eco: Ecology, state: dict, g: Group, patch: dict, ally: bool) -> Found:
    monster, name, response = state["monster"], g["species"], g["monster_response"]
    if ally:
        summon = eco.summon_of(monster, name)
        problem = ""
        if summon is None:
            problem = "the monster here cannot call it"
        elif g["unit"] != summon.unit or not summon.count[0] <= g["count"] <= summon.count[1]:
            problem = f"it comes as a {summon.unit} of {list(summon.count)}"
        elif g["patch"] != monster["lair"]:
            problem = f"called creatures gather at the lair {monster['lair']}"
        elif any(eco.sun_up.get(s, True) for s in g["slots"]):
            problem = "it can only be called while the sun isn't up"
        elif summon.outdoors_only and not eco.outdoors.get(patch["terrain"], False):
            problem = "it can only be called outdoors"
        return [("monster.summon", f"{name} as an ally: {problem}")] if problem else []
    found: Found = []
    kind = eco.monster_class(monster)
    if response not in eco.monster_responses[kind]:
        allowed = list(eco.monster_responses[kind])
        found.append(("response.monster", f"toward {kind} monster: {allowed}, not {response}"))
    if kind == "undead" and g["patch"] == monster["lair"] and _shares(g["slots"], monster["slots"]):
        found.append(("monster.flee_undead", f"{name} would share the {monster['species']}'s lair"))
    return found


def _ecology_checks(eco: Ecology, state: dict, g: Group, patch: dict, ally: bool) -> Found:
    found: Found = []
    name, here, slots = g["species"], g["patch"], g["slots"]
    reach = (here, *patch["adjacent"])
    prey = eco.prey_of.get(name)
    if prey and not ally:  # summoned beasts arrive by magic, not by following a herd
        base = overlap = False
        for h in state["groups"]:
            if h["species"] in prey and h["patch"] in reach and _shares(slots, h["slots"]):
                base = True
                overlap = overlap or h["patch"] == here
        if not base:
            found.append(("ecology.prey_base", f"{name} needs {sorted(prey)} settled within reach"))
        elif overlap and not hunt_allowed(state, name, here):
            found.append(("ecology.predator_overlap", f"{name} would sit on its prey in {here}"))
    predators = eco.predators_of.get(name)
    if predators:
        for h in state["groups"]:
            if h["species"] in predators and h["patch"] in reach and _shares(slots, h["slots"]):
                found.append(
                    ("ecology.landscape_of_fear", f"{h['species']} already hunts {h['patch']}")
                )
                break
    return found


def fills(eco: Ecology, state: dict[str, Any], role: dict[str, Any], g: Group) -> bool:
    """Does group ``g`` (among ``state['groups']``) fill ``role`` of the brief?"""
    if role["species_any"] is not None and g["species"] not in role["species_any"]:
        return False
    if role["patch_any"] is not None and g["patch"] not in role["patch_any"]:
        return False
    if role["slot"] is not None and role["slot"] not in g["slots"]:
        return False
    wanted = role["player_response_any"]
    if wanted is not None and g["player_response"] not in wanted:
        return False
    if role["monster_response"] is not None and g["monster_response"] != role["monster_response"]:
        return False
    if role["on_route"] and not any(
        w["patch"] == g["patch"] and w["slot"] in g["slots"] for w in state["route"]
    ):
        return False
    target = role["preys_on_patch"]
    if target is not None:
        prey = eco.prey_of.get(g["species"], frozenset())
        return any(
            h["patch"] == target and h["species"] in prey and _shares(g["slots"], h["slots"])
            for h in state["groups"]
        )
    return True


def group_load(eco: Ecology, g: Group) -> float:
    sp = eco.species.get(g["species"])
    return g["count"] * sp.unit_load.get(g["unit"], 0.0) if sp else 0.0
