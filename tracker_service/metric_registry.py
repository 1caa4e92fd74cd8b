"""The metric registry: which metrics exist, which way is better, and per-model-type thresholds.

The data lives in ``metrics.yaml`` next to this module; this file only loads and checks it.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from tracker_service.errors import InvalidMetricValue, UnknownMetricError

Direction = Literal["higher", "lower"]
Bound = Literal["max", "min"]

REGISTRY_PATH = Path(__file__).with_name("metrics.yaml")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    direction: Direction
    unit: str
    description: str = ""
    lower_bound: float | None = None
    upper_bound: float | None = None

    def worse_change(self, baseline: float, recent: float) -> float:
        """Relative change in the *worse* direction (positive = got worse), vs ``baseline``.

        A zero baseline has no scale; any move away from it counts as 100% (an error rate going
        from 0 to anything is a full regression, and the value stays JSON-safe, unlike inf).
        """
        delta = recent - baseline if self.direction == "lower" else baseline - recent
        if baseline == 0:
            return math.copysign(1.0, delta) if delta else 0.0
        return delta / abs(baseline)

    def is_better(self, candidate: float, reference: float) -> bool:
        return candidate < reference if self.direction == "lower" else candidate > reference


@dataclass(frozen=True)
class Threshold:
    metric: str
    bound: Bound
    limit: float

    def violated_by(self, value: float) -> bool:
        return value > self.limit if self.bound == "max" else value < self.limit


@dataclass(frozen=True)
class MetricRegistry:
    metrics: dict[str, MetricSpec]
    thresholds_by_type: dict[str, dict[str, Threshold]]
    high_above_max_factor: float = 2.0
    high_below_min_factor: float = 0.8

    def get(self, name: str) -> MetricSpec:
        spec = self.metrics.get(name)
        if spec is None:
            close = difflib.get_close_matches(name, list(self.metrics), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UnknownMetricError(
                f"unknown metric {name!r}; {hint}declared metrics are "
                f"{', '.join(sorted(self.metrics))} (add new ones to {REGISTRY_PATH.name})"
            )
        return spec

    def thresholds(self, model_type: str) -> dict[str, Threshold]:
        """The type's thresholds layered over ``default``."""
        merged = dict(self.thresholds_by_type.get("default", {}))
        merged.update(self.thresholds_by_type.get(model_type, {}))
        return merged

    def severity(self, threshold: Threshold, value: float) -> str:
        if threshold.bound == "max":
            high = value > threshold.limit * self.high_above_max_factor
        else:
            high = value < threshold.limit * self.high_below_min_factor
        return "high" if high else "medium"

    def check_value(self, name: str, value: Any) -> float:
        """Return ``value`` as a float if it is a finite number inside the metric's bounds."""
        spec = self.get(name)
        # bool is an int subclass; a True latency is a caller bug, not 1 ms.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidMetricValue(
                f"metric {name!r} needs a number, got {type(value).__name__} {value!r}"
            )
        number = float(value)
        if not math.isfinite(number):
            raise InvalidMetricValue(
                f"metric {name!r} got {number!r}; values must be finite (drop the point or "
                "record the failure as error_rate instead)"
            )
        if spec.lower_bound is not None and number < spec.lower_bound:
            raise InvalidMetricValue(
                f"metric {name!r} got {number!r}, below its lower bound {spec.lower_bound} "
                f"({spec.unit})"
            )
        if spec.upper_bound is not None and number > spec.upper_bound:
            raise InvalidMetricValue(
                f"metric {name!r} got {number!r}, above its upper bound {spec.upper_bound} "
                f"({spec.unit})"
            )
        return number


def parse_registry(raw: dict[str, Any]) -> MetricRegistry:
    """Build a registry from the YAML structure, rejecting anything inconsistent."""
    metrics: dict[str, MetricSpec] = {}
    for name, entry in (raw.get("metrics") or {}).items():
        direction = entry.get("direction")
        if direction not in ("higher", "lower"):
            raise ValueError(f"metric {name!r}: direction must be 'higher' or 'lower'")
        metrics[name] = MetricSpec(
            name=name,
            direction=direction,
            unit=str(entry.get("unit", "")),
            description=str(entry.get("description", "")),
            lower_bound=entry.get("lower_bound"),
            upper_bound=entry.get("upper_bound"),
        )
    thresholds: dict[str, dict[str, Threshold]] = {}
    for model_type, entries in (raw.get("thresholds") or {}).items():
        per_type: dict[str, Threshold] = {}
        for metric, limit in entries.items():
            if metric not in metrics:
                raise ValueError(f"thresholds.{model_type}: {metric!r} is not a declared metric")
            if len(limit) != 1 or next(iter(limit)) not in ("max", "min"):
                raise ValueError(f"thresholds.{model_type}.{metric}: give exactly one of max/min")
            bound, value = next(iter(limit.items()))
            per_type[metric] = Threshold(metric=metric, bound=bound, limit=float(value))
        thresholds[model_type] = per_type
    severity = raw.get("severity") or {}
    return MetricRegistry(
        metrics=metrics,
        thresholds_by_type=thresholds,
        high_above_max_factor=float(severity.get("high_above_max_factor", 2.0)),
        high_below_min_factor=float(severity.get("high_below_min_factor", 0.8)),
    )


@lru_cache(maxsize=4)
def load_registry(path: Path = REGISTRY_PATH) -> MetricRegistry:
    return parse_registry(yaml.safe_load(path.read_text(encoding="utf-8")))
