"""The cost-benefit evaluator: adopt only with a measured held-out gain and a score > 0.7."""

from __future__ import annotations

from datetime import date

import pytest

from paid_ft_service.catalogue import load_catalogue
from paid_ft_service.costs import estimate_cost
from paid_ft_service.decision import (
    DecisionConfig,
    MeasuredGain,
    Option,
    decide,
    paid_option,
    prompt_option,
    self_hosted_option,
)

TODAY = date(2026, 11, 25)
GOOD = MeasuredGain(baseline_success=0.62, candidate_success=0.80, n_scenarios=200, source="run-7")


def test_self_hosted_with_measured_gain_and_lower_running_cost_is_adopted():
    options = [
        self_hosted_option(3.0, 5.0, 2.5, 20.0, GOOD, "tracker stage times (run-7)"),
        prompt_option(0.4, 30.0, None),
    ]
    result = decide(options, current_monthly_usd=120.0)
    assert result["recommendation"] == "self_hosted"
    best = result["options"][0]
    assert best["adopt"] and best["total"] > 0.7
    assert best["scores"]["performance_gain"] == 1.0
    assert best["break_even_months"] == pytest.approx(20.0 / 70.0)
    prompt = result["options"][1]
    assert not prompt["adopt"] and any("no measured gain" in r for r in prompt["rationale"])


def test_an_estimate_is_never_enough_to_adopt():
    unmeasured = Option("self_hosted", 0.0, 1.0, 1.0, None)
    too_few = Option("self_hosted", 0.0, 1.0, 1.0, MeasuredGain(0.1, 0.9, 5))
    on_train = Option("self_hosted", 0.0, 1.0, 1.0, MeasuredGain(0.1, 0.9, 500, split="train"))
    for option in (unmeasured, too_few, on_train):
        result = decide([option], current_monthly_usd=100.0)
        assert result["recommendation"] == "keep_current"
        assert "measured held-out gain" in result["rationale"]


def test_a_model_retiring_inside_the_horizon_carries_full_risk():
    cat = load_catalogue()
    row = cat.provider("openai").model("gpt-4o-mini-2024-07-18")
    cost = estimate_cost("openai", row, "supervised", 2_000_000, 3, 100_000)
    option = paid_option(cost, "winding_down", row.shutdown_date, TODAY, GOOD)
    assert option.risk == 0.0
    assert any("shuts down 2027-01-14" in n for n in option.notes)
    assert any("unconfirmed" in n for n in option.notes)
    result = decide([option], current_monthly_usd=10.0)
    assert result["recommendation"] == "keep_current"
    assert result["options"][0]["scores"]["risk"] == 0.0


def test_weights_must_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        DecisionConfig(w_gain=0.9)
