"""Scenario generation for the personality arena: map, cast, objective and a witness plan.

A scenario is built from the ``random.Random`` it is given and nothing else. After placing the
map, the monster and the hunter, a simple scripted policy (the *witness*) plays the objective
through the real simulator; the deadline is the witness's turns plus the difficulty's slack, so
every scenario is solvable by construction and the expert's search can only do better. A layout
whose witness fails is redrawn (same RNG stream, so still deterministic).
"""

from __future__ import annotations

import random
from typing import Any

from srlforge.arena._personality_draws import Rng, draws_from
from srlforge.arena._personality_map import topology
from srlforge.arena._personality_sim import Graph, Sim, State
from srlforge.arena._personality_witness import Witness, blocked_in
from srlforge.rules.species import Species


class Generator:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        cfg = self.cfg = sim.cfg
        self.witness = Witness(sim)
        # Per-rule-set constants, derived once instead of per scenario.
        self.species_names = sorted(cfg.species)
        self.moon_names = list(cfg.moons)
        self.location_names = sorted(cfg.locations)
        # required places -> (them without repeats, the other places sorted)
        self.pools: dict[tuple[str, ...], tuple[list[str], list[str]]] = {}
        self.location_tags = {k: frozenset(v) for k, v in cfg.locations.items()}
        self.homes = sorted(k for k, tags in cfg.locations.items() if "private_home" in tags)
        self.trait_bounds = (min(t for _, t in cfg.bands), max(t for _, t in cfg.bands))
        self.trait_draws = {n: sorted(sp.trait_ranges.items()) for n, sp in cfg.species.items()}
        self.weapons = {}  # species -> (bane weapons, the others), both sorted
        for name, sp in cfg.species.items():
            bane = sorted(w for w, e in sp.weapon_effect.items() if e >= cfg.sim.bane_effect)
            self.weapons[name] = (bane, sorted(w for w in sp.weapon_effect if w not in bane))

    # ----- the world -------------------------------------------------------------------------

    def build_map(self, rng: Rng, n: int, extra: int, required: list[str]) -> Graph:
        """A random tree plus ``extra`` chords that close cycles of length >= 4, as a Graph
        (``map_of`` turns it into the state's map, once the layout is kept).

        No triangles: two steps along a path never land next to where they started, which is
        what makes a swapped pair of moves illegal. The topology is drawn by index
        (``_personality_map``), exactly as the name-based construction drew it.
        """
        key = tuple(required)
        hit = self.pools.get(key)
        if hit is None:  # a resting place (and a victim's home): few combinations, so cached
            wanted = list(dict.fromkeys(required))
            hit = self.pools[key] = (wanted, [k for k in self.location_names if k not in wanted])
        wanted, pool = hit
        kinds = wanted + rng.sample(pool, n - len(wanted))
        rng.shuffle(kinds)
        tags = self.location_tags
        return Graph(topology(rng, kinds, extra), {k: tags[k] for k in kinds})

    def map_of(self, g: Graph) -> dict[str, Any]:
        """The state's map for ``g`` (it shares the exit lists: nothing mutates either)."""
        tags = self.cfg.locations
        return {k: {"tags": list(tags[k]), "exits": exits} for k, exits in g.exits.items()}

    def patrol(
        self, rng: Rng, exits: dict, start: str, length: int, avoid: tuple = ()
    ) -> list[str]:
        walk = [start]
        for _ in range(length):
            options = [
                x for x in exits[walk[-1]] if (len(walk) < 2 or x != walk[-2]) and x not in avoid
            ]
            if not options:
                break
            walk.append(rng.choice(options))
        # There and back again: consecutive entries (and the wrap-around) stay adjacent.
        return walk + walk[-2:0:-1]

    def off_limits(self, st_objective: dict, phylactery: str | None) -> tuple[str, ...]:
        """Where a patrol never goes: the lure target (he must be led there) and, unless he
        is coming for the lair, the phylactery (one visit would end the encounter)."""
        out = []
        if st_objective["kind"] == "lure":
            out.append(st_objective["goal"])
        if phylactery and st_objective["kind"] != "defend_lair":
            out.append(phylactery)
        return tuple(out)

    def hunter_start(
        self, rng: Rng, g: Graph, monster: str | None, keep_clear: tuple
    ) -> str | None:
        """Where the hunter starts: out of the monster's sight and earshot when the map allows."""
        if monster is None:
            return None
        # Two or more steps away = neither the monster's place nor one of its exits (a
        # generated map is connected), which needs no BFS.
        near = (monster, *g.exits[monster])
        options = [x for x in g.exits if x not in keep_clear and x not in near]
        options = options or [x for x in g.exits if x not in keep_clear and x != monster]
        return rng.choice(options) if options else None

    def rehunt(self, rng: Rng, st: State, g: Graph, far: int) -> bool:
        """Move the hunter's patrol at least ``far`` locations from the monster (if possible)."""
        exits = g.exits
        objective = st["objective"]
        clear = {objective.get(k) for k in ("goal", "refuge")}
        # Out of earshot of the victim; a lure target must be reached by being led, not by
        # the hunter's own rounds.
        for key in ("victim", "goal") if objective["kind"] != "reach_refuge" else ("victim",):
            if objective.get(key):
                clear |= {objective[key], *exits[objective[key]]}  # within one step
        near = g.dist[st["monster"]["at"]]
        options = [x for x in exits if near[x] >= far and x not in clear]
        avoid = self.off_limits(objective, st["phylactery"])
        options = [x for x in options if x not in avoid]
        if options:
            start = rng.choice(options)
            route = self.patrol(rng, exits, start, rng.randint(0, 4 - far), avoid)
            st["player"] = {**st["player"], "at": start, "route": route, "route_i": 0}
        return bool(options)

    def post_guard(self, rng: Rng, st: State, g: Graph) -> None:
        """Post the hunter as a guard off the monster's shortest path to its goal."""
        exits = g.exits
        blocked = blocked_in(self.cfg.species[st["species"]], g, st["homes_invited"])
        here, goal = st["monster"]["at"], st["objective"]["goal"]
        back = g.reach(goal, blocked)
        path = {here}
        while here != goal and here in back:
            here = next(x for x in exits[here] if back.get(x, 99) < back[here])
            path.add(here)
        options = [x for x in exits if x not in path]
        post = rng.choice(options) if options else st["player"]["at"]
        st["player"] = {**st["player"], "at": post, "mode": "guard", "route": [post], "loop": False}

    def traits(self, rng: Rng, sp: Species) -> dict[str, int]:
        jit = self.cfg.jitter
        lo, hi = self.trait_bounds
        intelligence = self.cfg.trait_from_score(sp.intelligence) + rng.randint(-jit, jit)
        charisma = self.cfg.trait_from_score(sp.charisma) + rng.randint(-jit, jit)
        out = {
            "intelligence": min(hi, max(lo, intelligence)),
            "charisma": min(hi, max(lo, charisma)),
        }
        for trait, (lo, hi) in self.trait_draws[sp.name]:
            out[trait] = rng.randint(lo, hi)
        return out

    # ----- scenarios -------------------------------------------------------------------------

    def generate(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        rng = draws_from(rng)  # type: ignore[assignment]  # the same draws, made cheaper
        cfg = self.cfg
        row = cfg.difficulty[difficulty]
        sp = cfg.species[rng.choice(self.species_names)]
        traits = self.traits(rng, sp)
        goal = rng.choice(sp.personal_goals)
        moon = rng.choice(self.moon_names)
        compound = rng.random() < row.compound_chance
        max_turns = cfg.sim.max_turns
        # Dawn is fixed before the witness runs for species the sun doesn't burn (it can cut a
        # night-bound call short); for those it burns, dawn is the deadline (found below).
        burns = sp.sunlight == "burns"
        if burns:
            dawn = max_turns + 1
        elif compound:
            dawn = rng.randint(*cfg.sim.dawn_window)
        else:
            dawn = max_turns + rng.randint(1, cfg.sim.dawn_margin)
        for attempt in range(2 * cfg.sim.attempts):
            # After `attempts` failed layouts the monster settles for its safest goal, with
            # the hunter standing guard off its path (which no witness can fail).
            fallback = attempt >= cfg.sim.attempts
            kind = "reach_refuge" if fallback else cfg.goal_objective[goal]
            laid = self.layout(rng, row, sp, traits, kind, goal, compound)
            if laid is None:
                continue
            st, g = laid
            st["moon"], st["dawn_turn"] = moon, dawn
            if fallback:
                self.post_guard(rng, st, g)
            turns = self.witness.run(st, st["objective"]["deadline"], g)
            patrols = kind in ("reach_refuge", "feed_unseen", "lure") and not fallback
            for farther in (2, 3) if patrols else ():
                # Same map and monster; the hunter patrols farther off (if there is room).
                if turns is not None or not self.rehunt(rng, st, g, farther):
                    break
                turns = self.witness.run(st, st["objective"]["deadline"], g)
            if turns is None:
                continue
            objective = st["objective"]
            if kind != "defend_lair":
                objective["deadline"] = min(max_turns, turns + row.slack)
            refuge_bound = kind == "reach_refuge" or objective.get("refuge") is not None
            if burns:
                st["dawn_turn"] = objective["deadline"] + (0 if refuge_bound else 1)
            text = cfg.objectives[kind].text.format(**objective)
            # Only the map that made it into the scenario is built. Its Graph is not handed to
            # the simulator's cache: keeping it costs sampling more (memory the GC walks) than
            # rebuilding it costs the first check or solve that needs it.
            st["map"] = self.map_of(g)
            return {
                "species": sp.name,
                "objective": text,
                "state": st,
                "max_steps": objective["deadline"],
                "metadata": {
                    "difficulty": difficulty,
                    "objective_kind": kind,
                    "personal_goal": "survive" if fallback else goal,
                    "map_size": len(st["map"]),
                    "cycles": row.extra_edges,
                    "slack": row.slack,
                    "hunter_level": row.hunter_level,
                    "hunter_weapon": st["player"]["weapon"],
                    "weapon_is_bane": sp.weapon_effect[st["player"]["weapon"]]
                    >= cfg.sim.bane_effect,
                    "dawn_before_deadline": st["dawn_turn"] <= objective["deadline"],
                    "compound_goal": compound,
                    "witness_turns": turns,
                    "moon": moon,
                    "layout_attempts": attempt + 1,
                },
            }
        raise RuntimeError(f"no solvable personality layout for {sp.name} at d={difficulty}")

    def layout(
        self,
        rng: Rng,
        row: Any,
        sp: Species,
        traits: dict[str, int],
        kind: str,
        goal: str,
        compound: bool,
    ) -> tuple[State, Graph] | None:
        cfg = self.cfg
        rest = rng.choice(sp.resting_places)
        required = [rest]
        victim_home = None
        if kind == "feed_unseen" and sp.needs_invitation:
            victim_home = rng.choice(self.homes)
            required.append(victim_home)
        g = self.build_map(rng, row.nodes, row.extra_edges, required)
        names = list(g.exits)
        exits, tags = g.exits, g.tags
        invited = sorted(
            x
            for x in names
            if "private_home" in tags[x] and (x == victim_home or rng.random() < 0.25)
        )
        blocked = blocked_in(sp, g, invited)
        free = [x for x in names if x not in blocked]
        far = row.start_distance
        objective: dict[str, Any] = {"kind": kind, "deadline": cfg.sim.max_turns}
        mode, loop = "patrol", True
        phylactery = rest if sp.guards else None
        guarded = [] if phylactery is None or kind == "defend_lair" else [phylactery]

        def pick_far(dist: dict[str, int], exclude: tuple = ()) -> str | None:
            options = [x for x in names if dist.get(x, 0) >= far and x not in exclude]
            options = options or [x for x in names if dist.get(x, 0) >= 2 and x not in exclude]
            return rng.choice(options) if options else None

        if kind == "reach_refuge":
            m_at = pick_far(g.reach(rest, blocked))
            objective["goal"] = rest
            h_at = self.hunter_start(rng, g, m_at, (rest, *guarded))
        elif kind == "feed_unseen":
            victim = victim_home or rng.choice([x for x in free if x != rest])
            refuge = rest if compound and victim != rest else None
            objective.update(victim=victim, refuge=refuge)
            m_at = pick_far(g.reach(victim, blocked), exclude=(refuge,))
            near_victim = [victim, *exits[victim]]  # within one step
            h_at = self.hunter_start(rng, g, m_at, (refuge, *near_victim, *guarded))
        elif kind == "lure":
            m_at = rng.choice(free)
            reach = g.reach(m_at, blocked)  # its BFS order is the order the lure is drawn from
            h_at = pick_far(reach, exclude=tuple(guarded))
            if h_at is None:
                return None
            near_h = exits[h_at]  # 2+ steps from him: not h_at, not one of its exits
            lure = [x for x in reach if x not in (m_at, h_at) and x not in near_h]
            if not lure:
                return None
            objective["goal"] = rng.choice(lure)
        elif kind == "negotiate_passage":
            m_at = rng.choice(free)
            dist = g.reach(m_at, blocked)
            ends = [x for x in names if dist.get(x, 0) >= max(3, far)]
            if not ends:
                return None
            end = rng.choice(ends)
            back = g.reach(end, blocked)
            path = [m_at]
            while path[-1] != end:
                path.append(next(x for x in exits[path[-1]] if back.get(x, 99) < back[path[-1]]))
            h_at = path[rng.randint(1, len(path) - 2)]
            objective.update(goal=end, post=h_at)
            mode, loop = "guard", False
        else:
            to_lair = g.dist[rest]
            starts = [x for x in names if to_lair[x] >= far + 1] or [
                x for x in names if to_lair[x] >= 3
            ]
            if not starts:
                return None
            h_at = rng.choice(starts)
            m_at = rng.choice([rest] + [x for x in exits[rest] if x not in blocked])
            objective.update(lair=rest, deadline=to_lair[h_at])
        if m_at is None or h_at is None:
            return None
        if mode == "guard":
            route = [h_at]
        elif kind == "defend_lair":
            route, loop = [h_at], False
            while route[-1] != rest:
                route.append(next(x for x in exits[route[-1]] if to_lair[x] < to_lair[route[-1]]))
        else:
            avoid = self.off_limits(objective, phylactery)
            route = self.patrol(rng, exits, h_at, rng.randint(1, 3), avoid)
        bane, other = self.weapons[sp.name]
        use_bane = bool(bane) and (rng.random() < row.bane_chance or not other)
        weapon = rng.choice(bane if use_bane else other)
        level = cfg.levels[row.hunter_level]
        st = {
            "species": sp.name,
            "objective": objective,
            "dawn_turn": cfg.sim.max_turns + 1,
            "moon": "",
            "map": None,  # filled in by generate() if this layout is kept (nothing reads it)
            "homes_invited": invited,
            "phylactery": phylactery,
            "turn": 0,
            "status": "ongoing",
            "outcome": None,
            "monster": {
                "at": m_at,
                "hp": sp.hit_points,
                "max_hp": sp.hit_points,
                "hidden": False,
                "fed": False,
                "allies_at": None,
                "used": [],
                "traits": traits,
                "emotions": {
                    "fear": 0,
                    "rage": 0,
                    "hunger": rng.randint(0, 2) if sp.feeds_on else 0,
                    "curiosity": 0,
                },
                "goal": goal,
            },
            "player": {
                "at": h_at,
                "hp": level.hp,
                "level": level.level,
                "weapon": weapon,
                "mode": mode,
                "mode_turns": 0,
                "route": route,
                "route_i": 0,
                "loop": loop,
                "last_seen": None,
                "resolve": level.resolve,
                "parleyed": False,
            },
        }
        return st, g
