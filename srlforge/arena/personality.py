"""The personality arena (the flagship, multi-step): a monster NPC plays a night encounter.

Scenario: a small map graph (crypt, street, church, river bridge… with tags such as indoors,
private_home, consecrated, running_water, lit, cover), a clock running towards dawn, a moon
phase, a deterministic hunter (level, hit points, weapon, patrol route or guard post) and a
monster of a catalogued species with personality traits (aggression, intelligence, charisma,
survival instinct, faction loyalty, personal goal) and emotions (fear, rage, hunger, curiosity)
that events move. One action per step: ``{type, target, params, timing}``.

What makes it verifiable: every step replays through the simulator in ``_personality_sim``;
species rules (SRD 5.1 Forbiddance, running water, sunlight, speech, Children of the Night, the
lich's phylactery…) are hard constraints from ``personality.yaml`` read through the species
catalogue's fields; folklore and acting out of character are soft. Objectives (reach the refuge
before dawn, feed unseen, lure the hunter, get past a guard, defend the lair) are judged on the
final simulated state, and a move is suboptimal when its cost plus the optimal cost-to-go after
it exceeds the optimal cost-to-go before it (A* over the simulator, memoised).
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from srlforge.arena._personality_checks import RULE_IDS
from srlforge.arena._personality_gen import Generator
from srlforge.arena._personality_rules import ACTION_KINDS, SCHEMA_MAX_TURNS, compile_config
from srlforge.arena._personality_search import INF, Planner
from srlforge.arena._personality_sim import Act, Sim
from srlforge.arena._personality_think import explain
from srlforge.arena.base import Arena, Judgement, Replay
from srlforge.rules import RuleSet
from srlforge.schema import Scenario, Step, Violation


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offer: str | None = Field(
        default=None, max_length=24, pattern=r"^[a-z_]+$", description="negotiate: an offer."
    )
    ability: str | None = Field(
        default=None,
        max_length=40,
        pattern=r"^[A-Za-z][A-Za-z ()'-]*$",
        description="use_ability: the SRD name of one of the species' abilities.",
    )


class Timing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    turns: int = Field(ge=1, le=SCHEMA_MAX_TURNS, description="wait/hide/attack: how long.")


class Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    emotion: Literal["fear", "rage", "hunger", "curiosity", "calm"] | None = None
    note: str | None = Field(default=None, max_length=200)


class PersonalityAction(BaseModel):
    """One monster action. ``params`` is required (``{}`` when the type takes none)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal[ACTION_KINDS]  # type: ignore[valid-type]
    target: str = Field(
        min_length=1,
        max_length=32,
        pattern=r"^[a-z][a-z_]*$",
        description=(
            "move/stalk/flee: the location to go to; wait/hide/call_pack: the location you"
            " are at; attack/negotiate/use_ability: 'player'; feed: 'victim'."
        ),
    )
    params: Params
    timing: Timing | None = None
    metadata: Metadata | None = None


def to_act(action: PersonalityAction) -> Act:
    turns = action.timing.turns if action.timing is not None else None
    return (action.type, action.target, action.params.offer, action.params.ability, turns)


def to_dict(act: Act) -> dict[str, Any]:
    kind, target, offer, ability, turns = act
    params = {"offer": offer} if offer else {"ability": ability} if ability else {}
    out: dict[str, Any] = {"type": kind, "target": target, "params": params}
    if turns is not None:
        out["timing"] = {"turns": turns}
    return out


