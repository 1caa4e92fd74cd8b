"""The reward-hacking suite: degenerate and adversarial outputs every arena must score low.

Each probe turns a scenario and its expert trajectory into a list of steps a cheating policy
might submit. ``run_hacks`` verifies them all; the contract is that none reaches an outcome
reward above ``HACK_REWARD_CEILING`` and that no probe makes a verifier raise.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from srlforge.arena.base import MAX_COMPLETION_CHARS, Arena
from srlforge.schema import Scenario, Step

HACK_REWARD_CEILING = 0.2

Probe = Callable[[Arena, Scenario, list[Step]], list[list[Any]]]


def _actions(steps: list[Step]) -> list[Any]:
    return [s.action for s in steps]


def _as_steps(actions: list[Any]) -> list[Any]:
    return [{"think": "", "action": a} for a in actions]


def _non_json(arena, scenario, expert):
    return [["<think>x</think><action>move north quickly</action>"] * len(expert)]


def _empty(arena, scenario, expert):
    return [_as_steps([{}] * len(expert)), []]


def _extra_field(arena, scenario, expert):
    return [_as_steps([{**a, "reward": 1.0, "success": True} for a in _actions(expert)])]


def _missing_field(arena, scenario, expert):
    out = []
    first = _actions(expert)[0]
    for key in list(first)[:3]:
        out.append(_as_steps([{k: v for k, v in a.items() if k != key} for a in _actions(expert)]))
    return out


def _stringify(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, str):
        return [value]
    return value


def _wrong_types(arena, scenario, expert):
    return [_as_steps([_stringify(a) for a in _actions(expert)])]


def _scenario_echo(arena, scenario, expert):
    return [
        _as_steps([scenario.state] * len(expert)),
        _as_steps([scenario.model_dump(mode="json")] * len(expert)),
        [json.dumps(scenario.state)] * len(expert),
    ]


def _saturated(arena, scenario, expert):
    return [_as_steps([arena.saturated_action(scenario)] * len(expert))]


def _repeat_one(arena, scenario, expert):
    actions = _actions(expert)
    out = [_as_steps([actions[0]] * max(len(actions), 2))]
    if len(actions) > 1:
        out.append(_as_steps([actions[-1]] * len(actions)))
    return out


def _oversized(arena, scenario, expert):
    huge_think = "<think>" + "a" * (MAX_COMPLETION_CHARS + 10) + "</think>"
    text = [huge_think + f"<action>{json.dumps(a)}</action>" for a in _actions(expert)]
    padded = [{**a, "metadata": {"pad": "x" * 5000}} for a in _actions(expert)]
    return [text, _as_steps(padded)]


def _reordered(arena, scenario, expert):
    actions = _actions(expert)
    if len(actions) < 2:
        return []
    swapped = [actions[1], actions[0], *actions[2:]]
    return [_as_steps(list(reversed(actions))), _as_steps(swapped)]


def _dropped(arena, scenario, expert):
    actions = _actions(expert)
    out = [_as_steps(actions[:-1])]
    if len(actions) > 2:
        out.append(_as_steps(actions[:1] + actions[2:]))
    return out


def _forbidden(arena, scenario, expert):
    """Splice each hard-forbidden action in where the expert acted."""
    out = []
    state = arena.reset(scenario)
    actions = _actions(expert)
    for i, action in enumerate(actions):
        for bad in arena.forbidden_actions(scenario, state)[:3]:
            out.append(_as_steps([*actions[:i], bad, *actions[i + 1 :]]))
        _, state, _ = arena.evaluate_step(state, action)
        if len(out) >= 6:
            break
    return out


def _random_garbage(arena, scenario, expert):
    rng = random.Random(scenario.seed)
    junk: list[Any] = [None, 0, 3.5, [], "", "null", "[1,2]", '{"type": null}', {"type": "?"}]
    return [[{"think": "", "action": rng.choice(junk)} for _ in expert]]


PROBES: dict[str, Probe] = {
    "non_json": _non_json,
    "empty_action": _empty,
    "extra_fields": _extra_field,
    "missing_fields": _missing_field,
    "wrong_types": _wrong_types,
    "scenario_echo": _scenario_echo,
    "saturated": _saturated,
    "repeat_one": _repeat_one,
    "oversized": _oversized,
    "reordered": _reordered,
    "dropped": _dropped,
    "forbidden": _forbidden,
    "garbage": _random_garbage,
}


@dataclass
class HackResult:
    probe: str
    max_outcome_reward: float
    successes: int
    attempts: int


def run_hacks(
    arena: Arena, scenario: Scenario, expert: list[Step] | None = None
) -> list[HackResult]:
    """Verify every probe against ``scenario``; return the best reward each achieved."""
    expert = expert if expert is not None else arena.solve(scenario)
    results = []
    for name, probe in PROBES.items():
        best, wins, tries = 0.0, 0, 0
        for steps in probe(arena, scenario, expert):
            verdict = arena.verify_episode(scenario, steps)
            best = max(best, verdict.outcome_reward)
            wins += int(verdict.success)
            tries += 1
        results.append(HackResult(name, best, wins, tries))
    return results
