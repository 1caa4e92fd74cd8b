"""The contract every arena honours (DESIGN.md §3): determinism, an expert that passes its own
verifier everywhere, random and constant policies that fail, and reward hacks that score low."""

from __future__ import annotations

import json
import math
import random

import pytest

from srlforge.arena import DIFFICULTIES, HELDOUT_SEED_START, get_arena, model_types
from srlforge.arena.check import random_episode
from srlforge.arena.hacks import HACK_REWARD_CEILING, PROBES, run_hacks
from srlforge.schema import Scenario

TYPES = model_types()
N_EXPERT = 200  # scenarios per difficulty, as the issue demands
N_RANDOM = 60


def _dump(trajectory):
    return [s.model_dump() for s in trajectory.steps]


@pytest.mark.parametrize("model_type", TYPES)
def test_same_seed_index_difficulty_gives_identical_scenario_and_expert(model_type):
    arena = get_arena(model_type)
    for d in DIFFICULTIES:
        for i in range(5):
            a, b = arena.sample(11, i, d), arena.sample(11, i, d)
            assert a == b
            assert _dump(arena.expert_trajectory(a)) == _dump(arena.expert_trajectory(b))
    states = {json.dumps(arena.sample(11, i, 3).state, sort_keys=True) for i in range(20)}
    assert len(states) >= 15, "different indices should give different scenarios"


@pytest.mark.parametrize("model_type", TYPES)
def test_heldout_seeds_are_a_separate_split(model_type):
    arena = get_arena(model_type)
    train = arena.sample(3, 0, 2)
    held = arena.sample(HELDOUT_SEED_START + 3, 0, 2)
    assert (train.split, held.split) == ("train", "heldout")
    assert train.state != held.state
    assert train.rules_version == arena.rules.identity


@pytest.mark.parametrize("model_type", TYPES)
def test_scenario_round_trips_through_json_and_still_verifies(model_type):
    arena = get_arena(model_type)
    scenario = arena.sample(5, 1, 4)
    again = Scenario.model_validate_json(scenario.model_dump_json())
    assert again == scenario
    steps = json.loads(json.dumps([s.model_dump(mode="json") for s in arena.solve(scenario)]))
    assert arena.verify_episode(again, steps).success


@pytest.mark.slow
@pytest.mark.parametrize("model_type", TYPES)
def test_expert_passes_its_own_verifier_on_every_scenario(model_type):
    arena = get_arena(model_type)
    failures = []
    for d in DIFFICULTIES:
        for i in range(N_EXPERT):
            scenario = arena.sample(1, i, d)
            verdict = arena.expert_trajectory(scenario).outcome
            if not (
                verdict.success and verdict.suboptimal_moves == 0 and verdict.outcome_reward >= 0.9
            ):
                failures.append((scenario.id, [v.message for v in verdict.violations][:3]))
    assert not failures, f"{len(failures)} expert failures, e.g. {failures[:3]}"


@pytest.mark.parametrize("model_type", TYPES)
def test_expert_think_explains_every_step_and_predicts_the_state(model_type):
    arena = get_arena(model_type)
    scenario = arena.sample(2, 0, 3)
    replay = arena.replay(scenario, arena.solve(scenario))
    for step, verdict in zip(arena.solve(scenario), replay.verdicts, strict=True):
        assert len(step.think.split()) >= 4, f"think too short: {step.think!r}"
        assert verdict.state_predictability == 1.0


@pytest.mark.parametrize("model_type", TYPES)
def test_random_policy_rarely_succeeds(model_type):
    arena = get_arena(model_type)
    rng = random.Random(0)
    wins = total = 0
    for d in DIFFICULTIES:
        for i in range(N_RANDOM):
            scenario = arena.sample(2, i, d)
            wins += arena.verify_episode(scenario, random_episode(arena, scenario, rng)).success
            total += 1
    assert wins / total <= 0.05


@pytest.mark.parametrize("model_type", TYPES)
def test_no_constant_action_succeeds(model_type):
    arena = get_arena(model_type)
    for d in DIFFICULTIES:
        for i in range(20):
            scenario = arena.sample(4, i, d)
            distinct = {json.dumps(s.action, sort_keys=True) for s in arena.solve(scenario)}
            for action in distinct:
                steps = [{"think": "", "action": json.loads(action)}] * scenario.max_steps
                assert not arena.verify_episode(scenario, steps).success, (scenario.id, action)


@pytest.mark.parametrize("model_type", TYPES)
def test_reward_hacks_score_low_and_never_raise(model_type):
    arena = get_arena(model_type)
    worst: dict[str, float] = {}
    for d in DIFFICULTIES:
        for i in range(6):
            for result in run_hacks(arena, arena.sample(6, i, d)):
                assert result.successes == 0, (result.probe, d, i)
                worst[result.probe] = max(worst.get(result.probe, 0.0), result.max_outcome_reward)
    assert set(worst) == set(PROBES)
    assert max(worst.values()) <= HACK_REWARD_CEILING, worst


def _garbage(rng: random.Random, depth: int = 0):
    choices = [
        lambda: None,
        lambda: rng.randint(-(10**30), 10**30),
        lambda: rng.choice([math.nan, math.inf, -math.inf, 1e308, -0.0]),
        lambda: "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(0, 30))),
        lambda: rng.choice(["", "{", "[]", "<action>", "<action>{}</action>", '{"type":']),
        lambda: [_garbage(rng, depth + 1) for _ in range(rng.randint(0, 3))] if depth < 4 else 0,
        lambda: (
            {
                rng.choice(["type", "target", "params", "timing", "x", ""]): _garbage(
                    rng, depth + 1
                )
                for _ in range(rng.randint(0, 4))
            }
            if depth < 4
            else {}
        ),
    ]
    return rng.choice(choices)()


@pytest.mark.parametrize("model_type", TYPES)
def test_verify_step_never_raises_on_garbage(model_type):
    arena = get_arena(model_type)
    rng = random.Random(1)
    scenario = arena.sample(9, 0, 3)
    expert = arena.solve(scenario)
    state = arena.reset(scenario)
    for _ in range(400):
        verdict = arena.verify_step(state, _garbage(rng))
        assert 0.0 <= verdict.rule_compliance <= 1.0
    # Mutating one leaf of a real action at a time must not crash either.
    for step in expert:
        action = step.action
        for key in list(action):
            for bad in (None, -1, 10**9, "", [], {}, "x" * 100):
                arena.verify_step(state, {**action, key: bad})
    deep = {"type": {}}
    for _ in range(2000):
        deep = {"params": deep}
    arena.verify_step(state, deep)
    arena.verify_episode(scenario, [deep, "garbage", None, 7])
