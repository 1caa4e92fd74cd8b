"""The animals expert: a depth-first search over rule-clean groups, one per brief role.

Candidates are generated in a fixed order (species, patch, slot, unit, response), each already
free of hard and soft violations, with the smallest group size the rules allow (it leaves the
most capacity for later roles). The generator plants its hidden solution with the same
``make_groups``, so the search space always contains a plan.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from srlforge.arena._animals_rules import fills, group_load, group_violations
from srlforge.arena._animals_tables import Ecology, Group


def commit(eco: Ecology, state: dict[str, Any], g: Group) -> None:
    state["groups"].append(g)
    state["load"][g["patch"]] += group_load(eco, g)


def undo(eco: Ecology, state: dict[str, Any]) -> None:
    g = state["groups"].pop()
    state["load"][g["patch"]] -= group_load(eco, g)


def make_groups(
    eco: Ecology,
    state: dict[str, Any],
    species: str,
    patch: str,
    slot: str,
    ally: bool = False,
    responses: list[str] | None = None,
    rng: random.Random | None = None,
) -> Iterator[Group]:
    """Rule-clean groups of ``species`` in ``patch`` at ``slot`` (no hard or soft violation).

    The size is the smallest the rules allow: it leaves the most capacity for later groups.
    """
    sp = eco.species[species]
    summon = eco.summon_of(state["monster"], species) if ally else None
    if ally and summon is None:
        return
    units = [summon.unit] if summon else [u for u, s in sp.units.items() if not s.summoned_only]
    kind = eco.monster_class(state["monster"])
    monster_response = "ally" if ally else eco.monster_responses[kind][0]
    player = [
        r
        for r, broken in eco.player_responses(species, state["month"])
        if not broken and (responses is None or r in responses)
    ]
    if rng is not None:
        rng.shuffle(units)
        rng.shuffle(player)
    for unit in units:
        if unit not in sp.units:
            continue
        lo, hi = eco.count_range(species, unit, summon)
        if lo > hi:
            continue
        for response in player:
            g = {
                "species": species,
                "unit": unit,
                "count": lo,
                "patch": patch,
                "slots": [slot],
                "player_response": response,
                "monster_response": monster_response,
            }
            if not group_violations(eco, state, g):
                yield g


def _role_candidates(eco: Ecology, state: dict[str, Any], role: dict[str, Any]) -> Iterator[Group]:
    species_pool = role["species_any"] or list(eco.species)
    ally = role["monster_response"] == "ally"
    for species in species_pool:
        sp = eco.species[species]
        if role["on_route"]:
            spots = [(w["patch"], w["slot"]) for w in state["route"]]
        else:
            patches = role["patch_any"] or list(state["patches"])
            slots = [role["slot"]] if role["slot"] else state["window"]
            spots = [(p, s) for p in patches for s in slots]
        for patch, slot in spots:
            if role["slot"] is not None and slot != role["slot"]:
                continue
            if slot not in sp.usual_slots or state["patches"][patch]["terrain"] not in sp.habitat:
                continue
            yield from make_groups(
                eco, state, species, patch, slot, ally, role["player_response_any"]
            )


def solve_roles(eco: Ecology, initial: dict[str, Any]) -> list[tuple[dict[str, Any], Group]]:
    """Depth-first search for one rule-clean group per role, in the brief's order.

    The brief lists prey before the predators that follow it, so that order is also the order
    the rules accept. Returns [] when no plan exists (planted scenarios always have one).
    """
    state = {**initial, "groups": list(initial["groups"]), "load": dict(initial["load"])}
    roles = state["brief"]["roles"]
    plan: list[tuple[dict[str, Any], Group]] = []

    def search(i: int) -> bool:
        if i == len(roles):
            return True
        for g in _role_candidates(eco, state, roles[i]):
            if not fills(eco, state, roles[i], g):
                continue
            commit(eco, state, g)
            plan.append((roles[i], g))
            if search(i + 1):
                return True
            plan.pop()
            undo(eco, state)
        return False

    return plan if search(0) else []
