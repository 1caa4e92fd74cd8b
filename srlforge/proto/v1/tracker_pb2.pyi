import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MetricPoint(_message.Message):
    __slots__ = ("model_id", "metric", "value", "step", "ts", "split", "run_id")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TS_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    metric: str
    value: float
    step: int
    ts: _timestamp_pb2.Timestamp
    split: str
    run_id: str
    def __init__(self, model_id: _Optional[str] = ..., metric: _Optional[str] = ..., value: _Optional[float] = ..., step: _Optional[int] = ..., ts: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., split: _Optional[str] = ..., run_id: _Optional[str] = ...) -> None: ...

class RecordMetricsRequest(_message.Message):
    __slots__ = ("points", "batch_id")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedCompositeFieldContainer[MetricPoint]
    batch_id: str
    def __init__(self, points: _Optional[_Iterable[_Union[MetricPoint, _Mapping]]] = ..., batch_id: _Optional[str] = ...) -> None: ...

class RecordMetricsResponse(_message.Message):
    __slots__ = ("written", "duplicate")
    WRITTEN_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    written: int
    duplicate: bool
    def __init__(self, written: _Optional[int] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class QueryTrendRequest(_message.Message):
    __slots__ = ("model_id", "metric", "split", "since", "until", "last_n", "buckets")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    LAST_N_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    metric: str
    split: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    last_n: int
    buckets: int
    def __init__(self, model_id: _Optional[str] = ..., metric: _Optional[str] = ..., split: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_n: _Optional[int] = ..., buckets: _Optional[int] = ...) -> None: ...

class TrendBucket(_message.Message):
    __slots__ = ("start", "end", "count", "mean", "min", "max", "first_step", "last_step")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    FIRST_STEP_FIELD_NUMBER: _ClassVar[int]
    LAST_STEP_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    count: int
    mean: float
    min: float
    max: float
    first_step: int
    last_step: int
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., count: _Optional[int] = ..., mean: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., first_step: _Optional[int] = ..., last_step: _Optional[int] = ...) -> None: ...

class Trend(_message.Message):
    __slots__ = ("model_id", "metric", "unit", "direction", "split", "count", "mean", "min", "max", "slope_per_day", "status", "buckets")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    SLOPE_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    metric: str
    unit: str
    direction: str
    split: str
    count: int
    mean: float
    min: float
    max: float
    slope_per_day: float
    status: str
    buckets: _containers.RepeatedCompositeFieldContainer[TrendBucket]
    def __init__(self, model_id: _Optional[str] = ..., metric: _Optional[str] = ..., unit: _Optional[str] = ..., direction: _Optional[str] = ..., split: _Optional[str] = ..., count: _Optional[int] = ..., mean: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., slope_per_day: _Optional[float] = ..., status: _Optional[str] = ..., buckets: _Optional[_Iterable[_Union[TrendBucket, _Mapping]]] = ...) -> None: ...

class DetectRegressionsRequest(_message.Message):
    __slots__ = ("model_id", "metrics", "split", "baseline_window", "recent_window", "threshold", "alpha")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    BASELINE_WINDOW_FIELD_NUMBER: _ClassVar[int]
    RECENT_WINDOW_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    metrics: _containers.RepeatedScalarFieldContainer[str]
    split: str
    baseline_window: int
    recent_window: int
    threshold: float
    alpha: float
    def __init__(self, model_id: _Optional[str] = ..., metrics: _Optional[_Iterable[str]] = ..., split: _Optional[str] = ..., baseline_window: _Optional[int] = ..., recent_window: _Optional[int] = ..., threshold: _Optional[float] = ..., alpha: _Optional[float] = ...) -> None: ...

