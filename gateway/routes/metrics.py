"""``/v1/metrics/series``, ``/v1/regressions``, ``/v1/weaknesses``: the tracker's metric analysis.

Like the registry (see ``routes/models.py``), the tracker's metrics are one per deployment and
readable by every tenant. Detecting regressions opens an alert per flagged metric and
``refresh=true`` re-judges weaknesses; both are derived from stored points and idempotent, so
they stay GETs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import StringConstraints

from gateway.deps import State, Tenant
from gateway.schemas import RegressionReport, WeaknessList
from gateway.tracker_answers import tracker_answers
from tracker_service.models import MODEL_ID_PATTERN, MODEL_TYPE_PATTERN, Trend, as_utc
from tracker_service.validation import MAX_BUCKETS

router = APIRouter(tags=["metrics"])

METRIC_PATTERN = r"^[a-z][a-z0-9_]{0,99}$"
MetricName = Annotated[str, StringConstraints(pattern=METRIC_PATTERN)]
Split = Literal["train", "validation", "heldout", "production"]
ModelId = Annotated[str, Query(pattern=MODEL_ID_PATTERN, description="A registered model id.")]
SplitFilter = Annotated[Split | None, Query(description="Only this split (default: all).")]
_ANSWERS = {
    404: {"description": "No such model id."},
    422: {"description": "A malformed parameter, or a metric the tracker does not declare."},
    503: {"description": "No tracker configured, or it does not answer."},
}


@router.get("/metrics/series", response_model=Trend, responses=_ANSWERS)
def metric_series(
    state: State,
    principal: Tenant,
    model_id: ModelId,
    metric: Annotated[MetricName, Query(description="A declared metric, e.g. accuracy.")],
    split: SplitFilter = None,
    since: Annotated[datetime | None, Query(description="ISO 8601; naive means UTC.")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601; naive means UTC.")] = None,
    last_n: Annotated[
        int | None,
        Query(
            ge=0,
            le=10_000_000,
            description="The newest N points of the window; 0: all. Default: the tracker's "
            "trend window, or all when since/until is given.",
        ),
    ] = None,
    buckets: Annotated[
        int, Query(ge=1, le=MAX_BUCKETS, description="Equal-time buckets to aggregate into.")
    ] = 50,
) -> Trend:
    """One metric of one model over time: count, mean, min, max, slope per day, a status
    (improving, worsening, flat) that knows whether higher is better, and the bucketed series."""
    since, until = _in_utc("since", since), _in_utc("until", until)
    if since is not None and until is not None and since > until:
        raise HTTPException(422, detail="since is after until; swap them or drop one")
    client = state.tracker.client()
    with tracker_answers():
        return client.query_trend(
            model_id,
            metric,
            split=split,
            since=since,
            until=until,
            last_n=last_n,
            buckets=buckets,
        )


@router.get("/regressions", response_model=RegressionReport, responses=_ANSWERS)
def regressions(
    state: State,
    principal: Tenant,
    model_id: ModelId,
    metric: Annotated[
        list[MetricName] | None,
        Query(
            max_length=50,
            description="Repeat for several; default: every metric the model has points for.",
        ),
    ] = None,
    split: SplitFilter = None,
    baseline_window: Annotated[
        int | None, Query(ge=3, le=100_000, description="Points in the baseline window.")
    ] = None,
    recent_window: Annotated[
        int | None, Query(ge=3, le=100_000, description="Points in the recent window.")
    ] = None,
    threshold: Annotated[
        float | None,
        Query(gt=0, le=100, allow_inf_nan=False, description="Minimum relative worsening."),
    ] = None,
    alpha: Annotated[
        float | None,
        Query(gt=0, lt=1, allow_inf_nan=False, description="One-sided p-value required."),
    ] = None,
) -> RegressionReport:
    """Baseline window against recent window per metric (direction-aware, Mann-Whitney
    evidence); defaults are the tracker's settings. Each flagged metric opens an alert."""
    client = state.tracker.client()
    with tracker_answers():
        found = client.detect_regressions(
            model_id,
            metrics=metric or None,
            split=split,
            baseline_window=baseline_window,
            recent_window=recent_window,
            threshold=threshold,
            alpha=alpha,
        )
    return RegressionReport(model_id=model_id, regressions=found)


@router.get("/weaknesses", response_model=WeaknessList, responses=_ANSWERS)
def weaknesses(
    state: State,
    principal: Tenant,
    model_type: Annotated[
        str | None, Query(pattern=MODEL_TYPE_PATTERN, description="Only this model type.")
    ] = None,
    model_id: Annotated[
        str | None, Query(pattern=MODEL_ID_PATTERN, description="Only this model.")
    ] = None,
    min_severity: Annotated[
        Literal["medium", "high"] | None, Query(description="Leave out milder ones.")
    ] = None,
    refresh: Annotated[
        bool,
        Query(
            description="Re-judge first (model_id, or the production versions) against the "
            "thresholds of tracker_service/metrics.yaml."
        ),
    ] = False,
) -> WeaknessList:
    """Open weaknesses: metrics over their model type's thresholds, with the scenario features
    where they fail, worst first."""
    client = state.tracker.client()
    with tracker_answers():
        return WeaknessList(
            weaknesses=client.list_weaknesses(
                model_type=model_type,
                model_id=model_id,
                min_severity=min_severity,
                refresh=refresh,
            )
        )


def _in_utc(name: str, value: datetime | None) -> datetime | None:
    """``value`` in UTC (naive taken as UTC); 422 when UTC cannot represent it (year 0 or
    10000, e.g. 0001-01-01T00:00+14:00)."""
    if value is None:
        return None
    try:
        return as_utc(value)
    except OverflowError:
        raise HTTPException(
            422,
            detail=f"{name} falls outside the years 1-9999 once converted to UTC; give a time "
            "within them",
        ) from None
