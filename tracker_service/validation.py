"""Input checks shared by the embedded tracker and the gRPC servicer.

They raise domain errors (``InvalidArgument`` and subclasses) whose messages say what to change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from tracker_service.errors import InvalidArgument, InvalidMetricValue
from tracker_service.models import MODEL_TYPE_PATTERN, MetricPoint, MetricSplit, ModelSpec

SPLITS: tuple[str, ...] = MetricSplit.__args__  # type: ignore[attr-defined]
# Training-split numbers flatter a model; weaknesses and triggers judge it on everything else.
JUDGED_SPLITS = tuple(s for s in SPLITS if s != "train")
MAX_BUCKETS = 1000


def validation_message(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in err['loc']) or 'input'}: {err['msg']}"
        for err in exc.errors()
    )


def coerce_points(points: Iterable[MetricPoint | Mapping[str, Any]]) -> list[MetricPoint]:
    """MetricPoints from points or plain mappings; a bad one raises naming its index."""
    parsed = []
    for index, raw in enumerate(points):
        if isinstance(raw, MetricPoint):
            parsed.append(raw)
            continue
        if not isinstance(raw, Mapping):
            raise InvalidArgument(
                f"point {index}: expected a MetricPoint or a mapping, got {type(raw).__name__}"
            )
        try:
            parsed.append(MetricPoint.model_validate(raw))
        except ValidationError as exc:
            on_value = any(err["loc"][:1] == ("value",) for err in exc.errors())
            error = InvalidMetricValue if on_value else InvalidArgument
            raise error(f"point {index}: {validation_message(exc)}") from None
    return parsed


def check_split(split: str | None) -> None:
    if split is not None and split not in SPLITS:
        raise InvalidArgument(f"split {split!r} is not one of {', '.join(SPLITS)}")


def check_at_least(name: str, value: int | float | None, minimum: float) -> None:
    if value is not None and value < minimum:
        raise InvalidArgument(f"{name}={value} is too small; it must be at least {minimum}")


def check_model_type(model_type: str) -> None:
    if not re.fullmatch(MODEL_TYPE_PATTERN, model_type or ""):
        raise InvalidArgument(
            f"model type {model_type!r} is not a lowercase slug like 'personality' or 'facial'"
        )


def model_spec(spec: ModelSpec | None, fields: Mapping[str, Any]) -> ModelSpec:
    """``register_model``'s argument: a ModelSpec, or keyword fields to build one from."""
    if spec is not None:
        if fields:
            raise InvalidArgument("pass either a ModelSpec or keyword fields, not both")
        return spec
    try:
        return ModelSpec(**fields)
    except ValidationError as exc:
        raise InvalidArgument(f"model spec: {validation_message(exc)}") from None


def check_regression_window(
    baseline_window: int | None,
    recent_window: int | None,
    threshold: float | None,
    alpha: float | None,
) -> None:
    check_at_least("baseline_window", baseline_window, 3)
    check_at_least("recent_window", recent_window, 3)
    if threshold is not None and not threshold > 0:
        raise InvalidArgument(f"threshold={threshold} must be a positive fraction, e.g. 0.05")
    if alpha is not None and not 0 < alpha < 1:
        raise InvalidArgument(f"alpha={alpha} must lie strictly between 0 and 1")