class Regression(_message.Message):
    __slots__ = ("metric", "baseline", "recent", "change", "regression", "p_value", "n_baseline", "n_recent", "direction", "unit", "note")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    RECENT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    REGRESSION_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    N_BASELINE_FIELD_NUMBER: _ClassVar[int]
    N_RECENT_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    metric: str
    baseline: float
    recent: float
    change: float
    regression: bool
    p_value: float
    n_baseline: int
    n_recent: int
    direction: str
    unit: str
    note: str
    def __init__(self, metric: _Optional[str] = ..., baseline: _Optional[float] = ..., recent: _Optional[float] = ..., change: _Optional[float] = ..., regression: _Optional[bool] = ..., p_value: _Optional[float] = ..., n_baseline: _Optional[int] = ..., n_recent: _Optional[int] = ..., direction: _Optional[str] = ..., unit: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class DetectRegressionsResponse(_message.Message):
    __slots__ = ("regressions",)
    REGRESSIONS_FIELD_NUMBER: _ClassVar[int]
    regressions: _containers.RepeatedCompositeFieldContainer[Regression]
    def __init__(self, regressions: _Optional[_Iterable[_Union[Regression, _Mapping]]] = ...) -> None: ...

class ListWeaknessesRequest(_message.Message):
    __slots__ = ("model_type", "model_id", "min_severity", "refresh")
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    REFRESH_FIELD_NUMBER: _ClassVar[int]
    model_type: str
    model_id: str
    min_severity: str
    refresh: bool
    def __init__(self, model_type: _Optional[str] = ..., model_id: _Optional[str] = ..., min_severity: _Optional[str] = ..., refresh: _Optional[bool] = ...) -> None: ...

class Weakness(_message.Message):
    __slots__ = ("id", "model_id", "model_type", "metric", "value", "threshold", "bound", "severity", "features", "message", "detected_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    BOUND_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    model_id: str
    model_type: str
    metric: str
    value: float
    threshold: float
    bound: str
    severity: str
    features: _containers.RepeatedScalarFieldContainer[str]
    message: str
    detected_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., model_id: _Optional[str] = ..., model_type: _Optional[str] = ..., metric: _Optional[str] = ..., value: _Optional[float] = ..., threshold: _Optional[float] = ..., bound: _Optional[str] = ..., severity: _Optional[str] = ..., features: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ..., detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListWeaknessesResponse(_message.Message):
    __slots__ = ("weaknesses",)
    WEAKNESSES_FIELD_NUMBER: _ClassVar[int]
    weaknesses: _containers.RepeatedCompositeFieldContainer[Weakness]
    def __init__(self, weaknesses: _Optional[_Iterable[_Union[Weakness, _Mapping]]] = ...) -> None: ...

class RegisterModelRequest(_message.Message):
    __slots__ = ("model_type", "model_id", "parent_model_id", "training_stage", "run_id", "dataset_hash", "rules_version", "git_revision", "artifact_uri", "config_json", "evaluation", "feature_breakdown_json", "evaluation_split", "n_scenarios")
    class EvaluationEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    TRAINING_STAGE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_HASH_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    GIT_REVISION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_URI_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    FEATURE_BREAKDOWN_JSON_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_SPLIT_FIELD_NUMBER: _ClassVar[int]
    N_SCENARIOS_FIELD_NUMBER: _ClassVar[int]
    model_type: str
    model_id: str
    parent_model_id: str
    training_stage: str
    run_id: str
    dataset_hash: str
    rules_version: str
    git_revision: str
    artifact_uri: str
    config_json: str
    evaluation: _containers.ScalarMap[str, float]
    feature_breakdown_json: str
    evaluation_split: str
    n_scenarios: int
    def __init__(self, model_type: _Optional[str] = ..., model_id: _Optional[str] = ..., parent_model_id: _Optional[str] = ..., training_stage: _Optional[str] = ..., run_id: _Optional[str] = ..., dataset_hash: _Optional[str] = ..., rules_version: _Optional[str] = ..., git_revision: _Optional[str] = ..., artifact_uri: _Optional[str] = ..., config_json: _Optional[str] = ..., evaluation: _Optional[_Mapping[str, float]] = ..., feature_breakdown_json: _Optional[str] = ..., evaluation_split: _Optional[str] = ..., n_scenarios: _Optional[int] = ...) -> None: ...

class ModelVersion(_message.Message):
    __slots__ = ("model_id", "model_type", "version", "stage", "parent_model_id", "training_stage", "run_id", "dataset_hash", "rules_version", "git_revision", "artifact_uri", "config_json", "evaluation", "created_at", "stage_changed_at", "replaced_model_id")
    class EvaluationEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    PARENT_MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    TRAINING_STAGE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_HASH_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    GIT_REVISION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_URI_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STAGE_CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    REPLACED_MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    model_type: str
    version: int
    stage: str
    parent_model_id: str
    training_stage: str
    run_id: str
    dataset_hash: str
    rules_version: str
    git_revision: str
    artifact_uri: str
    config_json: str
    evaluation: _containers.ScalarMap[str, float]
    created_at: _timestamp_pb2.Timestamp
    stage_changed_at: _timestamp_pb2.Timestamp
    replaced_model_id: str
    def __init__(self, model_id: _Optional[str] = ..., model_type: _Optional[str] = ..., version: _Optional[int] = ..., stage: _Optional[str] = ..., parent_model_id: _Optional[str] = ..., training_stage: _Optional[str] = ..., run_id: _Optional[str] = ..., dataset_hash: _Optional[str] = ..., rules_version: _Optional[str] = ..., git_revision: _Optional[str] = ..., artifact_uri: _Optional[str] = ..., config_json: _Optional[str] = ..., evaluation: _Optional[_Mapping[str, float]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stage_changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replaced_model_id: _Optional[str] = ...) -> None: ...

class StageTransition(_message.Message):
    __slots__ = ("id", "model_id", "model_type", "from_stage", "to_stage", "action", "reason", "actor", "at")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    FROM_STAGE_FIELD_NUMBER: _ClassVar[int]
    TO_STAGE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    model_id: str
    model_type: str
    from_stage: str
    to_stage: str
    action: str
    reason: str
    actor: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., model_id: _Optional[str] = ..., model_type: _Optional[str] = ..., from_stage: _Optional[str] = ..., to_stage: _Optional[str] = ..., action: _Optional[str] = ..., reason: _Optional[str] = ..., actor: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GateComparison(_message.Message):
    __slots__ = ("metric", "candidate", "production", "better", "worse")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    BETTER_FIELD_NUMBER: _ClassVar[int]
    WORSE_FIELD_NUMBER: _ClassVar[int]
    metric: str
    candidate: float
    production: float
    better: bool
    worse: bool
    def __init__(self, metric: _Optional[str] = ..., candidate: _Optional[float] = ..., production: _Optional[float] = ..., better: _Optional[bool] = ..., worse: _Optional[bool] = ...) -> None: ...

class PromoteRequest(_message.Message):
    __slots__ = ("model_id", "stage", "actor", "reason", "gate_metrics")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    GATE_METRICS_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    stage: str
    actor: str
    reason: str
    gate_metrics: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, model_id: _Optional[str] = ..., stage: _Optional[str] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., gate_metrics: _Optional[_Iterable[str]] = ...) -> None: ...

class RollbackRequest(_message.Message):
    __slots__ = ("model_type", "actor", "reason")
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model_type: str
    actor: str
    reason: str
    def __init__(self, model_type: _Optional[str] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PromotionResult(_message.Message):
    __slots__ = ("model", "previous", "transitions", "comparisons", "changed")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    COMPARISONS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    model: ModelVersion
    previous: ModelVersion
    transitions: _containers.RepeatedCompositeFieldContainer[StageTransition]
    comparisons: _containers.RepeatedCompositeFieldContainer[GateComparison]
    changed: bool
    def __init__(self, model: _Optional[_Union[ModelVersion, _Mapping]] = ..., previous: _Optional[_Union[ModelVersion, _Mapping]] = ..., transitions: _Optional[_Iterable[_Union[StageTransition, _Mapping]]] = ..., comparisons: _Optional[_Iterable[_Union[GateComparison, _Mapping]]] = ..., changed: _Optional[bool] = ...) -> None: ...

class GetProductionRequest(_message.Message):
    __slots__ = ("model_type",)
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    model_type: str
    def __init__(self, model_type: _Optional[str] = ...) -> None: ...

class GetProductionResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: ModelVersion
    def __init__(self, model: _Optional[_Union[ModelVersion, _Mapping]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("model_type", "stage", "include_audit")
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_AUDIT_FIELD_NUMBER: _ClassVar[int]
    model_type: str
    stage: str
    include_audit: bool
    def __init__(self, model_type: _Optional[str] = ..., stage: _Optional[str] = ..., include_audit: _Optional[bool] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "audit")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    AUDIT_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelVersion]
    audit: _containers.RepeatedCompositeFieldContainer[StageTransition]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelVersion, _Mapping]]] = ..., audit: _Optional[_Iterable[_Union[StageTransition, _Mapping]]] = ...) -> None: ...

