"""Scenario generation for the animals arena.

Generation plants a solution: it lays out a random region, route and monster, then places one
group per planned role through the real rule checks (``group_violations``), assigning terrains
to still-blank patches as it goes, and finally tightens patch capacity around what it planted.
Every scenario is therefore solvable, and the brief it publishes (the roles) says only what the
policy must achieve, never how; the expert (``_animals_solver``) solves that brief from scratch.
"""

from __future__ import annotations

import random
from typing import Any

from srlforge.arena._animals_solver import commit, make_groups, undo
from srlforge.arena._animals_tables import Ecology, Group, Level

# Tries before a plan element falls back or a layout is redrawn; planting succeeds on the first
# try almost always, these only bound the rare dead end.
_TRIES = 6
_LAYOUTS = 40
_UNBOUNDED = 1e9  # capacity and group target while planting; tightened afterwards


def _role(rid: str, text: str, **fields: Any) -> dict[str, Any]:
    role = {
        "id": rid,
        "text": text,
        "species_any": None,
        "patch_any": None,
        "slot": None,
        "on_route": False,
        "player_response_any": None,
        "monster_response": None,
        "preys_on_patch": None,
        "hunt": False,
    }
    role.update(fields)
    return role


class _Planter:
    """Plants one scenario; every method returns the roles it added or None."""

    def __init__(self, eco: Ecology, rng: random.Random, level: Level, state: dict[str, Any]):
        self.eco, self.rng, self.level, self.state = eco, rng, level, state
        self.terrain = {p: info["terrain"] for p, info in state["patches"].items()}
        self.hunted = False

    def _fits(self, patch: str, habitat: frozenset[str]) -> str | None:
        """Set ``patch`` to a habitat terrain (keeping an assigned one); None if it can't be."""
        current = self.terrain[patch]
        if current is not None:
            return current if current in habitat else None
        terrain = self.rng.choice(sorted(habitat))
        self.state["patches"][patch]["terrain"] = terrain
        return terrain

    def _release(self, patch: str) -> None:
        self.state["patches"][patch]["terrain"] = self.terrain[patch]

    def _fix(self, patch: str) -> None:
        self.terrain[patch] = self.state["patches"][patch]["terrain"]

    def _place(self, species: str, patch: str, slot: str, **kw: Any) -> Group | None:
        if self._fits(patch, self.eco.species[species].habitat) is None:
            return None
        g = next(make_groups(self.eco, self.state, species, patch, slot, rng=self.rng, **kw), None)
        if g is None:
            self._release(patch)
            return None
        self._fix(patch)
        commit(self.eco, self.state, g)
        return g

    def _usual(self, species: str) -> list[str]:
        sp = self.eco.species[species]
        return [s for s in self.state["window"] if s in sp.usual_slots]

    def _patches(self) -> list[str]:
        ids = list(self.state["patches"])
        self.rng.shuffle(ids)
        return ids

    def chain(self, rid: int) -> list[dict[str, Any]] | None:
        eco, rng, state = self.eco, self.rng, self.state
        pairs = [(pred, prey) for pred, preys in eco.prey_of.items() for prey in sorted(preys)]
        rng.shuffle(pairs)
        for pred, prey in pairs[:_TRIES]:
            shared = [s for s in self._usual(prey) if s in self._usual(pred)]
            if not shared:
                continue
            slot = rng.choice(shared)
            for p in self._patches()[:_TRIES]:
                if self._place(prey, p, slot) is None:
                    continue
                hunt = not self.hunted and rng.random() < self.level.hunt_p
                options = [p] if hunt else list(state["patches"][p]["adjacent"])
                rng.shuffle(options)
                prey_role = _role(
                    f"r{rid}",
                    f"A group of {prey} settles in {p} ({self.terrain[p]}).",
                    species_any=[prey],
                    patch_any=[p],
                    slot=None if self.level.vague else slot,
                )
                pred_any = sorted(eco.predators_of[prey]) if self.level.vague else [pred]
                where = f"hunts it inside {p}" if hunt else f"hunts it from a patch next to {p}"
                pred_role = _role(
                    f"r{rid + 1}",
                    f"A predator of those {prey} ({', '.join(pred_any)}) {where}.",
                    species_any=pred_any,
                    patch_any=[p] if hunt else None,
                    slot=None if self.level.vague else slot,
                    preys_on_patch=p,
                    hunt=hunt,
                )
                state["brief"]["roles"].extend([prey_role, pred_role])
                for q in options:
                    if self._place(pred, q, slot) is not None:
                        self.hunted = self.hunted or hunt
                        return [prey_role, pred_role]
                del state["brief"]["roles"][-2:]
                undo(eco, state)
        return None

    def presence(self, rid: int) -> list[dict[str, Any]] | None:
        eco, rng = self.eco, self.rng
        pool = [s for s in eco.species if s not in eco.prey_of]
        rng.shuffle(pool)
        for species in pool[:_TRIES]:
            slots = self._usual(species)
            if not slots:
                continue
            slot = rng.choice(slots)
            for p in self._patches()[:_TRIES]:
                if self._place(species, p, slot) is not None:
                    at = "" if self.level.vague else f" at {slot}"
                    text = f"{p} ({self.terrain[p]}) needs {species}{at}."
                    return [
                        _role(
                            f"r{rid}",
                            text,
                            species_any=[species],
                            patch_any=[p],
                            slot=None if self.level.vague else slot,
                        )
                    ]
        return None

    def _on_route(self, rid: int, pool: list[str], **kw: Any) -> Group | None:
        route = list(self.state["route"])
        self.rng.shuffle(route)
        for species in pool:
            for w in route[:_TRIES]:
                if w["slot"] in self._usual(species):
                    g = self._place(species, w["patch"], w["slot"], **kw)
                    if g is not None:
                        return g
        return None

    def omen(self, rid: int) -> list[dict[str, Any]] | None:
        pool = list(self.eco.omen_species)
        self.rng.shuffle(pool)
        g = self._on_route(rid, pool)
        if g is None:
            return None
        slot = g["slots"][0]
        text = f"An omen: {' or '.join(self.eco.omen_species)} seen from the route at {slot}."
        omens = list(self.eco.omen_species)
        return [_role(f"r{rid}", text, species_any=omens, slot=slot, on_route=True)]

    def threat(self, rid: int) -> list[dict[str, Any]] | None:
        eco = self.eco
        threats = sorted(eco.threat_responses)
        month = self.state["month"]
        pool = [
            s
            for s in eco.species
            if s not in eco.prey_of
            and any(r in eco.threat_responses and not b for r, b in eco.player_responses(s, month))
        ]
        self.rng.shuffle(pool)
        if self._on_route(rid, pool, responses=threats) is None:
            return None
        text = f"A threat on the player's route: an animal that meets them with {threats}."
        return [
            _role(f"r{rid}", text, on_route=True, player_response_any=threats),
        ]

    def summon(self, rid: int) -> list[dict[str, Any]] | None:
        monster = self.state["monster"]
        info = self.eco.monsters.get(monster["species"]) if monster else None
        if info is None or not info.summons:
            return None
        lair = monster["lair"]
        called = sorted(info.summons)
        pool = list(called)
        self.rng.shuffle(pool)
        for species in pool:
            dark = [s for s in monster["slots"] if not self.eco.sun_up[s]]
            for slot in dark:
                if self._place(species, lair, slot, ally=True) is not None:
                    text = f"The {info.name} calls its children of the night ({called}) to {lair}."
                    return [
                        _role(
                            f"r{rid}",
                            text,
                            species_any=called,
                            patch_any=[lair],
                            monster_response="ally",
                        )
                    ]
        return None


