"""Request and response bodies of the public API. Requests reject unknown fields (422)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from srlforge.schema import EpisodeVerdict, Scenario, StepVerdict
from tracker_service.models import ModelVersion, Regression, StageTransition, Weakness

SEMVER_PATTERN = r"^\d+\.\d+\.\d+$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class VerifyRequest(Strict):
    scenario: Scenario = Field(description="As returned by GET /v1/arena/{model_type}/sample.")
    steps: list[Any] = Field(
        max_length=256,
        description='Each a {"think", "action", "expected_state_delta"?} object or the raw '
        "completion text <think>…</think><action>{json}</action>.",
    )


class VerifyResponse(BaseModel):
    model_type: str
    rules_version: str
    steps: list[StepVerdict]
    episode: EpisodeVerdict


class SampleResponse(BaseModel):
    scenario: Scenario
    action_schema: dict[str, Any]


class RewardRequest(Strict):
    example: dict[str, Any] = Field(
        description="The dataset example; carries the scenario (see the endpoint description)."
    )
    response: Any = Field(description="The model's sampled response (text, Content or steps).")
    metadata: dict[str, Any] = Field(default_factory=dict)


class RewardResponse(BaseModel):
    reward: float = Field(ge=-1.0, le=1.0)


class RuleVersionInfo(BaseModel):
    version: str
    identity: str
    content_hash: str
    scope: str = Field(description="builtin, operator or tenant (uploaded by this tenant).")
    upload_id: str | None = None
    sources: dict[str, dict[str, str]] = Field(
        description="Per rule file, per table: the cited source of the data."
    )


class RulesList(BaseModel):
    default: str = Field(description="Identity of the rule set used when none is named.")
    versions: list[RuleVersionInfo]


class RulesUploadRequest(Strict):
    version: str = Field(pattern=SEMVER_PATTERN, description="Semantic version, e.g. 1.1.0.")
    files: dict[str, str] = Field(
        min_length=1,
        max_length=32,
        description="<name>.yaml -> YAML text. Files not given are taken from base_version.",
    )
    base_version: str | None = Field(
        default=None, pattern=SEMVER_PATTERN, description="Default: the tenant's default set."
    )


class RulesUploadInfo(BaseModel):
    upload_id: str
    version: str
    identity: str
    content_hash: str
    base_identity: str | None
    files: dict[str, dict[str, Any]]
    affected_model_types: list[str]
    retrain: dict[str, Any] = Field(
        description="Per affected model type: what the tracker answered, or why it was not "
        "asked (then the change is recorded here only)."
    )
    created_at: datetime


class RulesUploadResult(RulesUploadInfo):
    validated_model_types: list[str]
    not_validated: dict[str, str]


# --- the model registry and metrics (read through the tracker) -----------------------------------


class _Reasoned(Strict):
    reason: str = Field(
        min_length=1,
        max_length=1000,
        description="Why; stored in the tracker's audit trail with the calling tenant as actor.",
    )

    @field_validator("reason")
    @classmethod
    def _stated(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("reason is blank; say why, e.g. 'beats v3 on held-out accuracy'")
        # PostgreSQL text cannot hold NUL; refused here rather than failing in the tracker.
        if "\x00" in value:
            raise ValueError("reason contains a NUL character; remove it")
        return value


class PromoteRequest(_Reasoned):
    stage: Literal["staging", "production"] = Field(
        default="production",
        description="production: only if the model beats the current production version on "
        "the tracker's gate metrics (else 409 with the comparison).",
    )


class RollbackRequest(_Reasoned):
    pass


class ModelList(BaseModel):
    models: list[ModelVersion] = Field(description="By model type, then version.")


class AuditTrail(BaseModel):
    transitions: list[StageTransition] = Field(description="Oldest first.")


class RegressionReport(BaseModel):
    model_id: str
    regressions: list[Regression] = Field(
        description="One entry per metric examined; `regression` marks the flagged ones."
    )


class WeaknessList(BaseModel):
    weaknesses: list[Weakness]
