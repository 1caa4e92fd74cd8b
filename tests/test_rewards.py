import pytest

from srlforge.rewards import (
    RewardConfig,
    action_similarity,
    outcome_reward,
    rlvr_reward,
    step_reward,
)
from srlforge.schema import StepVerdict

EXPERT = {"type": "move", "target": "crypt", "params": {"speed": 2, "stealth": True}}


def _verdict(fmt=True, rules=1.0, state=1.0):
    return StepVerdict(format_valid=fmt, rule_compliance=rules, state_predictability=state)


def test_similarity_is_one_for_the_expert_action_and_orders_by_closeness():
    assert action_similarity(EXPERT, EXPERT) == pytest.approx(1.0)
    near = {**EXPERT, "params": {"speed": 3, "stealth": True}}
    wrong_target = {**EXPERT, "target": "house"}
    wrong_type = {"type": "attack", "target": "player", "params": {}}
    s_near, s_target, s_type = (
        action_similarity(a, EXPERT) for a in (near, wrong_target, wrong_type)
    )
    assert 1.0 > s_near > s_target > s_type >= 0.0
    assert action_similarity(None, EXPERT) == 0.0
    assert action_similarity({}, EXPERT) < 0.3


def test_extra_keys_cannot_buy_similarity():
    padded = {**EXPERT, "reward": 1, "success": True}
    assert action_similarity(padded, EXPERT) < 1.0


def test_step_reward_weights_and_format_penalty():
    assert step_reward(_verdict(), EXPERT, EXPERT) == pytest.approx(1.0)
    assert step_reward(_verdict(fmt=False, rules=0, state=0), None, EXPERT) == -1.0
    no_state = step_reward(_verdict(state=0.0), EXPERT, EXPERT)
    no_rules = step_reward(_verdict(rules=0.0), EXPERT, EXPERT)
    assert no_state == pytest.approx(0.9)
    assert no_rules == pytest.approx(0.7)


def test_outcome_penalties_apply_and_clip():
    assert outcome_reward(True, 0, 0) == 1.0
    assert outcome_reward(True, 2, 1) == pytest.approx(0.75)
    assert outcome_reward(False, 0, 0) == 0.0
    assert outcome_reward(True, 20, 0) == 0.0
    assert rlvr_reward(1.0, [1.0, 0.5]) == pytest.approx(0.8 + 0.2 * 0.75)
    assert rlvr_reward(0.0, []) == pytest.approx(-0.2)


def test_reward_config_rejects_weights_that_do_not_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        RewardConfig(w_similarity=0.9)
    with pytest.raises(ValueError, match="text_weight"):
        RewardConfig(text_weight=1.5)
