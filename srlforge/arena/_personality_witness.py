"""The witness: a scripted policy that proves a generated personality scenario solvable.

It plays the objective through the real simulator with simple, in-character habits (walk the
soft-free shortest way, keep still while the hunter passes, parley with the offer its strongest
trait backs, show itself and lead the hunter on). It breaks no rule, hard or soft, so the turns
it needs (plus the difficulty's slack) make a deadline the expert can always meet cleanly.
"""

from __future__ import annotations

from srlforge.arena._personality_sim import HOSTILE, Act, Graph, Sim, State
from srlforge.rules.species import Species


def blocked_in(sp: Species, g: Graph, invited: list[str]) -> frozenset[str]:
    """Locations the witness won't route through: barred, or shunned by folklore.

    Cached on the map's Graph: the layout, the guard post and every witness run on one map ask.
    """
    key = ("blocked", sp.name, tuple(invited))
    out = g.memo.get(key)
    if out is None:
        # Tags that bar or repel this species wherever they are (homes depend on invitations).
        shun = set(sp.folklore_avoids)
        if sp.running_water == "blocked":
            shun.add("running_water")
        homes = sp.needs_invitation
        out = g.memo[key] = frozenset(
            name
            for name, tags in g.tags.items()
            if not tags.isdisjoint(shun)
            or (homes and "private_home" in tags and name not in invited)
        )
    return out


class Witness:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.cfg = sim.cfg

    def run(self, st: State, limit: int, g: Graph) -> int | None:
        """Turns the scripted policy needs to win from ``st`` (None if it fails); ``g`` is the
        Graph of its map, which every state of the run shares."""
        play = _Run(self, st, g)
        steps = 0
        while st["status"] == "ongoing" and st["turn"] <= limit and steps < limit:
            steps += 1
            st = play.step(st)  # type: ignore[assignment]
            if st is None:
                return None
        return st["turn"] if st["status"] == "won" else None


