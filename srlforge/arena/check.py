"""``srlforge arena check``: the evidence that an arena's rewards are real.

For one model type: does the expert pass its own verifier everywhere, does a random policy
fail, does a constant action fail, does every reward-hacking probe stay under the ceiling,
and how fast is ``verify_step``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from srlforge.arena.base import DIFFICULTIES, Arena
from srlforge.arena.hacks import run_hacks
from srlforge.schema import Scenario

CHECK_SEED = 7


@dataclass
class CheckReport:
    model_type: str
    rules_version: str
    scenarios: int
    expert_success_rate: float
    expert_mean_outcome_reward: float
    random_success_rate: float
    constant_action_success_rate: float
    hack_max_outcome_reward: float
    hack_breakdown: dict[str, float] = field(default_factory=dict)
    verify_steps_per_s: float = 0.0
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def random_episode(arena: Arena, scenario: Scenario, rng: random.Random) -> list[dict[str, Any]]:
    """Play ``random_action`` through the simulator for the scenario's whole step budget."""
    state = arena.reset(scenario)
    steps = []
    for i in range(scenario.max_steps):
        action = arena.random_action(rng, state)
        steps.append({"think": "", "action": action})
        _, state, _ = arena.evaluate_step(state, action, None, i)
    return steps


def measure_verify_rate(arena: Arena, scenarios: list[Scenario], budget_s: float = 0.5) -> float:
    """verify_step calls per second on expert (dict) actions, from mid-episode states."""
    pairs = []
    for scenario in scenarios[:20]:
        state = arena.reset(scenario)
        for step in arena.solve(scenario):
            pairs.append((state, step.action))
            _, state, _ = arena.evaluate_step(state, step.action)
    if not pairs:
        return 0.0
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < budget_s:
        for state, action in pairs:
            arena.verify_step(state, action)
        calls += len(pairs)
    return calls / elapsed


def check_arena(
    arena: Arena,
    n_per_difficulty: int,
    seed: int = CHECK_SEED,
    on_progress: Callable[[int], None] | None = None,
) -> CheckReport:
    scenarios = [arena.sample(seed, i, d) for d in DIFFICULTIES for i in range(n_per_difficulty)]
    rng = random.Random(seed)
    expert_ok = random_ok = constant_ok = 0
    rewards: list[float] = []
    hack_best: dict[str, float] = {}
    failures: list[str] = []
    for k, scenario in enumerate(scenarios):
        expert = arena.solve(scenario)
        verdict = arena.verify_episode(scenario, expert)
        rewards.append(verdict.outcome_reward)
        if verdict.success:
            expert_ok += 1
        elif len(failures) < 5:
            failures.append(
                f"expert failed {scenario.id}: "
                + "; ".join(v.message for v in verdict.violations[:3])
            )
        random_ok += arena.verify_episode(scenario, random_episode(arena, scenario, rng)).success
        constant = [{"think": "", "action": expert[0].action}] * scenario.max_steps
        constant_ok += arena.verify_episode(scenario, constant).success
        # The hack suite is the expensive part; every fifth scenario still covers all levels.
        if k % 5 == 0:
            for result in run_hacks(arena, scenario, expert):
                hack_best[result.probe] = max(
                    hack_best.get(result.probe, 0.0), result.max_outcome_reward
                )
        if on_progress:
            on_progress(1)
    n = len(scenarios)
    return CheckReport(
        model_type=arena.model_type,
        rules_version=arena.rules_version,
        scenarios=n,
        expert_success_rate=expert_ok / n,
        expert_mean_outcome_reward=sum(rewards) / n,
        random_success_rate=random_ok / n,
        constant_action_success_rate=constant_ok / n,
        hack_max_outcome_reward=max(hack_best.values(), default=0.0),
        hack_breakdown=hack_best,
        verify_steps_per_s=measure_verify_rate(arena, scenarios),
        failures=failures,
    )
