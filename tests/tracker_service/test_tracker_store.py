"""Metrics store and analysis through ``EmbeddedTracker``, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from tracker_service import timeseries
from tracker_service.errors import (
    InvalidArgument,
    InvalidMetricValue,
    UnknownMetricError,
    UnknownModelError,
)
from tracker_service.models import MetricPoint
from tracker_service.orm import IngestBatchRow, MetricPointRow, MetricSeriesRow

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _count(tracker, table=MetricPointRow):
    with tracker.db.reading() as session:
        return session.scalar(select(func.count()).select_from(table))


def _series(model_id, metric, values, *, start=0, split="heldout"):
    return [
        MetricPoint(
            model_id=model_id,
            metric=metric,
            value=float(v),
            step=start + i,
            ts=T0 + timedelta(minutes=start + i),
            split=split,
        )
        for i, v in enumerate(values)
    ]


@pytest.fixture
def model(tracker):
    return tracker.register_model(model_type="personality", rules_version="1.0.0")


def test_record_and_trend_round_trip(tracker, model):
    values = np.linspace(400, 500, 100)
    result = tracker.record_metrics(_series(model.model_id, "latency_ms", values))
    assert result.written == 100
    trend = tracker.query_trend(model.model_id, "latency_ms", buckets=4, last_n=0)
    assert trend.count == 100
    assert trend.mean == pytest.approx(values.mean())
    assert (trend.min, trend.max) == (400, 500)
    assert [b.count for b in trend.buckets] == [25, 25, 25, 25]
    assert trend.buckets[0].first_step == 0 and trend.buckets[-1].last_step == 99
    assert trend.buckets[0].mean == pytest.approx(values[:25].mean())
    assert trend.status == "worsening"  # latency going up
    assert trend.slope_per_day == pytest.approx(100 / 99 * 60 * 24, rel=0.05)


def test_trend_window_and_split(tracker, model):
    tracker.record_metrics(_series(model.model_id, "accuracy", [0.5] * 50))
    tracker.record_metrics(_series(model.model_id, "accuracy", [0.9] * 50, start=50))
    tracker.record_metrics(_series(model.model_id, "accuracy", [0.1] * 10, split="train"))
    newest = tracker.query_trend(model.model_id, "accuracy", last_n=50, split="heldout")
    assert newest.count == 50 and newest.mean == pytest.approx(0.9)
    since = tracker.query_trend(
        model.model_id, "accuracy", split="heldout", since=T0 + timedelta(minutes=40)
    )
    assert since.count == 60
    everything = tracker.query_trend(model.model_id, "accuracy", last_n=0)
    assert everything.count == 110
    assert everything.status == "improving"
    empty = tracker.query_trend(model.model_id, "quality")
    assert empty.count == 0 and empty.status == "insufficient data"


def test_range_trends_read_rollups_and_stay_exact(tracker, model, monkeypatch):
    rng = np.random.default_rng(5)
    seconds = np.sort(rng.choice(3 * 3600, 1500, replace=False))  # irregular, 3 hours
    values = rng.random(1500)
    steps = [None if i % 5 == 0 else i for i in range(1500)]
    points = [
        MetricPoint(model_id=model.model_id, metric="quality", value=float(v), step=step,
                    ts=T0 + timedelta(seconds=int(s)))
        for s, v, step in zip(seconds, values, steps, strict=True)
    ]  # fmt: skip
    # Interleaved batches: most minutes are rolled up by two separate upserts.
    tracker.record_metrics(points[::2])
    tracker.record_metrics(points[1::2])

    def no_raw(*_args, **_kwargs):
        raise AssertionError("a long range must be served from the rollups")

    monkeypatch.setattr(timeseries, "_raw_buckets", no_raw)
    at = [T0 + timedelta(seconds=s) for s in (95.5, 7337.25, 61, 10739)]
    for since, until in [(None, None), (at[0], None), (None, at[1]), (at[2], at[3])]:
        trend = tracker.query_trend(
            model.model_id, "quality", since=since, until=until, last_n=0, buckets=20
        )
        lo = -np.inf if since is None else (since - T0).total_seconds()
        hi = np.inf if until is None else (until - T0).total_seconds()
        inside = (seconds >= lo) & (seconds <= hi)
        assert trend.count == inside.sum()
        assert sum(b.count for b in trend.buckets) == trend.count
        assert trend.mean == pytest.approx(values[inside].mean())
        assert (trend.min, trend.max) == (values[inside].min(), values[inside].max())
        in_steps = [st for st, keep in zip(steps, inside, strict=True) if keep and st is not None]
        assert trend.buckets[0].first_step == min(in_steps)
        assert trend.buckets[-1].last_step == max(in_steps)
        assert trend.buckets[0].start == T0 + timedelta(seconds=int(seconds[inside][0]))
        assert 10 <= len(trend.buckets) <= 20


def test_short_range_falls_back_to_points(tracker, model):
    values = np.linspace(0.2, 0.8, 30)
    points = [
        MetricPoint(model_id=model.model_id, metric="quality", value=float(v),
                    ts=T0 + timedelta(seconds=2 * i))
        for i, v in enumerate(values)
    ]  # fmt: skip
    tracker.record_metrics(points)
    trend = tracker.query_trend(model.model_id, "quality", since=T0, buckets=6)
    assert [b.count for b in trend.buckets] == [5] * 6  # finer than the one-minute rollups
    assert trend.mean == pytest.approx(values.mean())


def test_batch_id_makes_recording_idempotent(tracker, model):
    points = _series(model.model_id, "accuracy", [0.8, 0.81])
    assert tracker.record_metrics(points, batch_id="b-1").written == 2
    again = tracker.record_metrics(points, batch_id="b-1")
    assert again.written == 0 and again.duplicate
    assert _count(tracker) == 2


@pytest.mark.parametrize(
    ("bad_point", "error", "fragment"),
    [
        ({"metric": "acuracy", "value": 0.5}, UnknownMetricError, "did you mean 'accuracy'"),
        ({"metric": "accuracy", "value": float("nan")}, InvalidMetricValue, "finite"),
        ({"metric": "accuracy", "value": "high"}, InvalidMetricValue, "valid number"),
        ({"metric": "accuracy", "value": 7.0}, InvalidMetricValue, "upper bound"),
        ({"metric": "accuracy", "value": 0.5, "model_id": "ghost"}, UnknownModelError, "ghost"),
        ({"metric": "accuracy", "value": 0.5, "split": "test"}, InvalidArgument, "split"),
        ({"metric": "accuracy", "value": 0.5, "step": -1}, InvalidArgument, "step"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(tracker, model, bad_point, error, fragment):
    good = {"model_id": model.model_id, "metric": "accuracy", "value": 0.9}
    batch = [good, good, {"model_id": model.model_id} | bad_point]
    with pytest.raises(error, match=fragment) as raised:
        tracker.record_metrics(batch, batch_id="must-not-stick")
    if error is not UnknownModelError:
        assert "point 2" in str(raised.value)
    assert _count(tracker) == 0
    assert _count(tracker, IngestBatchRow) == 0
    assert _count(tracker, MetricSeriesRow) == 0
    # The batch id was not consumed, so the corrected batch goes through.
    assert tracker.record_metrics([good, good], batch_id="must-not-stick").written == 2


def test_known_series_regressions_through_the_store(tracker, model):
    rng = np.random.default_rng(1)
    mid = model.model_id
    tracker.record_metrics(
        _series(mid, "latency_ms", np.r_[rng.normal(400, 12, 100), rng.normal(470, 12, 20)])
        + _series(mid, "accuracy", np.r_[rng.normal(0.86, 0.01, 100), rng.normal(0.76, 0.01, 20)])
        + _series(mid, "quality", np.r_[rng.normal(0.8, 0.03, 100), rng.normal(0.8, 0.03, 20)])
        + _series(
            mid, "cost_per_token", np.r_[rng.normal(0.004, 2e-4, 100), rng.normal(0.003, 2e-4, 20)]
        )
    )
    found = {r.metric: r for r in tracker.detect_regressions(mid)}
    assert found["latency_ms"].regression  # latency up
    assert found["accuracy"].regression  # accuracy down
    assert not found["quality"].regression  # noise around a constant
    assert not found["cost_per_token"].regression  # cost down is an improvement
    assert found["latency_ms"].n_baseline == 100 and found["latency_ms"].n_recent == 20
    only = tracker.detect_regressions(mid, metrics=["quality"], threshold=0.5)
    assert [r.metric for r in only] == ["quality"]


def test_regression_arguments_are_checked(tracker, model):
    with pytest.raises(UnknownMetricError):
        tracker.detect_regressions(model.model_id, metrics=["latency"])
    with pytest.raises(InvalidArgument, match="recent_window"):
        tracker.detect_regressions(model.model_id, recent_window=1)
    with pytest.raises(UnknownModelError):
        tracker.detect_regressions("ghost")


def test_weaknesses_carry_severity_and_features(tracker):
    model = tracker.register_model(
        model_type="facial",
        evaluation={"accuracy": 0.70, "latency_ms": 1700, "quality": 0.9},
        feature_breakdown={"emotion=fear": {"accuracy": 0.4}, "emotion=joy": {"accuracy": 0.95}},
    )
    tracker.promote(model.model_id)
    found = {w.metric: w for w in tracker.list_weaknesses(model_type="facial", refresh=True)}
    assert set(found) == {"accuracy", "latency_ms"}
    assert found["latency_ms"].severity == "high"  # 1700 > 2 x 800
    assert found["accuracy"].severity == "medium"  # 0.70 >= 0.8 x 0.75
    assert found["accuracy"].features == ["emotion=fear"]
    assert found["accuracy"].model_id == model.model_id
    assert [w.metric for w in tracker.list_weaknesses(min_severity="high")] == ["latency_ms"]
    # Better recent numbers resolve the model-level weaknesses on the next detection; the
    # evaluated slice that still fails stays, as a medium one.
    recent = [
        {"model_id": model.model_id, "metric": m, "value": v}
        for m, v in [("latency_ms", 300.0), ("accuracy", 0.9)]
        for _ in range(20)
    ]
    tracker.record_metrics(recent)
    [left] = tracker.detect_weaknesses(model.model_id)
    assert (left.metric, left.severity, left.features) == ("accuracy", "medium", ["emotion=fear"])
    assert [w.id for w in tracker.list_weaknesses(model_type="facial")] == [left.id]


def test_retrain_trigger_fires_on_two_conditions_once(tracker, model):
    calm = tracker.check_retrain_triggers(
        "personality", model_id=model.model_id, new_verified_examples=600
    )
    assert not calm.fired and calm.trigger is None  # one condition is not enough
    decision = tracker.check_retrain_triggers(
        "personality",
        model_id=model.model_id,
        new_verified_examples=600,
        current_rules_version="2.0.0",
    )
    assert decision.fired
    assert decision.trigger.reasons == ["new_verified_data", "rules_version_changed"]
    assert decision.trigger.status == "pending"
    again = tracker.check_retrain_triggers(
        "personality",
        model_id=model.model_id,
        new_verified_examples=900,
        current_rules_version="2.0.0",
    )
    assert again.trigger.id == decision.trigger.id  # one pending trigger per model


def test_retrain_on_error_rate_and_accuracy(tracker, model):
    rng = np.random.default_rng(3)
    tracker.record_metrics(
        _series(
            model.model_id,
            "error_rate",
            np.r_[rng.normal(0.05, 0.004, 100), rng.normal(0.08, 0.004, 20)],
        )
        + _series(model.model_id, "accuracy", [0.7] * 20)
    )
    decision = tracker.check_retrain_triggers("personality", model_id=model.model_id)
    assert {c.name for c in decision.conditions if c.met} == {
        "error_rate_up",
        "accuracy_below_minimum",
    }
    assert decision.fired


def test_retrain_needs_a_model(tracker, model):
    with pytest.raises(InvalidArgument, match="no production version"):
        tracker.check_retrain_triggers("animals")
    with pytest.raises(InvalidArgument, match="not animals"):
        tracker.check_retrain_triggers("animals", model_id=model.model_id)
