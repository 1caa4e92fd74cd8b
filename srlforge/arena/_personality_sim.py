"""The personality encounter simulator: the turn-by-turn transition.

A state is a small JSON dict: the static scenario (map, species, objective, dawn, moon) shared by
reference between states, plus the dynamic ``monster``/``player`` dicts and the clock, copied on
write. One action takes one or more turns ("ticks"); in each tick the monster acts, the hunter
moves by his deterministic model (patrol his route, chase the last place he saw or heard the
monster, flee while frightened, hold his post as a guard), then sight, sound, strikes, sunlight,
regeneration, hunger and the objective are resolved. A monster and a hunter walking the same
path towards each other meet on it (he stops there and strikes) unless the monster stalks
unseen; "lured" means the hunter reached the goal chasing the monster's last sign there. Every
number and vocabulary comes from the compiled rule data (``Config``); species are read through
their fields only. The rule checks live in ``_personality_checks``.
"""

from __future__ import annotations

from typing import Any

from srlforge.arena._personality_checks import (
    HOSTILE,
    MOVES,
    NEUTRALISED,
    WATCHFUL,
    Act,
    Checks,
    Graph,
    State,
)
from srlforge.rules.species import Species

__all__ = ["HOSTILE", "NEUTRALISED", "Act", "Graph", "Sim", "State", "diff"]

