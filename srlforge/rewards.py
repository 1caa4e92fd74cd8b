"""Rewards: action similarity, the SRL step reward and the RLVR outcome reward (DESIGN.md §4).

Pure functions of verdicts and actions, plus factories that wrap them in TRL's reward-function
signature ``(prompts, completions, **columns) -> list[float | None]`` so they plug into
``GRPOTrainer`` unchanged. Only the action is rewarded; the think text never is.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from srlforge.schema import StepVerdict, canonical_json

if TYPE_CHECKING:
    from srlforge.arena.base import Arena
    from srlforge.schema import Scenario


@dataclass(frozen=True)
class RewardConfig:
    """Weights of the reward terms; defaults from the seed design."""

    # action similarity = text_weight × SequenceMatcher ratio + (1 − text_weight) × field match
    text_weight: float = 0.5
    field_weights: dict[str, float] = field(
        default_factory=lambda: {
            "type": 0.30,
            "target": 0.25,
            "params": 0.20,
            "timing": 0.15,
            "metadata": 0.10,
        }
    )
    # SRL step reward terms
    w_similarity: float = 0.4
    w_rules: float = 0.3
    w_format: float = 0.2
    w_state: float = 0.1
    format_penalty: float = -1.0
    # RLVR
    w_outcome: float = 0.8
    w_mean_step: float = 0.2
    violation_penalty: float = 0.1
    suboptimal_penalty: float = 0.05

    def __post_init__(self) -> None:
        srl = self.w_similarity + self.w_rules + self.w_format + self.w_state
        if abs(srl - 1.0) > 1e-6:
            raise ValueError(
                f"SRL step reward weights must sum to 1 (got {srl:.3f}); "
                "adjust w_similarity/w_rules/w_format/w_state"
            )
        if abs(self.w_outcome + self.w_mean_step - 1.0) > 1e-6:
            raise ValueError("w_outcome + w_mean_step must sum to 1")
        if not 0.0 <= self.text_weight <= 1.0:
            raise ValueError(f"text_weight must be in [0, 1], got {self.text_weight}")


DEFAULT = RewardConfig()


def _field_match(a: Any, b: Any) -> float:
    """1 for equal values; partial credit inside dicts (mean over the union of keys)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = a.keys() | b.keys()
        if not keys:
            return 1.0
        return sum(
            _field_match(a.get(k), b.get(k)) if k in a and k in b else 0.0 for k in keys
        ) / len(keys)
    if isinstance(a, bool) or isinstance(b, bool):
        return float(a is b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        scale = max(abs(a), abs(b), 1e-9)
        return max(0.0, 1.0 - abs(a - b) / scale)
    return float(a == b)


def action_similarity(
    action: dict[str, Any] | None, expert: dict[str, Any], config: RewardConfig = DEFAULT
) -> float:
    """Similarity in [0, 1] of a model's action to the expert's (0 for a missing action)."""
    if not isinstance(action, dict) or not isinstance(expert, dict):
        return 0.0
    ratio = difflib.SequenceMatcher(None, canonical_json(action), canonical_json(expert)).ratio()
    present = {k: w for k, w in config.field_weights.items() if k in action or k in expert}
    others = (action.keys() | expert.keys()) - config.field_weights.keys()
    # Keys outside the named roles share the metadata weight, so no key is free to get wrong.
    total = sum(present.values()) + (config.field_weights["metadata"] if others else 0.0)
    if total <= 0:
        return ratio
    score = sum(w * _field_match(action.get(k), expert.get(k)) for k, w in present.items())
    if others:
        score += config.field_weights["metadata"] * (
            sum(_field_match(action.get(k), expert.get(k)) for k in others) / len(others)
        )
    return config.text_weight * ratio + (1 - config.text_weight) * (score / total)


def step_reward(
    verdict: StepVerdict,
    action: dict[str, Any] | None,
    expert_action: dict[str, Any],
    config: RewardConfig = DEFAULT,
) -> float:
    """SRL step reward: weighted similarity, rules, format and state terms; −1 on bad format."""
    if not verdict.format_valid or action is None:
        return config.format_penalty
    return (
        config.w_similarity * action_similarity(action, expert_action, config)
        + config.w_rules * verdict.rule_compliance
        + config.w_format * 1.0
        + config.w_state * verdict.state_predictability
    )


def outcome_reward(
    success: bool, violations: int, suboptimal_moves: int, config: RewardConfig = DEFAULT
) -> float:
    """1 on success, minus penalties per violation and suboptimal move, clipped to [0, 1]."""
    base = 1.0 if success else 0.0
    value = (
        base - config.violation_penalty * violations - config.suboptimal_penalty * suboptimal_moves
    )
    return min(1.0, max(0.0, value))


def rlvr_reward(
    outcome: float, step_rewards: Sequence[float], config: RewardConfig = DEFAULT
) -> float:
    mean_step = sum(step_rewards) / len(step_rewards) if step_rewards else config.format_penalty
    return config.w_outcome * outcome + config.w_mean_step * mean_step


def _completion_text(completion: Any) -> str:
    """TRL passes plain strings, or chat messages for conversational datasets."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    return ""


def make_srl_reward(
    arena_for: Callable[[str], Arena], config: RewardConfig = DEFAULT
) -> Callable[..., list[float | None]]:
    """A TRL reward function for SRL instances.

    Dataset columns used: ``model_type``, ``scenario`` (Scenario JSON), ``history`` (JSON list of
    the expert actions so far) and ``expert_action`` (JSON). The state is rebuilt by replaying the
    expert prefix through the simulator, so the rule and state terms are checked, not assumed.
    """
    import json

    from srlforge.arena.base import parse_completion
    from srlforge.schema import Scenario

    def srl_step_reward(prompts, completions, model_type, scenario, history, expert_action, **_):
        rewards: list[float | None] = []
        for completion, mt, scen, hist, expert in zip(
            completions, model_type, scenario, history, expert_action, strict=True
        ):
            arena = arena_for(mt)
            scen_obj: Scenario = (
                Scenario.model_validate_json(scen) if isinstance(scen, str) else scen
            )
            state = arena.reset(scen_obj)
            for past in json.loads(hist) if isinstance(hist, str) else hist:
                _, state, _ = arena.evaluate_step(state, past)
            parsed = parse_completion(_completion_text(completion))
            action = parsed.action
            verdict, _, validated = arena.evaluate_step(
                state, action if action is not None else _completion_text(completion)
            )
            expert_dict = json.loads(expert) if isinstance(expert, str) else expert
            rewards.append(
                # exclude_unset: optional fields the policy left out must not appear as None and
                # cost similarity against an expert who left them out too.
                step_reward(
                    verdict,
                    validated.model_dump(exclude_unset=True) if validated else None,
                    expert_dict,
                    config,
                )
            )
        return rewards

    return srl_step_reward


def episode_reward(
    arena: Arena, scenario: Scenario, steps: Sequence[Any], config: RewardConfig = DEFAULT
) -> float:
    """RLVR reward of a whole episode: 0.8 × verified outcome + 0.2 × mean step reward.

    The step term here has no expert to compare with, so it is the step reward with similarity
    replaced by rule compliance (format, rules and state prediction still count).
    """
    verdict = arena.verify_episode(scenario, steps)
    replay = arena.replay(scenario, steps)
    per_step = [
        config.format_penalty
        if not v.format_valid
        else (config.w_similarity + config.w_rules) * v.rule_compliance
        + config.w_format
        + config.w_state * v.state_predictability
        for v in replay.verdicts
    ]
    return rlvr_reward(verdict.outcome_reward, per_step, config)