def _layout(eco: Ecology, rng: random.Random, level: Level) -> dict[str, Any]:
    n = level.patches
    ids = [f"p{i}" for i in range(n)]
    adjacent: dict[str, set[int]] = {p: set() for p in ids}
    for i in range(1, n):  # a random tree keeps the region connected
        j = rng.randrange(i)
        adjacent[ids[i]].add(j)
        adjacent[ids[j]].add(i)
    for _ in range(level.extra_edges):
        i, j = rng.sample(range(n), 2)
        adjacent[ids[i]].add(j)
        adjacent[ids[j]].add(i)
    length = rng.choice(level.window)
    start = rng.randrange(len(eco.slots))
    window = [eco.slots[(start + k) % len(eco.slots)] for k in range(length)]
    route, here = [], rng.choice(ids)
    for slot in window:
        for _ in range(rng.randint(1, 2)):
            if route:
                here = ids[rng.choice(sorted(adjacent[here]))]
            route.append({"patch": here, "slot": slot})
    patches = {
        p: {"terrain": None, "capacity": _UNBOUNDED, "adjacent": [ids[j] for j in sorted(adj)]}
        for p, adj in adjacent.items()
    }
    monster = None
    if rng.random() < level.monster_p:
        info = eco.monsters[rng.choice(sorted(eco.monsters))]
        lair = rng.choice(ids)
        patches[lair]["terrain"] = rng.choice(info.lair_terrains)
        slots = [s for s in window if s in info.active]
        monster = {"species": info.name, "lair": lair, "slots": slots}
    month = rng.randint(1, 12)
    return {
        "patches": patches,
        "month": month,
        "season": eco.season_of[month],
        "window": window,
        "monster": monster,
        "route": route,
        "brief": {"roles": [], "group_count": _UNBOUNDED},
        "groups": [],
        "load": dict.fromkeys(ids, 0.0),
    }


