from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GenerateTrajectoriesRequest(_message.Message):
    __slots__ = ("request_id", "model_type", "species", "n", "teacher", "strategy", "seed", "difficulties", "weaknesses_json", "failed_scenario_ids", "model")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    SPECIES_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    TEACHER_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    DIFFICULTIES_FIELD_NUMBER: _ClassVar[int]
    WEAKNESSES_JSON_FIELD_NUMBER: _ClassVar[int]
    FAILED_SCENARIO_IDS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    model_type: str
    species: str
    n: int
    teacher: str
    strategy: str
    seed: int
    difficulties: _containers.RepeatedScalarFieldContainer[int]
    weaknesses_json: _containers.RepeatedScalarFieldContainer[str]
    failed_scenario_ids: _containers.RepeatedScalarFieldContainer[str]
    model: str
    def __init__(self, request_id: _Optional[str] = ..., model_type: _Optional[str] = ..., species: _Optional[str] = ..., n: _Optional[int] = ..., teacher: _Optional[str] = ..., strategy: _Optional[str] = ..., seed: _Optional[int] = ..., difficulties: _Optional[_Iterable[int]] = ..., weaknesses_json: _Optional[_Iterable[str]] = ..., failed_scenario_ids: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ...) -> None: ...

class GenerateProgress(_message.Message):
    __slots__ = ("request_id", "status", "round", "attempted", "requested", "kept", "failed", "duplicates", "message", "done", "dataset_uri", "manifest_uri", "dataset_hash", "failure_reasons", "rules_version")
    class FailureReasonsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTED_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_FIELD_NUMBER: _ClassVar[int]
    KEPT_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    DATASET_URI_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_URI_FIELD_NUMBER: _ClassVar[int]
    DATASET_HASH_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASONS_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    status: str
    round: int
    attempted: int
    requested: int
    kept: int
    failed: int
    duplicates: int
    message: str
    done: bool
    dataset_uri: str
    manifest_uri: str
    dataset_hash: str
    failure_reasons: _containers.ScalarMap[str, int]
    rules_version: str
    def __init__(self, request_id: _Optional[str] = ..., status: _Optional[str] = ..., round: _Optional[int] = ..., attempted: _Optional[int] = ..., requested: _Optional[int] = ..., kept: _Optional[int] = ..., failed: _Optional[int] = ..., duplicates: _Optional[int] = ..., message: _Optional[str] = ..., done: _Optional[bool] = ..., dataset_uri: _Optional[str] = ..., manifest_uri: _Optional[str] = ..., dataset_hash: _Optional[str] = ..., failure_reasons: _Optional[_Mapping[str, int]] = ..., rules_version: _Optional[str] = ...) -> None: ...

class VerifyTrajectoryRequest(_message.Message):
    __slots__ = ("trajectory_json", "scenario_json", "steps_json")
    TRAJECTORY_JSON_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_JSON_FIELD_NUMBER: _ClassVar[int]
    STEPS_JSON_FIELD_NUMBER: _ClassVar[int]
    trajectory_json: str
    scenario_json: str
    steps_json: str
    def __init__(self, trajectory_json: _Optional[str] = ..., scenario_json: _Optional[str] = ..., steps_json: _Optional[str] = ...) -> None: ...

class VerifyTrajectoryResponse(_message.Message):
    __slots__ = ("success", "outcome_reward", "keep", "reject_reason", "episode_verdict_json", "step_verdicts_json", "rules_version")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_REWARD_FIELD_NUMBER: _ClassVar[int]
    KEEP_FIELD_NUMBER: _ClassVar[int]
    REJECT_REASON_FIELD_NUMBER: _ClassVar[int]
    EPISODE_VERDICT_JSON_FIELD_NUMBER: _ClassVar[int]
    STEP_VERDICTS_JSON_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    success: bool
    outcome_reward: float
    keep: bool
    reject_reason: str
    episode_verdict_json: str
    step_verdicts_json: _containers.RepeatedScalarFieldContainer[str]
    rules_version: str
    def __init__(self, success: _Optional[bool] = ..., outcome_reward: _Optional[float] = ..., keep: _Optional[bool] = ..., reject_reason: _Optional[str] = ..., episode_verdict_json: _Optional[str] = ..., step_verdicts_json: _Optional[_Iterable[str]] = ..., rules_version: _Optional[str] = ...) -> None: ...

class GetRulesRequest(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: str
    def __init__(self, version: _Optional[str] = ...) -> None: ...

class GetRulesResponse(_message.Message):
    __slots__ = ("identity", "version", "content_hash", "sources", "files", "available_versions")
    class SourcesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    identity: str
    version: str
    content_hash: str
    sources: _containers.ScalarMap[str, str]
    files: _containers.RepeatedScalarFieldContainer[str]
    available_versions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, identity: _Optional[str] = ..., version: _Optional[str] = ..., content_hash: _Optional[str] = ..., sources: _Optional[_Mapping[str, str]] = ..., files: _Optional[_Iterable[str]] = ..., available_versions: _Optional[_Iterable[str]] = ...) -> None: ...

class GetLoreBundleRequest(_message.Message):
    __slots__ = ("species", "model_type", "scenario_json", "query", "top_k")
    SPECIES_FIELD_NUMBER: _ClassVar[int]
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_JSON_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    species: str
    model_type: str
    scenario_json: str
    query: str
    top_k: int
    def __init__(self, species: _Optional[str] = ..., model_type: _Optional[str] = ..., scenario_json: _Optional[str] = ..., query: _Optional[str] = ..., top_k: _Optional[int] = ...) -> None: ...

class GetLoreBundleResponse(_message.Message):
    __slots__ = ("bundle_json", "rules_version", "disagreements", "unverifiable")
    BUNDLE_JSON_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    DISAGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    UNVERIFIABLE_FIELD_NUMBER: _ClassVar[int]
    bundle_json: str
    rules_version: str
    disagreements: _containers.RepeatedScalarFieldContainer[str]
    unverifiable: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, bundle_json: _Optional[str] = ..., rules_version: _Optional[str] = ..., disagreements: _Optional[_Iterable[str]] = ..., unverifiable: _Optional[_Iterable[str]] = ...) -> None: ...
