"""Pure analysis: the metric registry, the rank test, regression windows, weaknesses, triggers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tracker_service.analysis import (
    compare_windows,
    judge_weaknesses,
    retrain_conditions,
    split_windows,
)
from tracker_service.errors import InvalidMetricValue, UnknownMetricError
from tracker_service.metric_registry import load_registry, parse_registry
from tracker_service.models import Regression
from tracker_service.stats import mann_whitney_greater_p

REGISTRY = load_registry()


@pytest.mark.parametrize(
    ("model_type", "latency", "accuracy", "quality"),
    [
        ("personality", 500, 0.80, 0.80),
        ("facial", 800, 0.75, 0.78),
        ("buildings", 700, 0.72, 0.75),
        ("animals", 600, 0.75, 0.77),
        ("trees", 1000, 0.70, 0.75),  # not listed: the defaults
    ],
)
def test_seed_thresholds(model_type, latency, accuracy, quality):
    limits = REGISTRY.thresholds(model_type)
    assert (limits["latency_ms"].bound, limits["latency_ms"].limit) == ("max", latency)
    assert (limits["accuracy"].bound, limits["accuracy"].limit) == ("min", accuracy)
    assert (limits["quality"].bound, limits["quality"].limit) == ("min", quality)
    assert (limits["cost_per_token"].bound, limits["cost_per_token"].limit) == ("max", 0.01)


def test_directions_and_units():
    assert REGISTRY.get("latency_ms").direction == "lower"
    assert REGISTRY.get("latency_ms").unit == "ms"
    assert REGISTRY.get("accuracy").direction == "higher"


@pytest.mark.parametrize(
    ("metric", "value", "error", "fragment"),
    [
        ("acuracy", 0.5, UnknownMetricError, "did you mean 'accuracy'"),
        ("accuracy", float("nan"), InvalidMetricValue, "finite"),
        ("accuracy", float("inf"), InvalidMetricValue, "finite"),
        ("accuracy", "0.5", InvalidMetricValue, "needs a number"),
        ("accuracy", True, InvalidMetricValue, "needs a number"),
        ("accuracy", 1.5, InvalidMetricValue, "above its upper bound 1"),
        ("latency_ms", -1, InvalidMetricValue, "below its lower bound 0"),
    ],
)
def test_check_value_rejects_bad_input(metric, value, error, fragment):
    with pytest.raises(error, match=fragment):
        REGISTRY.check_value(metric, value)


def test_registry_data_is_checked():
    with pytest.raises(ValueError, match="direction"):
        parse_registry({"metrics": {"x": {"direction": "sideways"}}})
    with pytest.raises(ValueError, match="not a declared metric"):
        parse_registry({"metrics": {}, "thresholds": {"default": {"x": {"max": 1}}}})


def _exact_greater_p(sample, reference):
    """P(U >= observed) over every relabelling: the exact one-sided Mann-Whitney p-value."""
    pooled = np.concatenate([sample, reference])
    n1 = len(sample)

    def u_of(indices):
        chosen = pooled[list(indices)]
        rest = np.delete(pooled, list(indices))
        return sum((a > b) + 0.5 * (a == b) for a in chosen for b in rest)

    observed = u_of(range(n1))
    counts = [u_of(c) >= observed - 1e-9 for c in itertools.combinations(range(len(pooled)), n1)]
    return sum(counts) / len(counts)


@pytest.mark.parametrize("shift", [0.0, 0.5, 1.5])
def test_mann_whitney_matches_exact_test(shift):
    rng = np.random.default_rng(7)
    sample = rng.normal(shift, 1, 7)
    reference = rng.normal(0, 1, 7)
    assert mann_whitney_greater_p(sample, reference) == pytest.approx(
        _exact_greater_p(sample, reference), abs=0.03
    )


def test_mann_whitney_degenerate_inputs():
    same = np.full(10, 3.0)
    assert mann_whitney_greater_p(same, same) == 1.0
    assert mann_whitney_greater_p(np.empty(0), same) == 1.0
    assert mann_whitney_greater_p(np.arange(10.0) + 100, np.arange(10.0)) < 1e-3


def _series(base, recent, noise, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(base, noise, 100), rng.normal(recent, noise, 20)


def test_latency_increase_is_a_regression():
    baseline, recent = _series(400, 460, 15)
    result = compare_windows(
        REGISTRY.get("latency_ms"), baseline, recent, threshold=0.05, alpha=0.01
    )
    assert result.regression
    assert result.change == pytest.approx(0.15, abs=0.03)
    assert result.p_value < 1e-6


def test_latency_decrease_is_not_a_regression():
    baseline, recent = _series(400, 340, 15)
    result = compare_windows(
        REGISTRY.get("latency_ms"), baseline, recent, threshold=0.05, alpha=0.01
    )
    assert not result.regression
    assert result.change < 0  # got better


def test_accuracy_drop_is_a_regression_and_rise_is_not():
    spec = REGISTRY.get("accuracy")
    baseline, recent = _series(0.85, 0.75, 0.02)
    assert compare_windows(spec, baseline, recent, threshold=0.05, alpha=0.01).regression
    baseline, recent = _series(0.75, 0.85, 0.02)
    assert not compare_windows(spec, baseline, recent, threshold=0.05, alpha=0.01).regression


def test_noise_around_a_constant_is_never_flagged():
    # 15% noise: a 5%-change rule alone would page someone on some of these series.
    results = [
        compare_windows(
            REGISTRY.get("latency_ms"),
            *_series(400, 400, 60, seed=seed),
            threshold=0.05,
            alpha=0.01,
        )
        for seed in range(100)
    ]
    assert not any(r.regression for r in results)
    assert sum(r.change >= 0.05 for r in results) >= 5


def test_large_change_without_evidence_is_not_flagged():
    baseline = np.array([100.0, 300.0, 100.0, 300.0, 100.0, 300.0])
    recent = np.array([300.0, 100.0, 300.0, 260.0])
    result = compare_windows(
        REGISTRY.get("latency_ms"), baseline, recent, threshold=0.05, alpha=0.01
    )
    assert result.change > 0.05
    assert not result.regression
    assert "not significant" in result.note


def test_too_few_points_is_not_judged():
    result = compare_windows(
        REGISTRY.get("latency_ms"),
        np.array([1.0, 2.0]),
        np.array([50.0, 60.0, 70.0]),
        threshold=0.05,
        alpha=0.01,
    )
    assert not result.regression
    assert "at least 3" in result.note


def test_zero_baseline_counts_as_full_change():
    assert REGISTRY.get("error_rate").worse_change(0.0, 0.2) == 1.0
    assert REGISTRY.get("error_rate").worse_change(0.0, 0.0) == 0.0


def test_split_windows():
    values = np.arange(150.0)
    baseline, recent = split_windows(values, 100, 20)
    assert recent.tolist() == list(range(130, 150))
    assert baseline.tolist() == list(range(30, 130))
    baseline, recent = split_windows(np.arange(10.0), 100, 20)
    assert baseline.tolist() == [0, 1, 2, 3, 4] and recent.tolist() == [5, 6, 7, 8, 9]


def test_weakness_severity_follows_the_seed_rule():
    findings = {
        f.metric: f
        for f in judge_weaknesses(
            REGISTRY,
            "personality",
            {"latency_ms": 1200, "accuracy": 0.60, "quality": 0.70, "cost_per_token": 0.001},
            {},
        )
    }
    assert findings["latency_ms"].severity == "high"  # 1200 > 2 x 500
    assert findings["accuracy"].severity == "high"  # 0.60 < 0.8 x 0.80
    assert findings["quality"].severity == "medium"  # 0.70 >= 0.64, but < 0.80
    assert "cost_per_token" not in findings
    medium = judge_weaknesses(REGISTRY, "personality", {"latency_ms": 900}, {})
    assert medium[0].severity == "medium"


def test_weakness_names_the_failing_features_worst_first():
    breakdown = {
        "difficulty=1": {"accuracy": 0.95},
        "difficulty=5": {"accuracy": 0.40},
        "species=vampire": {"accuracy": 0.70},
    }
    [finding] = judge_weaknesses(REGISTRY, "personality", {"accuracy": 0.75}, breakdown)
    assert finding.features == ["difficulty=5", "species=vampire"]
    assert "difficulty=5" in finding.message
    # Passing overall but failing on a slice is still a (medium) weakness.
    [slice_only] = judge_weaknesses(REGISTRY, "personality", {"accuracy": 0.9}, breakdown)
    assert slice_only.severity == "medium"
    assert slice_only.features == ["difficulty=5", "species=vampire"]
    assert slice_only.value == 0.40


def _regression(metric, flagged, change=0.2):
    return Regression(
        metric=metric,
        baseline=1.0,
        recent=1.2,
        change=change,
        regression=flagged,
        direction="lower",
    )


@pytest.mark.parametrize(
    ("kwargs", "met"),
    [
        ({}, set()),
        ({"regressions": [_regression("latency_ms", True)]}, {"metric_regressed"}),
        ({"accuracy": 0.6}, {"accuracy_below_minimum"}),
        ({"new_verified_examples": 600}, {"new_verified_data"}),
        ({"current_rules_version": "2.0.0"}, {"rules_version_changed"}),
        # error_rate counts once, under its own condition, not also as "a metric regressed".
        (
            {
                "regressions": [_regression("error_rate", True)],
                "error_rate": _regression("error_rate", True),
            },
            {"error_rate_up"},
        ),
    ],
)
def test_retrain_conditions(kwargs, met):
    arguments = {
        "regressions": [],
        "error_rate": None,
        "accuracy": 0.9,
        "accuracy_minimum": 0.8,
        "new_verified_examples": 10,
        "min_new_examples": 500,
        "model_rules_version": "1.0.0",
        "current_rules_version": "1.0.0",
    } | kwargs
    conditions = retrain_conditions(**arguments)
    assert {c.name for c in conditions if c.met} == met