def generate(eco: Ecology, rng: random.Random, difficulty: int) -> dict[str, Any]:
    level = eco.levels[difficulty]
    for _ in range(_LAYOUTS):
        state = _layout(eco, rng, level)
        planter = _Planter(eco, rng, level, state)
        planted: list[str] = []
        for kind in level.plan:
            rid = len(state["brief"]["roles"])
            roles = getattr(planter, kind)(rid)
            if roles is None and kind != "chain":
                kind, roles = "presence", planter.presence(rid)
            if roles is None:
                break
            if kind != "chain":
                state["brief"]["roles"].extend(roles)
            planted.append(kind)
        else:
            return _publish(eco, rng, level, difficulty, state, planted, planter.hunted)
    raise RuntimeError(f"no animals scenario could be planted at difficulty {difficulty}")


def _publish(
    eco: Ecology,
    rng: random.Random,
    level: Level,
    difficulty: int,
    state: dict[str, Any],
    planted: list[str],
    hunted: bool,
) -> dict[str, Any]:
    for info in state["patches"].values():
        if info["terrain"] is None:
            info["terrain"] = rng.choice(eco.terrains)
    slack = 0
    for p, info in state["patches"].items():
        extra = rng.randint(*level.slack)
        slack += extra
        info["capacity"] = state["load"][p] + extra
    roles = state["brief"]["roles"]
    state["brief"]["group_count"] = len(roles)
    state["groups"] = []
    state["load"] = dict.fromkeys(state["patches"], 0.0)
    monster = state["monster"]
    summary = " ".join(r["text"] for r in roles)
    return {
        "species": None,
        "objective": (
            f"Place exactly {len(roles)} animal groups in this {state['season']} region "
            f"(active slots {state['window']}) that fill every role of the brief, one group per "
            f"step, breaking no hard rule. Brief: {summary}"
        ),
        "state": state,
        "max_steps": len(roles) + 2,
        "metadata": {
            "difficulty": difficulty,
            "patches": len(state["patches"]),
            "groups": len(roles),
            "plan": planted,
            "monster": monster["species"] if monster else None,
            "window_len": len(state["window"]),
            "season": state["season"],
            "hunt": hunted,
            "vague_roles": level.vague,
            "capacity_slack": slack,
        },
    }
