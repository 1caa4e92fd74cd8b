"""What the tracker takes and returns: the same pydantic models through every client.

``EmbeddedTracker`` and ``GrpcTracker`` both return these, so callers do not care which one
they hold.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Stage = Literal["candidate", "staging", "production", "archived"]
MetricSplit = Literal["train", "validation", "heldout", "production"]
Severity = Literal["medium", "high"]
DEFAULT_SPLIT: MetricSplit = "heldout"
STAGES: tuple[str, ...] = ("candidate", "staging", "production", "archived")
SEVERITY_RANK = {"medium": 1, "high": 2}

MODEL_TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
MODEL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$"


def as_utc(value: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetricPoint(_Model):
    model_id: str = Field(min_length=1, max_length=200)
    metric: str = Field(min_length=1, max_length=100)
    # Strict so that "0.9" or True is rejected instead of silently coerced; finiteness and
    # bounds are the metric registry's job because they depend on the metric.
    value: float = Field(strict=True)
    step: int | None = Field(default=None, ge=0, strict=True)
    ts: datetime | None = Field(default=None, description="Unset: the time it is recorded.")
    split: MetricSplit = DEFAULT_SPLIT
    run_id: str | None = Field(default=None, max_length=200)

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


class RecordResult(_Model):
    written: int
    duplicate: bool = False


class ModelSpec(_Model):
    """A model version to register, with the evaluation that justifies it."""

    model_type: str = Field(pattern=MODEL_TYPE_PATTERN)
    model_id: str | None = Field(
        default=None,
        pattern=MODEL_ID_PATTERN,
        description="Unset: '<model_type>-v<version>' is assigned.",
    )
    parent_model_id: str | None = None
    training_stage: str | None = Field(default=None, max_length=50, description="sft, srl, ...")
    run_id: str | None = Field(default=None, max_length=200)
    dataset_hash: str | None = Field(default=None, max_length=128)
    rules_version: str | None = Field(default=None, max_length=100)
    git_revision: str | None = Field(default=None, max_length=100)
    artifact_uri: str | None = Field(default=None, max_length=1000)
    config: dict[str, Any] = Field(default_factory=dict)
    evaluation: dict[str, float] = Field(default_factory=dict)
    feature_breakdown: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="{'difficulty=5': {'accuracy': 0.41}, ...}: metrics per scenario feature.",
    )
    evaluation_split: MetricSplit = DEFAULT_SPLIT
    n_scenarios: int | None = Field(default=None, ge=0)


class ModelVersion(_Model):
    model_id: str
    model_type: str
    version: int
    stage: Stage
    parent_model_id: str | None = None
    training_stage: str | None = None
    run_id: str | None = None
    dataset_hash: str | None = None
    rules_version: str | None = None
    git_revision: str | None = None
    artifact_uri: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    evaluation: dict[str, float] = Field(default_factory=dict)
    created_at: datetime
    stage_changed_at: datetime
    replaced_model_id: str | None = Field(
        default=None, description="The production version this one replaced; rollback target."
    )


class StageTransition(_Model):
    id: int
    model_id: str
    model_type: str
    from_stage: Stage | None
    to_stage: Stage
    action: Literal["register", "promote", "archive", "rollback"]
    reason: str = ""
    actor: str = ""
    at: datetime


class GateComparison(_Model):
    metric: str
    candidate: float
    production: float | None
    better: bool
    worse: bool


class PromotionResult(_Model):
    model: ModelVersion
    previous: ModelVersion | None = None
    transitions: list[StageTransition] = Field(default_factory=list)
    comparisons: list[GateComparison] = Field(default_factory=list)
    changed: bool = True


class TrendBucket(_Model):
    start: datetime
    end: datetime
    count: int
    mean: float
    min: float
    max: float
    first_step: int | None = None
    last_step: int | None = None


class Trend(_Model):
    model_id: str
    metric: str
    unit: str
    direction: Literal["higher", "lower"]
    split: str | None = None
    count: int
    mean: float | None = None
    min: float | None = None
    max: float | None = None
    slope_per_day: float | None = None
    status: Literal["improving", "worsening", "flat", "insufficient data"]
    buckets: list[TrendBucket] = Field(default_factory=list)


class Regression(_Model):
    metric: str
    baseline: float | None
    recent: float | None
    change: float | None = Field(description="Relative change; positive means worse.")
    regression: bool
    p_value: float | None = None
    n_baseline: int = 0
    n_recent: int = 0
    direction: Literal["higher", "lower"]
    unit: str = ""
    note: str = ""


class Weakness(_Model):
    id: int
    model_id: str
    model_type: str
    metric: str
    value: float
    threshold: float
    bound: Literal["max", "min"]
    severity: Severity
    features: list[str] = Field(
        default_factory=list, description="Scenario features where the metric fails, worst first."
    )
    message: str
    detected_at: datetime


class RetrainCondition(_Model):
    name: Literal[
        "metric_regressed",
        "accuracy_below_minimum",
        "error_rate_up",
        "new_verified_data",
        "rules_version_changed",
    ]
    met: bool
    detail: str = ""


class RetrainTrigger(_Model):
    id: int
    model_type: str
    model_id: str
    reasons: list[str]
    status: Literal["pending", "scheduled", "done"]
    created_at: datetime


class RetrainDecision(_Model):
    fired: bool
    conditions: list[RetrainCondition]
    trigger: RetrainTrigger | None = None
