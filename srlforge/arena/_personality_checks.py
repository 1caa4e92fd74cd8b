"""Rule checks of the personality simulator: what a monster may do in a state, and why not.

``Checks.check`` returns every hard and soft rule an action breaks, as ``(rule_id, message)``;
severities and weights come from ``personality.yaml``. Species are read through their catalogue
fields only (``needs_invitation``, ``running_water``, ``sunlight``, ``can_speak``, ``pack_call``,
``guards``, abilities…), so a new species row needs no code. Actions travel as tuples
``(kind, target, offer, ability, turns)`` so the search never builds pydantic objects.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from srlforge.arena._personality_rules import Config
from srlforge.rules.species import Species

Act = tuple[str, str, str | None, str | None, int | None]
State = dict[str, Any]

# Every rule id ``Checks.check`` can report; the arena refuses a rule set that lacks one.
RULE_IDS = (
    "episode.over", "action.target", "action.params", "move.adjacent", "move.guarded",
    "concealment.cover", "flee.threat", "attack.reach", "negotiate.conditions", "feed.victim",
    "call_pack.available", "ability.available", "species.speech", "species.forbiddance",
    "species.running_water", "species.sunlight", "species.guards", "emotion.panic",
    "emotion.rage", "emotion.hunger", "personality.timid_attack", "personality.dull_tactics",
    "folklore.avoided_place", "folklore.moon_bound", "species.sunlight_sensitive",
)  # fmt: skip

HOSTILE = frozenset({"patrol", "chase", "guard"})  # hunter modes that see, hear and strike
PURSUERS = frozenset({"patrol", "chase"})  # hostile modes that move (a guard holds his post)
WATCHFUL = HOSTILE | {"truce", "charmed", "paralyzed"}  # awake and not fleeing: he notices
NEUTRALISED = frozenset({"truce", "charmed", "frightened", "defeated"})
MOVES = frozenset({"move", "stalk", "flee"})


class Plain:
    """A pydantic row's fields as plain instance attributes (plus ``extra``), read-only by
    convention. Pydantic models define ``__getattr__``, which keeps CPython off its specialised
    attribute fast path, and the simulator reads these rows' fields millions of times."""

    def __init__(self, model: Any, **extra: Any) -> None:
        self.__dict__.update(vars(model), **extra)


def plain_config(cfg: Config) -> Config:
    """``cfg`` with every row the simulation reads turned ``Plain`` (same names, same values)."""

    def rows(table: dict) -> dict:
        return {key: Plain(row) for key, row in table.items()}

    return dataclasses.replace(
        cfg,
        species={k: Plain(sp, ability=sp.ability) for k, sp in cfg.species.items()},
        weapons=rows(cfg.weapons),
        levels=rows(cfg.levels),
        actions=rows(cfg.actions),
        emo=Plain(cfg.emo),
        moons=rows(cfg.moons),
        sim=Plain(cfg.sim),
        objectives=rows(cfg.objectives),
        difficulty=rows(cfg.difficulty),
    )


class Distances(dict):
    """All-pairs hop counts, ``dist[a][b]``; a source's row is computed when first read (most
    states of a generated map only ever look at a few of them)."""

    def __init__(self, exits: dict[str, list[str]]) -> None:
        self.exits = exits

    def __missing__(self, src: str) -> dict[str, int]:
        if src not in self.exits:
            raise KeyError(src)
        # bfs() without a blocked set, inlined: these rows are most of the BFS work.
        exits = self.exits
        row = self[src] = {src: 0}
        queue = [src]
        for cur in queue:
            step = row[cur] + 1
            for nxt in exits[cur]:
                if nxt not in row:
                    row[nxt] = step
                    queue.append(nxt)
        return row


class Graph:
    """A map's adjacency (``exits``), tag sets and hop counts (``dist``, rows on demand),
    plus ``memo``: derived per-map data (BFS over a blocked set, a species' blocked set…)
    that the generator and its witness ask for many times per map. Read-only once built."""

    __slots__ = ("dist", "exits", "memo", "tags")

    def __init__(self, exits: dict[str, list[str]], tags: dict[str, frozenset[str]]) -> None:
        self.exits = exits
        self.tags = tags
        self.dist: dict[str, dict[str, int]] = Distances(exits)
        self.memo: dict[Any, Any] = {}

    def reach(self, src: str, blocked: frozenset[str]) -> dict[str, int]:
        """BFS distances from ``src`` avoiding ``blocked`` (``src`` itself is always in),
        in BFS visiting order. Cached: callers must not mutate the result."""
        key = (src, blocked)
        seen = self.memo.get(key)
        if seen is None:
            seen = self.memo[key] = bfs(self.exits, src, blocked)
        return seen