class _Run:
    """One witness run: what stays fixed while it plays (the map's Graph, where the monster
    won't go, whether it can skulk, its parley order), looked up once instead of per step.
    A fresh object per run keeps the Witness itself stateless."""

    __slots__ = ("advance", "blocked", "cfg", "check", "g", "kind", "skulker", "tooling")

    def __init__(self, witness: Witness, st: State, g: Graph) -> None:
        cfg = self.cfg = witness.cfg
        self.check, self.advance = witness.sim.check, witness.sim.advance
        self.g = g
        self.kind = st["objective"]["kind"]
        # Soft-free distances come from g.reach, cached on the Graph: the layout and any
        # rerun on this map ask for the same ones.
        self.blocked = blocked_in(cfg.species[st["species"]], g, st["homes_invited"])
        # Too dull to skulk: ``check`` flags every stalk and hide (a soft rule), so the
        # witness, which breaks none, need not ask; nor for either without cover.
        self.skulker = st["monster"]["traits"]["intelligence"] > cfg.sim.dull_intelligence
        self.tooling: list[Act] | None = None  # see tools()

    def attempt(self, st: State, act: Act) -> State | None:
        """``act`` played if it breaks no rule at all (the witness stays in character)."""
        if self.check(st, act, self.g):
            return None
        nxt = self.advance(st, act, self.g)
        return None if nxt["status"] == "lost" else nxt

    def skulks(self, node: str) -> bool:
        return self.skulker and "cover" in self.g.tags[node]

    def toward(
        self, st: State, dist: dict[str, int], kinds: tuple[str, ...] = ("stalk", "move")
    ) -> State | None:
        """One step down ``dist`` (never onto a hostile hunter), else keep still a turn."""
        here, p = st["monster"]["at"], st["player"]
        hunter = p["at"] if p["mode"] in HOSTILE else None
        bound = dist.get(here, 99)
        g, check, advance = self.g, self.check, self.advance
        for x in g.exits[here]:
            if x != hunter and dist.get(x, 99) < bound:
                for kind in kinds:
                    if kind == "stalk" and not (self.skulker and "cover" in g.tags[x]):
                        continue
                    act = (kind, x, None, None, None)
                    if not check(st, act, g):  # self.attempt(), inlined: the hottest loop
                        nxt = advance(st, act, g)
                        if nxt["status"] != "lost":
                            return nxt
        return self.hold(st)

    def hold(self, st: State) -> State | None:
        here = st["monster"]["at"]
        if self.skulker and "cover" in self.g.tags[here]:  # self.skulks(here)
            hid = self.attempt(st, ("hide", here, None, None, 1))
            if hid is not None:
                return hid
        return self.attempt(st, ("wait", here, None, None, 1))

    def tools(self, st: State) -> list[Act]:
        if self.tooling is None:  # built on first use: only two objectives ever need tools
            cfg = self.cfg
            traits = st["monster"]["traits"]
            offers = sorted(cfg.offers, key=lambda o: -traits[cfg.offers[o]])
            acts: list[Act] = [("negotiate", "player", o, None, None) for o in offers]
            abilities = cfg.species[st["species"]].abilities
            acts += [("use_ability", "player", None, a.name, None) for a in abilities]
            self.tooling = acts
        here = st["monster"]["at"]
        attacks: list[Act] = [("attack", "player", None, None, n) for n in (1, 2, 3)]
        return [*self.tooling, ("call_pack", here, None, None, None), *attacks]

    def neutralise(self, st: State, need_win: bool) -> State | None:
        for act in self.tools(st):
            nxt = self.attempt(st, act)
            if nxt is None:
                continue
            if need_win and nxt["status"] == "won":
                return nxt
            if not need_win and nxt["player"]["mode"] not in HOSTILE:
                return nxt
        return None

    def step(self, st: State) -> State | None:
        m, p = st["monster"], st["player"]
        g, kind, objective = self.g, self.kind, st["objective"]
        exits, blocked = g.exits, self.blocked
        if kind == "reach_refuge":
            return self.toward(st, g.reach(objective["goal"], blocked))
        if kind == "feed_unseen":
            if not m["fed"]:
                if m["at"] == objective["victim"]:
                    # Feed once the hunter is out of sight and earshot; until then, keep still.
                    fed = self.attempt(st, ("feed", "victim", None, None, None))
                    return fed or self.hold(st)
                return self.toward(st, g.reach(objective["victim"], blocked))
            return self.toward(st, g.reach(objective["refuge"], blocked))
        if kind == "negotiate_passage":
            if p["mode"] in HOSTILE and objective["post"] in exits[m["at"]]:
                return self.neutralise(st, need_win=False)
            return self.toward(st, g.reach(objective["goal"], blocked))
        if kind == "defend_lair":
            done = self.neutralise(st, need_win=True)
            if done is not None:
                return done
            if p["at"] in exits[m["at"]]:
                # Within reach but no tool works from here: close in to fight.
                engage = self.attempt(st, ("move", p["at"], None, None, None))
                if engage is not None:
                    return engage
            return self.toward(st, g.reach(p["at"], blocked))
        # lure: show yourself, then lead the hunter on, one step ahead of him.
        if p["mode"] == "patrol":
            nxt = self.toward(st, g.reach(p["at"], blocked), kinds=("move",))
            return nxt or self.hold(st)
        goal = objective["goal"]
        if m["at"] != goal:
            lead = g.reach(goal, blocked)
            for x in exits[m["at"]]:
                if x != p["at"] and lead.get(x, 99) < lead.get(m["at"], 99):
                    nxt = self.attempt(st, ("move", x, None, None, None))
                    if nxt is not None:
                        return nxt
            return None
        # At the goal and heard there: go quiet (hide, or slip into cover) as he comes.
        options: list[Act] = [("hide", goal, None, None, 1)] if self.skulks(goal) else []
        options += [("stalk", x, None, None, None) for x in exits[goal] if x != p["at"]]
        options.append(("wait", goal, None, None, 1))
        for act in options:
            if act[0] == "stalk" and not self.skulks(act[1]):
                continue
            nxt = self.attempt(st, act)
            if nxt is not None:
                return nxt
        return None