class CheckRetrainTriggersRequest(_message.Message):
    __slots__ = ("model_type", "model_id", "new_verified_examples", "current_rules_version")
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_VERIFIED_EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    CURRENT_RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_type: str
    model_id: str
    new_verified_examples: int
    current_rules_version: str
    def __init__(self, model_type: _Optional[str] = ..., model_id: _Optional[str] = ..., new_verified_examples: _Optional[int] = ..., current_rules_version: _Optional[str] = ...) -> None: ...

class RetrainCondition(_message.Message):
    __slots__ = ("name", "met", "detail")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MET_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    met: bool
    detail: str
    def __init__(self, name: _Optional[str] = ..., met: _Optional[bool] = ..., detail: _Optional[str] = ...) -> None: ...

class RetrainTrigger(_message.Message):
    __slots__ = ("id", "model_type", "model_id", "reasons", "status", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    model_type: str
    model_id: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    status: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., model_type: _Optional[str] = ..., model_id: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., status: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RetrainDecision(_message.Message):
    __slots__ = ("fired", "conditions", "trigger")
    FIRED_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    fired: bool
    conditions: _containers.RepeatedCompositeFieldContainer[RetrainCondition]
    trigger: RetrainTrigger
    def __init__(self, fired: _Optional[bool] = ..., conditions: _Optional[_Iterable[_Union[RetrainCondition, _Mapping]]] = ..., trigger: _Optional[_Union[RetrainTrigger, _Mapping]] = ...) -> None: ...
