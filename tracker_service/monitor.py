"""Monitoring steps that read or write inside a caller's session: regression windows, the values
weaknesses are judged on, persisting weaknesses, and recording a retrain trigger once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker_service import crud, timeseries
from tracker_service.analysis import (
    WeaknessFinding,
    compare_windows,
    retrain_conditions,
    split_windows,
)
from tracker_service.metric_registry import MetricRegistry
from tracker_service.models import Regression, RetrainCondition, RetrainTrigger, Weakness
from tracker_service.orm import ModelVersionRow, RetrainTriggerRow, WeaknessRow, utcnow
from tracker_service.settings import TrackerSettings
from tracker_service.validation import JUDGED_SPLITS


def regression_for(
    session: Session,
    metrics: MetricRegistry,
    row: ModelVersionRow,
    metric: str,
    splits: Sequence[str],
    *,
    baseline_window: int,
    recent_window: int,
    threshold: float,
    alpha: float,
) -> Regression:
    """Compare the metric's newest ``recent_window`` points with the ``baseline_window`` before."""
    series = timeseries.find_series(session, row.id, metric, splits)
    values = (
        timeseries.newest_values(session, series, baseline_window + recent_window)
        if series
        else np.empty(0)
    )
    baseline, recent = split_windows(values, baseline_window, recent_window)
    return compare_windows(metrics.get(metric), baseline, recent, threshold=threshold, alpha=alpha)


def judged_means(
    session: Session,
    row: ModelVersionRow,
    metric_names: Iterable[str],
    splits: Sequence[str],
    window: int,
) -> dict[str, float]:
    """Mean of each metric's newest ``window`` points; metrics never recorded are left out."""
    means = {}
    for metric in metric_names:
        series = timeseries.find_series(session, row.id, metric, splits)
        values = timeseries.newest_values(session, series, window) if series else np.empty(0)
        if len(values):
            means[metric] = float(values.mean())
    return means


def replace_weaknesses(
    session: Session, row: ModelVersionRow, findings: Sequence[WeaknessFinding]
) -> list[Weakness]:
    """Resolve the model's open weaknesses and open the new findings; high ones also alert."""
    now = utcnow()
    crud.resolve_open_weaknesses(session, row.model_id, now)
    rows = [
        WeaknessRow(
            model_id=row.model_id,
            model_type=row.model_type,
            metric=f.metric,
            value=f.value,
            threshold=f.threshold.limit,
            bound=f.threshold.bound,
            severity=f.severity,
            features=f.features,
            message=f.message,
            status="open",
            detected_at=now,
        )
        for f in findings
    ]
    session.add_all(rows)
    for f in findings:
        if f.severity == "high":
            crud.raise_alert(
                session,
                model_id=row.model_id,
                kind="weakness",
                metric=f.metric,
                severity="high",
                message=f.message,
            )
    session.flush()
    return [crud.to_weakness(r) for r in rows]


def retrain_conditions_for(
    session: Session,
    metrics: MetricRegistry,
    settings: TrackerSettings,
    row: ModelVersionRow,
    *,
    new_verified_examples: int,
    current_rules_version: str | None,
) -> list[RetrainCondition]:
    """Judge every retrain condition for the model from its non-training metrics."""
    regressions = [
        regression_for(
            session,
            metrics,
            row,
            metric,
            JUDGED_SPLITS,
            baseline_window=settings.baseline_window,
            recent_window=settings.recent_window,
            # error_rate has its own, higher bar (10%); other metrics the regression threshold.
            threshold=settings.retrain_error_rate_rise
            if metric == "error_rate"
            else settings.regression_threshold,
            alpha=settings.regression_alpha,
        )
        for metric in timeseries.series_metrics(session, row.id, JUDGED_SPLITS)
    ]
    accuracy_minimum = metrics.thresholds(row.model_type).get("accuracy")
    accuracy = judged_means(
        session, row, ["accuracy"], JUDGED_SPLITS, settings.weakness_window
    ).get("accuracy")
    return retrain_conditions(
        regressions=regressions,
        error_rate=next((r for r in regressions if r.metric == "error_rate"), None),
        accuracy=accuracy,
        accuracy_minimum=accuracy_minimum.limit if accuracy_minimum else None,
        new_verified_examples=new_verified_examples,
        min_new_examples=settings.retrain_min_new_examples,
        model_rules_version=row.rules_version,
        current_rules_version=current_rules_version,
    )


def record_trigger(
    session: Session, model_type: str, model_id: str, conditions: Sequence[RetrainCondition]
) -> RetrainTrigger:
    """The model's pending trigger, created from ``conditions`` when there is none yet."""
    crud.lock_head(session, model_type)  # one pending trigger per model, even when racing
    trigger = session.scalar(
        select(RetrainTriggerRow).where(
            RetrainTriggerRow.model_id == model_id, RetrainTriggerRow.status == "pending"
        )
    )
    if trigger is None:
        trigger = RetrainTriggerRow(
            model_type=model_type,
            model_id=model_id,
            reasons=[c.name for c in conditions if c.met],
            conditions=[c.model_dump() for c in conditions],
            status="pending",
            created_at=utcnow(),
        )
        session.add(trigger)
        session.flush()
    return RetrainTrigger(
        id=trigger.id,
        model_type=trigger.model_type,
        model_id=trigger.model_id,
        reasons=list(trigger.reasons),
        status=trigger.status,  # type: ignore[arg-type]
        created_at=trigger.created_at,
    )
