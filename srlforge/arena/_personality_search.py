"""The personality expert: A* over the deterministic simulator, and optimal cost-to-go.

The cost of an action is the turns it takes, plus ``soft_cost`` per unit of soft-constraint
weight it breaks, plus a small ``step_cost`` (so a single ``wait`` of two turns beats two waits).
The heuristic is a lower bound on the turns still needed (graph distances the species may cross,
the hunter's distance to a lure), which is admissible and consistent, so the first won state A*
expands is optimal. Cost-to-go values are memoised per state: the expert's own path fills the
memo for free, and ``judge`` runs a fresh search only from states a policy reached off it. The
search itself never reads the memo, so the plan it returns depends on the state alone.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from srlforge.arena._personality_sim import Act, Graph, Sim, State

INF = math.inf


@dataclass
class Static:
    """What a scenario's states share, derived once: memo key and species-passable distances."""

    key: str
    pins: tuple[Any, ...]  # the static objects this entry was built from (identity-checked)
    passable_dist: dict[str, dict[str, int]]


@dataclass
class Plan:
    cost: float
    acts: list[Act]
    states: list[State]  # states[i] is the state before acts[i]; states[-1] is final


def dyn_key(st: State) -> tuple:
    m, p = st["monster"], st["player"]
    e = m["emotions"]
    return (
        st["turn"], st["status"], m["at"], m["hp"], m["hidden"], m["fed"], m["allies_at"],
        tuple(m["used"]), e["fear"], e["rage"], e["hunger"], e["curiosity"],
        p["at"], p["hp"], p["mode"], p["mode_turns"], p["route_i"], p["last_seen"], p["parleyed"],
    )  # fmt: skip


def _static_parts(st: State) -> tuple[Any, ...]:
    m, p = st["monster"], st["player"]
    return (st["map"], st["objective"], st["homes_invited"], m["traits"], p["route"])


