"""The witness: a scripted policy that proves a generated personality scenario solvable.

It plays the objective through the real simulator with simple, in-character habits (walk the
soft-free shortest way, keep still while the hunter passes, parley with the offer its strongest
trait backs, show itself and lead the hunter on). It breaks no rule, hard or soft, so the turns
it needs (plus the difficulty's slack) make a deadline the expert can always meet cleanly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from srlforge.arena._personality_sim import HOSTILE, Act, Sim, State
from srlforge.rules.species import Species


def bfs(exits: dict[str, list[str]], src: str, blocked: set[str] = frozenset()) -> dict:
    seen = {src: 0}
    queue = deque([src])
    while queue:
        cur = queue.popleft()
        for nxt in exits[cur]:
            if nxt not in seen and nxt not in blocked:
                seen[nxt] = seen[cur] + 1
                queue.append(nxt)
    return seen


def blocked_for(sp: Species, game_map: dict, invited: list[str]) -> set[str]:
    """Locations the witness won't route through: barred, or shunned by folklore."""
    out = set()
    for name, node in game_map.items():
        tags = node["tags"]
        if sp.needs_invitation and "private_home" in tags and name not in invited:
            out.add(name)
        if sp.running_water == "blocked" and "running_water" in tags:
            out.add(name)
        if not set(tags).isdisjoint(sp.folklore_avoids):
            out.add(name)
    return out


class Witness:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.cfg = sim.cfg

    # ----- witness ---------------------------------------------------------------------------

    def _try(self, st: State, act: Act) -> State | None:
        """``act`` played if it breaks no rule at all (the witness stays in character)."""
        if self.sim.check(st, act):
            return None
        nxt = self.sim.advance(st, act)
        return None if nxt["status"] == "lost" else nxt

    def _toward(
        self, st: State, dist: dict[str, int], kinds: tuple[str, ...] = ("stalk", "move")
    ) -> State | None:
        """One step down ``dist`` (never onto a hostile hunter), else keep still a turn."""
        g = self.sim.graph(st)
        here, p = st["monster"]["at"], st["player"]
        hunter = p["at"] if p["mode"] in HOSTILE else None
        for x in g.exits[here]:
            if x != hunter and dist.get(x, 99) < dist.get(here, 99):
                for kind in kinds:
                    nxt = self._try(st, (kind, x, None, None, None))
                    if nxt is not None:
                        return nxt
        return self._hold(st)

    def _hold(self, st: State) -> State | None:
        here = st["monster"]["at"]
        return self._try(st, ("hide", here, None, None, 1)) or self._try(
            st, ("wait", here, None, None, 1)
        )

    def _tools(self, st: State) -> list[Act]:
        sp = self.cfg.species[st["species"]]
        traits = st["monster"]["traits"]
        offers = sorted(self.cfg.offers, key=lambda o: -traits[self.cfg.offers[o]])
        acts: list[Act] = [("negotiate", "player", o, None, None) for o in offers]
        acts += [("use_ability", "player", None, a.name, None) for a in sp.abilities]
        acts.append(("call_pack", st["monster"]["at"], None, None, None))
        acts += [("attack", "player", None, None, n) for n in (1, 2, 3)]
        return acts

    def _neutralise(self, st: State, need_win: bool) -> State | None:
        for act in self._tools(st):
            nxt = self._try(st, act)
            if nxt is None:
                continue
            if need_win and nxt["status"] == "won":
                return nxt
            if not need_win and nxt["player"]["mode"] not in HOSTILE:
                return nxt
        return None

    def run(self, st: State, limit: int) -> int | None:
        """Turns the scripted policy needs to win from ``st`` (None if it fails)."""
        objective = st["objective"]
        kind = objective["kind"]
        exits = {k: v["exits"] for k, v in st["map"].items()}
        blocked = blocked_for(self.cfg.species[st["species"]], st["map"], st["homes_invited"])
        memo: dict[str, dict[str, int]] = {}

        def dists(node: str) -> dict[str, int]:
            """Soft-free distances to ``node`` for this monster (memoised per witness)."""
            if node not in memo:
                memo[node] = bfs(exits, node, blocked)
            return memo[node]

        steps = 0
        while st["status"] == "ongoing" and st["turn"] <= limit and steps < limit:
            steps += 1
            st = self._step(st, kind, dists, exits)  # type: ignore[assignment]
            if st is None:
                return None
        return st["turn"] if st["status"] == "won" else None

    def _step(
        self, st: State, kind: str, dists: Callable[[str], dict[str, int]], exits: dict
    ) -> State | None:
        m, p = st["monster"], st["player"]
        if kind == "reach_refuge":
            return self._toward(st, dists(st["objective"]["goal"]))
        if kind == "feed_unseen":
            if not m["fed"]:
                if m["at"] == st["objective"]["victim"]:
                    # Feed once the hunter is out of sight and earshot; until then, keep still.
                    fed = self._try(st, ("feed", "victim", None, None, None))
                    return fed or self._hold(st)
                return self._toward(st, dists(st["objective"]["victim"]))
            return self._toward(st, dists(st["objective"]["refuge"]))
        if kind == "negotiate_passage":
            if p["mode"] in HOSTILE and st["objective"]["post"] in exits[m["at"]]:
                return self._neutralise(st, need_win=False)
            return self._toward(st, dists(st["objective"]["goal"]))
        if kind == "defend_lair":
            done = self._neutralise(st, need_win=True)
            if done is not None:
                return done
            if p["at"] in exits[m["at"]]:
                # Within reach but no tool works from here: close in to fight.
                engage = self._try(st, ("move", p["at"], None, None, None))
                if engage is not None:
                    return engage
            return self._toward(st, dists(p["at"]))
        # lure: show yourself, then lead the hunter on, one step ahead of him.
        if p["mode"] == "patrol":
            nxt = self._toward(st, dists(p["at"]), kinds=("move",))
            return nxt or self._hold(st)
        goal = st["objective"]["goal"]
        if m["at"] != goal:
            lead = dists(goal)
            for x in exits[m["at"]]:
                if x != p["at"] and lead.get(x, 99) < lead.get(m["at"], 99):
                    nxt = self._try(st, ("move", x, None, None, None))
                    if nxt is not None:
                        return nxt
            return None
        # At the goal and heard there: go quiet (hide, or slip into cover) as he comes.
        options: list[Act] = [("hide", goal, None, None, 1)]
        options += [("stalk", x, None, None, None) for x in exits[goal] if x != p["at"]]
        options.append(("wait", goal, None, None, 1))
        for act in options:
            nxt = self._try(st, act)
            if nxt is not None:
                return nxt
        return None