MOVING = frozenset({"patrol", "chase", "frightened"})  # hunter modes that walk each turn


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``new`` that differ from ``old`` (nested dicts recurse; lists compare whole)."""
    out: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if value is before:
            continue
        if isinstance(value, dict) and isinstance(before, dict):
            sub = diff(before, value)
            if sub:
                out[key] = sub
        elif value != before:
            out[key] = value
    return out


class Sim(Checks):
    """Checks plus the transition: the whole simulator for one compiled rule set."""

    # ----- transition ------------------------------------------------------------------------

    def step(self, state: State, act: Act) -> tuple[State, dict[str, Any]]:
        """Play a rule-checked ``act``: ``(next_state, delta)``. ``state`` is not mutated."""
        new = self.advance(state, act)
        return new, diff(state, new)

    def advance(self, state: State, act: Act, g: Graph | None = None) -> State:
        """The state after a rule-checked ``act`` (``step`` without the delta); ``g`` as in
        ``check``."""
        # Copy on write (dict.copy() is the cheapest copy, and keeps key order).
        m = state["monster"].copy()
        m["emotions"] = m["emotions"].copy()
        p = state["player"].copy()
        new = state.copy()
        new["monster"], new["player"] = m, p
        sp = self.cfg.species[state["species"]]
        if g is None:
            g = self.graph(state)
        kind = act[0]
        for i in range(self.turns_per_move[sp.name] if kind in MOVES else act[4] or 1):
            # A sustained attack ends early once the hunter is gone or down.
            if i and kind == "attack" and (p["at"] != m["at"] or p["mode"] == "defeated"):
                break
            self._tick(new, g, sp, act, not i)
            if new["status"] != "ongoing":
                break
        return new

    def _tick(self, st: State, g: Graph, sp: Species, act: Act, first: bool) -> None:
        # Clamps are spelled out rather than min()/max(): those builtins parse keyword
        # arguments on every call, a measurable share of a tick.
        cfg, emo_cfg = self.cfg, self.cfg.emo
        m, p = st["monster"], st["player"]
        emo = m["emotions"]
        kind = act[0]
        noise = 0
        came_from = m["at"]
        if first or kind == "attack":
            row = cfg.actions[kind]
            noise = row.noise
            m["hidden"] = row.conceals
            if kind in MOVES:
                m["at"] = act[1]
            elif kind == "attack":
                self._monster_strikes(sp, m, p)
            elif kind == "negotiate":
                self._negotiate(m, p, act[2] or "")
            elif kind == "call_pack":
                m["allies_at"] = m["at"]
                p["mode"], p["mode_turns"] = "frightened", cfg.sim.repel_turns
            elif kind == "use_ability":
                self._use_ability(sp, m, p, act[3] or "")
            elif kind == "feed":
                m["fed"] = True
                emo["hunger"] = 0
        turn = st["turn"] + 1
        if p["mode"] in MOVING or p["mode_turns"]:  # otherwise he holds still, as he is
            self._move_player(st, g, m, p, came_from)
        at, mode = m["at"], p["mode"]
        tags = g.tags[at]
        # Maps are undirected, so either end's row will do: use one already worked out
        # before paying for a BFS (the monster's, which check() reads too).
        known = g.dist.get(p["at"])
        dist = known[at] if known is not None else g.dist[at][p["at"]]
        if m["hidden"]:
            seen = False
        elif dist == 1:  # self.far_visible(), inlined
            seen = "lit" in tags or (
                "indoors" not in tags
                and (turn >= st["dawn_turn"] or cfg.moons[st["moon"]].lights_outdoors)
            )
        else:
            seen = dist == 0
        # Anyone awake and not fleeing notices; only a hostile hunter acts on it.
        noticed = mode in WATCHFUL and (seen or 0 < noise >= dist)
        struck_types: tuple[str, ...] = ()
        if noticed and mode in HOSTILE:
            p["last_seen"] = at
            if mode == "patrol":
                p["mode"] = "chase"
            if dist <= 1 and sp.weapon_effect[p["weapon"]] >= cfg.sim.bane_effect:
                fear = emo["fear"] + emo_cfg.fear_on_threat
                emo["fear"] = fear if fear < emo_cfg.cap else emo_cfg.cap
            if dist == 0:
                struck_types = self._hunter_strikes(sp, m, p)
        elif mode == "patrol" and dist <= 1:
            # Watching an unaware hunter pass close by makes the monster curious about him.
            curiosity = emo["curiosity"] + 1
            emo["curiosity"] = curiosity if curiosity < emo_cfg.cap else emo_cfg.cap
        if dist >= emo_cfg.fear_calm_distance and emo["fear"]:
            emo["fear"] -= 1
        # The environment: running water harms some species; strikes, water and sunlight
        # (the turn's, not the action's) can each stop regeneration.
        water = "running_water" in tags and sp.running_water == "harmed"
        if water:
            hp = m["hp"] - sp.running_water_damage
            m["hp"] = hp if hp > 0 else 0
        regen = sp.regeneration
        if regen and 0 < m["hp"] < m["max_hp"]:
            blocked = set(struck_types)
            if water:
                blocked.add("running_water")
            if turn >= st["dawn_turn"] and "indoors" not in tags:
                blocked.add("sunlight")
            if blocked.isdisjoint(regen.blocked_by):
                hp = m["hp"] + regen.hp
                m["hp"] = hp if hp < m["max_hp"] else m["max_hp"]
        if sp.hunger_every and not (first and kind == "feed") and turn % sp.hunger_every == 0:
            hunger = emo["hunger"] + 1
            emo["hunger"] = hunger if hunger < emo_cfg.cap else emo_cfg.cap
        st["turn"] = turn
        # Resolve the turn: lost, won or out of time (inlined rather than a method call: the
        # tick is the innermost loop of both the generator's witness and the expert's search).
        objective = st["objective"]
        goal_kind = objective["kind"]
        hp = m["hp"]
        lost = None
        if hp <= 0:
            lost = "destroyed"
        elif hp <= int(m["max_hp"] * emo_cfg.retreat_fraction[m["traits"]["survival_instinct"]]):
            lost = "wounded_retreat"
        else:
            mode = p["mode"]
            phylactery = st["phylactery"]
            if phylactery is not None and p["at"] == phylactery != at and mode in HOSTILE:
                lost = "phylactery_exposed"
            elif goal_kind == "defend_lair" and p["at"] == objective["lair"] and mode in HOSTILE:
                lost = "lair_despoiled"
            elif goal_kind == "feed_unseen" and first and kind == "feed" and noticed:
                lost = "seen_feeding"
            elif goal_kind == "lure" and mode == "defeated":
                lost = "hunter_defeated"
        if lost:
            st["status"], st["outcome"] = "lost", lost
            return
        if goal_kind == "reach_refuge" or goal_kind == "negotiate_passage":
            won = at == objective["goal"]
        elif goal_kind == "feed_unseen":
            refuge = objective.get("refuge")
            won = m["fed"] and (refuge is None or at == refuge)
        elif goal_kind == "lure":
            # Lured = he came there after you: chasing, the goal is where he last saw you.
            goal = objective["goal"]
            won = p["at"] == goal and p["mode"] == "chase" and p["last_seen"] == goal
        else:
            won = p["mode"] in NEUTRALISED
        if won:
            st["status"], st["outcome"] = "won", goal_kind
        elif turn >= objective["deadline"]:
            st["status"], st["outcome"] = "lost", "out_of_time"

    def _monster_strikes(self, sp: Species, m: dict, p: dict) -> None:
        hp = p["hp"] - sp.attack.damage
        p["hp"] = hp if hp > 0 else 0
        p["last_seen"] = m["at"]
        if p["hp"] == 0:
            p["mode"], p["mode_turns"] = "defeated", 0
        elif p["mode"] not in ("paralyzed", "frightened"):
            # Harm ends a truce or a charm (SRD Charm: harmful acts break it).
            p["mode"], p["mode_turns"] = "chase", 0

    def _negotiate(self, m: dict, p: dict, offer: str) -> None:
        emo_cfg = self.cfg.emo
        persuasion = m["traits"][self.cfg.offers[offer]]
        if m["emotions"]["curiosity"] >= emo_cfg.curiosity_threshold:
            persuasion += emo_cfg.curiosity_bonus
        p["parleyed"] = True
        if persuasion >= p["resolve"]:
            p["mode"], p["mode_turns"] = "truce", 0
        else:
            p["mode"], p["last_seen"] = "chase", m["at"]

    def _use_ability(self, sp: Species, m: dict, p: dict, name: str) -> None:
        ability = sp.ability(name)
        assert ability is not None  # check() guarantees it
        m["used"] = [*m["used"], name]
        if ability.save_dc >= self.cfg.levels[p["level"]].save:
            mode = {"charm": "charmed", "frighten": "frightened", "paralyze": "paralyzed"}
            p["mode"], p["mode_turns"] = mode[ability.effect], ability.duration_turns or 0
        else:
            p["mode"], p["mode_turns"], p["last_seen"] = "chase", 0, m["at"]

    def _move_player(self, st: State, g: Graph, m: dict, p: dict, came_from: str) -> None:
        mode, here = p["mode"], p["at"]
        nxt = here
        if mode == "patrol":
            route, i = p["route"], p["route_i"] + 1
            if i >= len(route):
                i = 0 if p["loop"] else len(route) - 1
            p["route_i"], nxt = i, route[i]
        elif mode == "chase":
            to_goal = g.dist[p["last_seen"]]
            bound = to_goal[here]
            for x in g.exits[here]:  # the first exit that closes in
                if to_goal[x] < bound:
                    nxt = x
                    break
        elif mode == "frightened":
            from_m = g.dist[m["at"]]
            nxt = max(g.exits[here], key=lambda x: from_m[x], default=here)
            if from_m[nxt] <= from_m[here]:
                nxt = here
        if p["mode_turns"]:
            p["mode_turns"] -= 1
            if not p["mode_turns"]:
                p["mode"], p["last_seen"] = "chase", m["at"]
        if nxt != here:
            if nxt == came_from and here == m["at"] and not m["hidden"] and mode in HOSTILE:
                return  # they would pass on the same path: he meets the monster and stays
            if nxt == m["allies_at"] and mode in HOSTILE:
                p["mode"], p["mode_turns"] = "frightened", self.cfg.sim.repel_turns
                return
            p["at"] = nxt
            objective = st["objective"]
            if nxt in (objective.get("lair"), st["phylactery"]):
                emo = m["emotions"]
                rage, cap = emo["rage"] + self.cfg.emo.rage_on_intrusion, self.cfg.emo.cap
                emo["rage"] = rage if rage < cap else cap

    def _hunter_strikes(self, sp: Species, m: dict, p: dict) -> tuple[str, ...]:
        weapon = self.cfg.weapons[p["weapon"]]
        strikes = self.cfg.levels[p["level"]].strikes
        damage = int(weapon.damage * strikes * sp.weapon_effect[p["weapon"]])
        if damage <= 0:
            return ()
        emo, emo_cfg = m["emotions"], self.cfg.emo
        hp = m["hp"] - damage
        fort = sp.undead_fortitude
        if (
            hp <= 0
            and fort
            and damage <= fort.max_damage
            and weapon.damage_type not in fort.bypassed_by
        ):
            hp = 1
        m["hp"] = hp if hp > 0 else 0  # clamps spelled out, as in _tick
        cap = emo_cfg.cap
        fear, rage = emo["fear"] + emo_cfg.fear_on_hit, emo["rage"] + emo_cfg.rage_on_hit
        emo["fear"] = fear if fear < cap else cap
        emo["rage"] = rage if rage < cap else cap
        emo["curiosity"] = 0
        return (weapon.damage_type,)