class Planner:
    def __init__(self, sim: Sim, hard: set[str], soft_weight: dict[str, float]) -> None:
        self.sim = sim
        self.hard = hard
        self.soft_weight = soft_weight
        self.memo: dict[tuple[str, tuple], float] = {}
        self._statics: dict[int, Static] = {}

    # ----- costs -----------------------------------------------------------------------------

    def static(self, st: State) -> Static:
        parts = _static_parts(st)
        hit = self._statics.get(id(parts[0]))
        if hit is not None and all(a is b for a, b in zip(hit.pins, parts, strict=True)):
            return hit
        m, p = st["monster"], st["player"]
        content = {
            "parts": parts, "species": st["species"], "dawn": st["dawn_turn"],
            "moon": st["moon"], "phylactery": st["phylactery"], "max_hp": m["max_hp"],
            "hunter": [p["loop"], p["weapon"], p["level"], p["resolve"]],
        }  # fmt: skip
        key = json.dumps(content, sort_keys=True, separators=(",", ":"))
        static = Static(key, parts, self._passable(st))
        if len(self._statics) >= 1024:
            self._statics.clear()
        self._statics[id(parts[0])] = static
        return static

    def _passable(self, st: State) -> dict[str, dict[str, int]]:
        """Distances over locations the species may ever enter (no guard, no sun), per goal."""
        sim, g = self.sim, self.sim.graph(st)
        sp = sim.cfg.species[st["species"]]
        blocked = {
            x
            for x in g.exits
            if (
                sp.needs_invitation and "private_home" in g.tags[x] and x not in st["homes_invited"]
            )
            or (sp.running_water == "blocked" and "running_water" in g.tags[x])
        }
        objective = st["objective"]
        goals = {objective.get(k) for k in ("goal", "victim", "refuge", "lair")} - {None}
        out = {}
        for goal in goals:
            seen = {goal: 0}
            queue = deque([goal])
            while queue:
                cur = queue.popleft()
                for nxt in g.exits[cur]:
                    if nxt not in seen and nxt not in blocked:
                        seen[nxt] = seen[cur] + 1
                        queue.append(nxt)
            out[goal] = seen
        return out

    def heuristic(self, st: State, static: Static) -> float:
        """A lower bound on the turns still needed; INF once the deadline can't be met."""
        if st["status"] != "ongoing":
            return 0.0 if st["status"] == "won" else INF
        objective = st["objective"]
        kind = objective["kind"]
        m, p = st["monster"], st["player"]
        tpm = self.sim.turns_per_move[st["species"]]
        pd = static.passable_dist

        def walk(goal: str, src: str, final: bool) -> float:
            # A slow mover stands at its destination after the first turn of its move, so
            # arriving where the encounter is won costs tpm - 1 turns less.
            hops = pd[goal].get(src, INF)
            return hops * tpm - (tpm - 1 if final and 0 < hops < INF else 0)

        if kind in ("reach_refuge", "negotiate_passage"):
            need = walk(objective["goal"], m["at"], True)
        elif kind == "feed_unseen":
            refuge = objective.get("refuge")
            if m["fed"]:
                need = 0 if refuge is None else walk(refuge, m["at"], True)
            else:
                after = 0 if refuge is None else walk(refuge, objective["victim"], True)
                need = walk(objective["victim"], m["at"], False) + 1 + after
        elif kind == "lure":
            g: Graph = self.sim.graph(st)
            need = g.dist[p["at"]][objective["goal"]]
        else:
            d = self.sim.graph(st).dist[m["at"]][p["at"]]
            need = max(0, math.ceil((d - 1) / 2)) + 1
        if st["turn"] + need > objective["deadline"]:
            return INF
        return float(need)

    def action_cost(self, before: State, after: State, rule_ids: list[str]) -> float:
        soft = sum(self.soft_weight.get(r, 0.0) for r in rule_ids)
        cfg = self.sim.cfg.sim
        return (after["turn"] - before["turn"]) + cfg.soft_cost * soft + cfg.step_cost

    # ----- search ----------------------------------------------------------------------------

    def search(self, start: State) -> Plan | None:
        """The cheapest plan from ``start`` to a won state (None if none exists)."""
        static = self.static(start)
        h0 = self.heuristic(start, static)
        if h0 == INF:
            return None
        tie = itertools.count()
        start_key = dyn_key(start)
        best = {start_key: 0.0}
        parent: dict[tuple, tuple[tuple, Act]] = {}
        states = {start_key: start}
        heap = [(h0, 0.0, next(tie), start_key)]
        while heap:
            _, neg_g, _, key = heapq.heappop(heap)
            g_cost = -neg_g
            if g_cost > best[key] + 1e-9:
                continue
            st = states[key]
            if st["status"] == "won":
                return self._plan(key, parent, states, g_cost)
            longest: dict[tuple[str, str], State] = {}
            for act in self.sim.candidates(st):
                rules = [r for r, _ in self.sim.check(st, act)]
                if any(r in self.hard for r in rules):
                    continue
                nxt = self._advance(st, act, longest)
                if nxt is None or nxt["status"] == "lost":
                    continue
                h = self.heuristic(nxt, static)
                if h == INF:
                    continue
                g2 = g_cost + self.action_cost(st, nxt, rules)
                k2 = dyn_key(nxt)
                if g2 < best.get(k2, INF) - 1e-9:
                    best[k2], parent[k2], states[k2] = g2, (key, act), nxt
                    # Deeper first among equal f: reaches a goal sooner, same optimum.
                    heapq.heappush(heap, (g2 + h, -g2, next(tie), k2))
        return None

    def _advance(self, st: State, act: Act, longest: dict[tuple[str, str], State]) -> State | None:
        """``sim.advance(st, act)``, extending the same action one turn longer where it can.

        Candidates list a durative action with 1, 2, 3… turns in order, and n turns of it are
        n single turns in a row, so each longer variant costs one tick instead of n. None when
        the longer variant would stop early and end where the shorter one did.
        """
        kind, target, _, _, turns = act
        prev = longest.get((kind, target)) if turns and turns > 1 else None
        if prev is None:
            nxt = self.sim.advance(st, act)
        elif prev["status"] != "ongoing" or (
            kind == "attack"
            and (
                prev["player"]["at"] != prev["monster"]["at"]
                or prev["player"]["mode"] == "defeated"
            )
        ):
            return None
        else:
            nxt = self.sim.advance(prev, (kind, target, None, None, 1))
        if turns:
            longest[(kind, target)] = nxt
        return nxt

    def _plan(self, key: tuple, parent: dict, states: dict, cost: float) -> Plan:
        acts: list[Act] = []
        chain = [states[key]]
        while key in parent:
            key, act = parent[key]
            acts.append(act)
            chain.append(states[key])
        acts.reverse()
        chain.reverse()
        return Plan(cost, acts, chain)

    def solve(self, start: State) -> Plan | None:
        plan = self.search(start)
        self._remember(start, plan)
        return plan

    def _remember(self, start: State, plan: Plan | None) -> None:
        if len(self.memo) > 400_000:
            self.memo.clear()
        static = self.static(start)
        if plan is None:
            self.memo[(static.key, dyn_key(start))] = INF
            return
        spent = 0.0
        for i, act in enumerate(plan.acts):
            before, after = plan.states[i], plan.states[i + 1]
            self.memo[(static.key, dyn_key(before))] = plan.cost - spent
            rules = [r for r, _ in self.sim.check(before, act)]
            spent += self.action_cost(before, after, rules)
        self.memo[(static.key, dyn_key(plan.states[-1]))] = 0.0

    def cost_to_go(self, st: State) -> float:
        """Optimal remaining cost from ``st`` (0 when won, INF when the objective is lost)."""
        if st["status"] != "ongoing":
            return 0.0 if st["status"] == "won" else INF
        known = self.memo.get((self.static(st).key, dyn_key(st)))
        if known is not None:
            return known
        plan = self.solve(st)
        return INF if plan is None else plan.cost