def bfs(exits: dict[str, list[str]], src: str, blocked: Any = frozenset()) -> dict[str, int]:
    """Hop counts from ``src`` in BFS visiting order, never entering ``blocked``."""
    seen = {src: 0}
    queue = [src]
    for cur in queue:  # a list grown while iterated: a FIFO queue without deque's overhead
        step = seen[cur] + 1
        for nxt in exits[cur]:
            if nxt not in seen and nxt not in blocked:
                seen[nxt] = step
                queue.append(nxt)
    return seen


def build_graph(game_map: dict[str, Any]) -> Graph:
    exits = {name: list(node["exits"]) for name, node in game_map.items()}
    tags = {name: frozenset(node["tags"]) for name, node in game_map.items()}
    return Graph(exits, tags)


class Checks:
    """Graph helpers and rule checks over personality states, for one compiled rule set."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = plain_config(cfg)  # what the simulator, its search and generator read
        self._graphs: dict[int, tuple[Any, Graph]] = {}
        # Turns one move takes: SRD speeds relative to the base walking speed (zombie 20 ft -> 2).
        self.turns_per_move = {
            name: math.ceil(cfg.sim.base_speed_ft / sp.speed_ft) for name, sp in cfg.species.items()
        }

    # ----- static helpers --------------------------------------------------------------------

    def graph(self, state: State) -> Graph:
        """The map's adjacency and distances, cached per map object (shared by all its states)."""
        game_map = state["map"]
        hit = self._graphs.get(id(game_map))
        if hit is not None and hit[0] is game_map:
            return hit[1]
        graph = build_graph(game_map)
        if len(self._graphs) >= 1024:
            self._graphs.clear()
        self._graphs[id(game_map)] = (game_map, graph)  # the reference keeps the id unique
        return graph

    def ticks(self, act: Act, sp: Species) -> int:
        if act[0] in MOVES:
            return self.turns_per_move[sp.name]
        return act[4] or 1

    def far_visible(self, state: State, g: Graph, node: str, turn: int) -> bool:
        """Can a hunter at a neighbouring location see a monster standing at ``node``?"""
        tags = g.tags[node]
        if "lit" in tags:
            return True
        if "indoors" in tags:
            return False
        return turn >= state["dawn_turn"] or self.cfg.moons[state["moon"]].lights_outdoors

    def entry_violations(self, state: State, g: Graph, sp: Species, node: str) -> list:
        """Species and guard rules that bar entering ``node``."""
        out = []
        tags = g.tags[node]
        if sp.needs_invitation and "private_home" in tags and node not in state["homes_invited"]:
            out.append(("species.forbiddance", f"the {node} is a private home; no invitation"))
        if sp.running_water == "blocked" and "running_water" in tags:
            out.append(("species.running_water", f"the {node} is running water"))
        player = state["player"]
        if player["mode"] == "guard" and player["at"] == node:
            out.append(("move.guarded", f"the hunter guards the {node}"))
        return out

    def flee_ok(self, state: State, g: Graph, sp: Species, target: str) -> bool:
        here, hunter = state["monster"]["at"], state["player"]["at"]
        if target == here or g.dist[hunter][target] <= g.dist[hunter][here]:
            return False
        if target in g.exits[here]:
            return True
        if self.cfg.sim.flee_hops < 2:
            return False
        return any(
            target in g.exits[mid]
            and mid != hunter
            and not self.entry_violations(state, g, sp, mid)
            for mid in g.exits[here]
        )

    # ----- rule checks -----------------------------------------------------------------------

    def check(self, state: State, act: Act, g: Graph | None = None) -> list[tuple[str, str]]:
        """``(rule_id, message)`` for every hard and soft rule ``act`` breaks in ``state``.

        ``g``: the state's Graph, when the caller already holds it (saves the cache lookup)."""
        kind, target, offer, ability, turns = act
        cfg = self.cfg
        if state["status"] != "ongoing":
            return [("episode.over", f"the encounter is over ({state['outcome']})")]
        row = cfg.actions[kind]
        if (offer is not None) != (kind == "negotiate") or (ability is not None) != (
            kind == "use_ability"
        ):
            return [("action.params", "offer goes with negotiate, ability with use_ability")]
        if offer is not None and offer not in cfg.offers:
            return [("action.params", f"unknown offer '{offer}'; one of {sorted(cfg.offers)}")]
        if turns is not None and (not row.durative or turns > cfg.sim.max_action_turns):
            return [("action.params", f"{kind} takes no timing.turns of {turns}")]
        if g is None:
            g = self.graph(state)
        m, p = state["monster"], state["player"]
        here, traits, emo = m["at"], m["traits"], m["emotions"]
        if row.target == "location":
            if target not in g.exits:
                return [("action.target", f"'{target}' is not a location on this map")]
        elif row.target == "here":
            if target != here:
                return [("action.target", f"{kind} happens where you are: the {here}")]
        elif target != row.target:
            return [("action.target", f"{kind} targets '{row.target}', not '{target}'")]
        sp = cfg.species[state["species"]]
        out: list[tuple[str, str]] = []
        dest = here
        # The hunter's distance, his hostility and panic are worked out only by the kinds of
        # action they bear on (moves and waits, most of what is checked, need none of them).
        if kind == "move" or kind == "stalk":
            if target not in g.exits[here]:
                return [("move.adjacent", f"the {target} is not an exit of the {here}")]
            if kind == "stalk" and "cover" not in g.tags[target]:
                out.append(("concealment.cover", f"the {target} has no cover to stalk into"))
            dest = target
        elif kind == "flee":
            if not (p["mode"] in PURSUERS and g.dist[here][p["at"]] <= 1):
                return [("flee.threat", "no hunter on the move within reach to flee from")]
            if emo["fear"] < cfg.emo.flee_fear:
                return [("flee.threat", f"fear {emo['fear']} is too low to bolt")]
            if not self.flee_ok(state, g, sp, target):
                return [("move.adjacent", f"can't dash to the {target}, away from the hunter")]
            dest = target
        elif kind == "hide":
            if "cover" not in g.tags[here]:
                out.append(("concealment.cover", f"the {here} has no cover"))
        elif kind == "attack":
            if p["at"] != here or p["mode"] == "defeated":
                out.append(("attack.reach", "no standing hunter at your location"))
            if emo["fear"] >= cfg.emo.panic_at[traits["survival_instinct"]]:
                out.append(("emotion.panic", f"fear {emo['fear']} is at the panic threshold"))
        elif kind == "negotiate":
            if not sp.can_speak:
                out.append(("species.speech", f"the {sp.name} can't speak ({sp.languages})"))
            if not (p["mode"] in HOSTILE and g.dist[here][p["at"]] <= 1 and not p["parleyed"]):
                out.append(("negotiate.conditions", "no hostile hunter in earshot to parley"))
            if emo["fear"] >= cfg.emo.panic_at[traits["survival_instinct"]]:
                out.append(("emotion.panic", f"fear {emo['fear']} is at the panic threshold"))
            if emo["rage"] >= cfg.emo.rage_limit:
                out.append(("emotion.rage", f"rage {emo['rage']} is past talking"))
            if emo["hunger"] >= cfg.emo.hunger_frenzy:
                out.append(("emotion.hunger", f"hunger {emo['hunger']} is a frenzy"))
        elif kind == "call_pack":
            dist = g.dist[here][p["at"]]
            out += self._pack_violations(state, sp, dist, p["mode"] in HOSTILE)
        elif kind == "use_ability":
            out += self._ability_violations(state, g, sp, ability or "", g.dist[here][p["at"]])
        elif kind == "feed" and (
            not sp.feeds_on or m["fed"] or state["objective"].get("victim") != here
        ):
            out.append(("feed.victim", f"no victim to feed on at the {here}"))
        if dest != here:
            out += self.entry_violations(state, g, sp, dest)
            phylactery = state["phylactery"]
            if (
                sp.guards
                and here == phylactery
                and p["mode"] in HOSTILE
                and g.dist[p["at"]][phylactery] <= 1
            ):
                out.append(("species.guards", f"the hunter is next to the {sp.guards}"))
        ticks = self.turns_per_move[sp.name] if kind in MOVES else turns or 1  # self.ticks()
        day = state["turn"] + ticks >= state["dawn_turn"]
        if day and "indoors" not in g.tags[dest]:
            if sp.sunlight == "burns":
                out.append(("species.sunlight", f"the sun will be up on the open {dest}"))
            elif sp.sunlight == "sensitive":
                out.append(("species.sunlight_sensitive", f"daylight on the open {dest}"))
        # Soft: in character for this individual and the species' folklore.
        if kind == "attack" and traits["aggression"] <= cfg.sim.timid_aggression:
            out.append(("personality.timid_attack", f"aggression {traits['aggression']} is timid"))
        if kind in ("stalk", "hide") and traits["intelligence"] <= cfg.sim.dull_intelligence:
            out.append(("personality.dull_tactics", "too dull-witted to skulk"))
        if dest != here and not g.tags[dest].isdisjoint(sp.folklore_avoids):
            out.append(("folklore.avoided_place", f"folklore says the {sp.name} shuns the {dest}"))
        if (
            sp.moon_bound
            and kind in ("negotiate", "hide")
            and cfg.moons[state["moon"]].stirs_moon_bound
        ):
            out.append(("folklore.moon_bound", f"the {state['moon']} moon drives the hunt"))
        return out

    def _pack_violations(self, state: State, sp: Species, dist: int, hostile: bool) -> list:
        cfg, m = self.cfg, state["monster"]
        if sp.pack_call == "never":
            return [("call_pack.available", f"the {sp.name} has no pack to call")]
        if m["allies_at"] is not None:
            return [("call_pack.available", "the pack has already been called")]
        if sp.pack_call == "night" and state["turn"] >= state["dawn_turn"]:
            return [("call_pack.available", f"{sp.pack_ability} only works while it is night")]
        if m["traits"]["faction_loyalty"] < cfg.sim.pack_loyalty_min:
            return [("call_pack.available", "too little faction loyalty to rally a pack")]
        if not (hostile and dist <= cfg.sim.pack_reach):
            return [("call_pack.available", "no hostile hunter within reach of the pack")]
        return []

    def _ability_violations(
        self, state: State, g: Graph, sp: Species, name: str, dist: int
    ) -> list:
        ability = sp.ability(name)
        m, p = state["monster"], state["player"]
        if ability is None:
            known = [a.name for a in sp.abilities] or "none"
            return [("ability.available", f"the {sp.name} has no ability '{name}' ({known})")]
        if name in m["used"]:
            return [("ability.available", f"{name} was already used")]
        if ability.night_only and state["turn"] >= state["dawn_turn"]:
            return [("ability.available", f"{name} only works at night")]
        if p["mode"] == "defeated" or dist > ability.range_hops:
            return [("ability.available", f"no hunter within {name}'s range")]
        if ability.target_must_see and (
            m["hidden"] or (dist > 0 and not self.far_visible(state, g, m["at"], state["turn"]))
        ):
            return [("ability.available", f"the hunter must see you for {name}")]
        return []

    # ----- action sets -----------------------------------------------------------------------

    def candidates(self, state: State) -> list[Act]:
        """Every action worth checking in ``state`` (decisive ones first: the search's order)."""
        cfg = self.cfg
        sp = cfg.species[state["species"]]
        g = self.graph(state)
        here = state["monster"]["at"]
        acts: list[Act] = [("feed", "victim", None, None, None)]
        acts += [("negotiate", "player", offer, None, None) for offer in cfg.offers]
        acts += [("use_ability", "player", None, a.name, None) for a in sp.abilities]
        acts.append(("call_pack", here, None, None, None))
        # A durative action longer than the time left can only run out the clock.
        left = state["objective"]["deadline"] - state["turn"]
        durations = range(1, max(1, min(cfg.sim.max_action_turns, left)) + 1)
        if state["player"]["at"] == here:
            acts += [("attack", "player", None, None, n) for n in durations]
        # Keeping still is tried before moving: among equally good plans the expert holds
        # its ground rather than doubling back on its own trail.
        if "cover" in g.tags[here]:
            acts += [("hide", here, None, None, n) for n in durations]
        acts += [("wait", here, None, None, n) for n in durations]
        for x in g.exits[here]:
            acts.append(("move", x, None, None, None))
            if "cover" in g.tags[x]:
                acts.append(("stalk", x, None, None, None))
        if g.dist[here][state["player"]["at"]] <= 1:
            two_hops = {y for x in g.exits[here] for y in g.exits[x]} | set(g.exits[here])
            acts += [("flee", x, None, None, None) for x in g.exits if x in two_hops]
        return acts
