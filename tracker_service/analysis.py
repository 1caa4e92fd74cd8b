"""Pure analysis over numbers already read from the store: no sessions, no I/O.

Regressions compare a baseline window with a recent one and need both a relative change beyond a
threshold *and* rank-test evidence, so ordinary noise around a constant never pages anyone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tracker_service.metric_registry import MetricRegistry, MetricSpec, Threshold
from tracker_service.models import Regression, RetrainCondition, Trend, TrendBucket
from tracker_service.stats import mann_whitney_greater_p, weighted_slope

MIN_WINDOW = 3
_SECONDS_PER_DAY = 86_400.0


def split_windows(
    values: np.ndarray, baseline_n: int, recent_n: int
) -> tuple[np.ndarray, np.ndarray]:
    """``values`` oldest first → (baseline, recent): the last ``recent_n`` and the ones before.

    With too few points the baseline is whatever precedes the recent window.
    """
    recent = values[-recent_n:] if len(values) > recent_n else values[len(values) // 2 :]
    before = values[: len(values) - len(recent)]
    return before[-baseline_n:], recent


def compare_windows(
    spec: MetricSpec,
    baseline: np.ndarray,
    recent: np.ndarray,
    *,
    threshold: float,
    alpha: float,
) -> Regression:
    base = {"metric": spec.name, "direction": spec.direction, "unit": spec.unit}
    counts = {"n_baseline": len(baseline), "n_recent": len(recent)}
    if len(baseline) < MIN_WINDOW or len(recent) < MIN_WINDOW:
        return Regression(
            **base,
            **counts,
            baseline=float(baseline.mean()) if len(baseline) else None,
            recent=float(recent.mean()) if len(recent) else None,
            change=None,
            regression=False,
            note=f"need at least {MIN_WINDOW} points in each window; have "
            f"{len(baseline)} baseline and {len(recent)} recent",
        )
    baseline_mean, recent_mean = float(baseline.mean()), float(recent.mean())
    change = spec.worse_change(baseline_mean, recent_mean)
    # Orient the test so that "greater" always means "worse".
    if spec.direction == "lower":
        p_value = mann_whitney_greater_p(recent, baseline)
    else:
        p_value = mann_whitney_greater_p(-recent, -baseline)
    flagged = change >= threshold and p_value < alpha
    if flagged:
        note = f"{change:+.1%} worse, p={p_value:.2g}"
    elif change >= threshold:
        note = f"{change:+.1%} worse but not significant (p={p_value:.2g} >= {alpha})"
    else:
        note = f"{change:+.1%} (threshold {threshold:.0%} worse)"
    return Regression(
        **base,
        **counts,
        baseline=baseline_mean,
        recent=recent_mean,
        change=change,
        regression=flagged,
        p_value=p_value,
        note=note,
    )


def summarize_trend(
    spec: MetricSpec,
    model_id: str,
    split: str | None,
    buckets: Sequence[TrendBucket],
    *,
    flat_within: float,
) -> Trend:
    """Totals from the buckets, and whether the metric is improving over the window.

    ``flat_within``: a fitted change across the window smaller than this fraction of the mean
    counts as flat.
    """
    base = {
        "model_id": model_id,
        "metric": spec.name,
        "unit": spec.unit,
        "direction": spec.direction,
        "split": split,
        "buckets": list(buckets),
    }
    if not buckets:
        return Trend(**base, count=0, status="insufficient data")
    counts = np.array([b.count for b in buckets], dtype=np.float64)
    means = np.array([b.mean for b in buckets])
    total = int(counts.sum())
    mean = float((counts * means).sum() / counts.sum())
    mids = np.array([(b.start.timestamp() + b.end.timestamp()) / 2 for b in buckets])
    slope_per_s = weighted_slope(mids, means, counts)
    summary = {
        "count": total,
        "mean": mean,
        "min": min(b.min for b in buckets),
        "max": max(b.max for b in buckets),
    }
    if slope_per_s is None:
        return Trend(**base, **summary, status="insufficient data")
    span = buckets[-1].end.timestamp() - buckets[0].start.timestamp()
    fitted_change = slope_per_s * span / abs(mean) if mean else slope_per_s * span
    if abs(fitted_change) < flat_within:
        status = "flat"
    elif (fitted_change > 0) == (spec.direction == "higher"):
        status = "improving"
    else:
        status = "worsening"
    return Trend(**base, **summary, slope_per_day=slope_per_s * _SECONDS_PER_DAY, status=status)


@dataclass(frozen=True)
class WeaknessFinding:
    metric: str
    value: float
    threshold: Threshold
    severity: str
    features: list[str]
    message: str


def judge_weaknesses(
    registry: MetricRegistry,
    model_type: str,
    latest: Mapping[str, float],
    feature_breakdown: Mapping[str, Mapping[str, float]],
) -> list[WeaknessFinding]:
    """Metrics that break the model type's thresholds, with the scenario features where they fail.

    A metric that passes overall but fails on some features is still a weakness (that is where
    the adversarial generator should push), rated at most medium because it concerns a slice.
    """
    findings: list[WeaknessFinding] = []
    for metric, threshold in sorted(registry.thresholds(model_type).items()):
        failing = sorted(
            (
                (feature, values[metric])
                for feature, values in feature_breakdown.items()
                if metric in values and threshold.violated_by(values[metric])
            ),
            # worst first: highest value for a max-limit, lowest for a min-limit
            key=lambda item: -item[1] if threshold.bound == "max" else item[1],
        )
        features = [feature for feature, _ in failing]
        # "0.65 ratio" reads worse than "0.65"; only real units are printed.
        unit = registry.get(metric).unit
        unit = "" if unit == "ratio" else f" {unit}"
        relation = "above the limit" if threshold.bound == "max" else "below the minimum"
        value = latest.get(metric)
        if value is not None and threshold.violated_by(value):
            severity = registry.severity(threshold, value)
            where = f"; fails most on {', '.join(features[:3])}" if features else ""
            message = (
                f"{metric} {value:.4g}{unit} is {relation} {threshold.limit:g} for "
                f"{model_type} ({value / threshold.limit:.2f}x){where}"
            )
        elif failing:
            value = failing[0][1]
            severity = "medium"
            message = (
                f"{metric} passes overall but is {relation} {threshold.limit:g} on "
                f"{', '.join(features[:3])} (worst {value:.4g}{unit})"
            )
        else:
            continue
        findings.append(WeaknessFinding(metric, value, threshold, severity, features, message))
    return findings


def retrain_conditions(
    *,
    regressions: Sequence[Regression],
    error_rate: Regression | None,
    accuracy: float | None,
    accuracy_minimum: float | None,
    new_verified_examples: int,
    min_new_examples: int,
    model_rules_version: str | None,
    current_rules_version: str | None,
) -> list[RetrainCondition]:
    # error_rate has its own condition (with a 10% bar); counting it under "a metric regressed"
    # too would let one event satisfy two of the conditions and fire a retrain by itself.
    regressed = [r for r in regressions if r.regression and r.metric != "error_rate"]
    return [
        RetrainCondition(
            name="metric_regressed",
            met=bool(regressed),
            detail=", ".join(f"{r.metric} {r.change:+.1%}" for r in regressed if r.change)
            or "no metric regressed",
        ),
        RetrainCondition(
            name="accuracy_below_minimum",
            met=accuracy is not None
            and accuracy_minimum is not None
            and accuracy < accuracy_minimum,
            detail="no accuracy recorded"
            if accuracy is None
            else f"accuracy {accuracy:.3f} vs minimum {accuracy_minimum}",
        ),
        RetrainCondition(
            name="error_rate_up",
            met=error_rate is not None and error_rate.regression,
            detail="no error_rate recorded" if error_rate is None else error_rate.note,
        ),
        RetrainCondition(
            name="new_verified_data",
            met=new_verified_examples >= min_new_examples,
            detail=f"{new_verified_examples} new verified examples (need {min_new_examples})",
        ),
        RetrainCondition(
            name="rules_version_changed",
            met=bool(model_rules_version)
            and bool(current_rules_version)
            and model_rules_version != current_rules_version,
            detail=f"model trained on rules {model_rules_version or 'unknown'}, "
            f"current {current_rules_version or 'unknown'}",
        ),
    ]