class PersonalityArena(Arena):
    model_type = "personality"
    action_model = PersonalityAction
    uses_species = True
    description = "Monster NPC behaviour in a night encounter, checked by a simulator."

    def load_rules(self, rules: RuleSet) -> None:
        for rule_id in RULE_IDS:
            rules.constraint(self.model_type, rule_id)  # a missing rule fails here, not mid-episode
        self.cfg = compile_config(rules)
        self.hard_ids = {r for r, severity in self._severity.items() if severity == "hard"}
        self.sim = Sim(self.cfg)
        self.planner = Planner(self.sim, self.hard_ids, self._soft_weight)
        self.generator = Generator(self.sim)

    def generate(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        return self.generator.generate(rng, difficulty)

    def initial_state(self, scenario: Scenario) -> dict[str, Any]:
        return dict(scenario.state)

    def check_action(self, state: dict[str, Any], action: BaseModel) -> list[Violation]:
        found = self.sim.check(state, to_act(action))  # type: ignore[arg-type]
        return [self.violation(rule_id, message) for rule_id, message in found]

    def apply(
        self, state: dict[str, Any], action: BaseModel
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return self.sim.step(state, to_act(action))  # type: ignore[arg-type]

    def judge(self, scenario: Scenario, replay: Replay) -> Judgement:
        final = replay.states[-1]
        met = final["status"] == "won"
        violations = []
        if final["outcome"] == "phylactery_exposed":
            violations.append(self.violation("species.guards", "the phylactery was left exposed"))
        details: dict[str, Any] = {
            "status": final["status"],
            "outcome": final["outcome"],
            "turns": final["turn"],
            "hunter_mode": final["player"]["mode"],
        }
        suboptimal = 0
        if met:
            # Only a winning episode can earn reward, so only it pays for cost-to-go searches.
            values = [self.planner.cost_to_go(s) for s in replay.states]
            details["optimal_cost"] = round(values[0], 3)
            for i, verdict in enumerate(replay.verdicts):
                before, after = replay.states[i], replay.states[i + 1]
                if not verdict.format_valid or verdict.hard_violation or values[i] == INF:
                    continue
                spent = self.planner.action_cost(
                    before, after, [v.rule_id for v in verdict.violations]
                )
                if spent + values[i + 1] > values[i] + 1e-6:
                    suboptimal += 1
        return Judgement(met, suboptimal, violations, details)

    def solve(self, scenario: Scenario) -> list[Step]:
        state = self.initial_state(scenario)
        plan = self.planner.solve(state)
        if plan is None:
            return []
        steps = []
        for act, before, after in zip(plan.acts, plan.states[:-1], plan.states[1:], strict=True):
            _, delta = self.sim.step(before, act)
            steps.append(
                Step(
                    think=explain(self.sim, before, act, after),
                    action=to_dict(act),
                    expected_state_delta=delta,
                )
            )
        return steps

    def random_action(self, rng: random.Random, state: dict[str, Any]) -> dict[str, Any]:
        kind = rng.choice(ACTION_KINDS)
        targets = [*state["map"], "player", "victim"]
        act: Act = (kind, rng.choice(targets), None, None, None)
        if kind == "negotiate":
            act = (kind, act[1], rng.choice(sorted(self.cfg.offers)), None, None)
        elif kind == "use_ability":
            names = sorted({a.name for sp in self.cfg.species.values() for a in sp.abilities})
            act = (kind, act[1], None, rng.choice(names), None)
        elif self.cfg.actions[kind].durative:
            act = (kind, act[1], None, None, rng.randint(1, self.cfg.sim.max_action_turns))
        return to_dict(act)

    def saturated_action(self, scenario: Scenario) -> dict[str, Any]:
        # The only intensity-like number is how long a durative action lasts: all in, at once.
        return to_dict(("attack", "player", None, None, SCHEMA_MAX_TURNS))

    def action_mask(self, state: dict[str, Any]) -> list[dict[str, Any]] | None:
        return [
            to_dict(act)
            for act in self.sim.candidates(state)
            if not any(r in self.hard_ids for r, _ in self.sim.check(state, act))
        ]

    def forbidden_actions(self, scenario: Scenario, state: dict[str, Any]) -> list[dict[str, Any]]:
        """Hard-forbidden actions in ``state``: species rules first, then the species' own
        powers used out of turn (a call by day, an ability it lacks), then plain illegal moves."""
        cfg, sim = self.cfg, self.sim
        g = sim.graph(state)
        here = state["monster"]["at"]
        abilities = sorted({a.name for s in cfg.species.values() for a in s.abilities})
        candidates: list[Act] = [("negotiate", "player", sorted(cfg.offers)[0], None, None)]
        candidates += [("move", x, None, None, None) for x in g.exits[here]]
        candidates += [("call_pack", here, None, None, None)]
        candidates += [("use_ability", "player", None, name, None) for name in abilities]
        candidates += [("wait", here, None, None, cfg.sim.max_action_turns)]
        candidates += [("move", x, None, None, None) for x in g.exits if x not in g.exits[here]]
        candidates += [("feed", "victim", None, None, None), ("attack", "player", None, None, 1)]
        ranked = []
        for order, act in enumerate(candidates):
            ids = [r for r, _ in sim.check(state, act) if r in self.hard_ids]
            if ids:
                species = any(r.startswith(("species.", "call_pack.", "ability.")) for r in ids)
                ranked.append((not any(r.startswith("species.") for r in ids), not species, order))
        return [to_dict(candidates[order]) for *_, order in sorted(ranked)]
