"""``/v1/models``: the tracker's model registry (list, production, audit, promote, rollback) and
``POST /v1/models:select``, which ranks candidate models for a job.

The registry is one per deployment: the tracker has no tenants, and the production version of a
model type is the one every tenant's traffic is served by. So reads are open to every tenant,
and promote/rollback, which change what everyone is served, are reserved to the tenants listed
in ``SRLFORGE_GATEWAY_REGISTRY_ADMIN_TENANTS`` (403 for the others). The tenant and key id are
the actor in the tracker's audit trail.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from gateway.deps import State, Tenant
from gateway.keys import Principal
from gateway.schemas import AuditTrail, ModelList, PromoteRequest, RollbackRequest
from gateway.selection import NoCandidates, SelectRequest, SelectResponse, select_models
from gateway.settings import GatewaySettings
from gateway.tracker_answers import tracker_answers
from tracker_service.models import (
    MODEL_ID_PATTERN,
    MODEL_TYPE_PATTERN,
    ModelVersion,
    PromotionResult,
)

router = APIRouter(tags=["models"])

ModelType = Annotated[
    str, Path(pattern=MODEL_TYPE_PATTERN, description="A lowercase slug, e.g. facial.")
]
ModelTypeFilter = Annotated[
    str | None, Query(pattern=MODEL_TYPE_PATTERN, description="Only this model type.")
]
_REFUSED = {
    403: {"description": "The tenant is not a registry admin."},
    404: {"description": "No such model id."},
    409: {"description": "The tracker refused: the gate, the model's stage, nothing to restore."},
    503: {"description": "No tracker configured, or it does not answer."},
}


@router.post("/models:select", response_model=SelectResponse)
def select(body: SelectRequest, state: State, principal: Tenant) -> SelectResponse:
    """Weighted multi-criteria ranking (capability, responsibility match, cost, latency).

    The weights come from the SRLFORGE_GATEWAY_SELECT_WEIGHT_* settings. Candidates are the
    request's, or, when it gives none, the tracker's registered (non-archived) versions.
    """
    if body.candidates is not None:
        return select_models(body, body.candidates, state.settings, source="request")
    if not state.tracker.enabled:
        raise NoCandidates(
            "no candidates given and no tracker configured (SRLFORGE_GATEWAY_TRACKER=off); "
            "pass 'candidates'"
        )
    candidates = state.tracker.candidates(body.model_type)
    return select_models(body, candidates, state.settings, source="tracker")


@router.get("/models", response_model=ModelList)
def list_models(
    state: State,
    principal: Tenant,
    model_type: ModelTypeFilter = None,
    stage: Annotated[
        Literal["candidate", "staging", "production", "archived"] | None,
        Query(description="Only versions in this stage."),
    ] = None,
) -> ModelList:
    """Registered model versions (the whole deployment's registry), with their evaluation."""
    client = state.tracker.client()
    with tracker_answers():
        return ModelList(models=client.list_models(model_type=model_type, stage=stage))


@router.get(
    "/models/production/{model_type}",
    response_model=ModelVersion,
    responses={404: {"description": "The model type has no production version."}},
)
def production_model(model_type: ModelType, state: State, principal: Tenant) -> ModelVersion:
    """The version of ``model_type`` now in production."""
    client = state.tracker.client()
    with tracker_answers():
        version = client.get_production(model_type)
    if version is None:
        raise HTTPException(
            404,
            detail=f"model type {model_type!r} has no production version; promote one with "
            "POST /v1/models/{model_id}:promote",
        )
    return version


@router.get("/models/audit", response_model=AuditTrail)
def audit_trail(state: State, principal: Tenant, model_type: ModelTypeFilter = None) -> AuditTrail:
    """Every stage transition (register, promote, archive, rollback) with actor and reason."""
    client = state.tracker.client()
    with tracker_answers():
        return AuditTrail(transitions=client.audit_trail(model_type))


def _require_admin(settings: GatewaySettings, principal: Principal) -> str:
    """The audit actor for a registry change; 403 unless the tenant is a registry admin."""
    if principal.tenant not in settings.registry_admin_tenants:
        raise HTTPException(
            403,
            detail=f"tenant {principal.tenant!r} may not change the model registry: it is "
            "shared by the whole deployment; an operator can list the tenant in "
            "SRLFORGE_GATEWAY_REGISTRY_ADMIN_TENANTS",
        )
    return f"tenant:{principal.tenant} key:{principal.key_id}"


@router.post("/models/{model_id:path}:promote", response_model=PromotionResult, responses=_REFUSED)
def promote(
    model_id: Annotated[str, Path(pattern=MODEL_ID_PATTERN, description="A registered id.")],
    body: PromoteRequest,
    state: State,
    principal: Tenant,
) -> PromotionResult:
    """Promote a version to staging, or to production if it beats the current production
    version on the tracker's gate metrics (409 with the comparison if not). Promoting a
    version to the stage it is in answers ``changed: false``."""
    actor = _require_admin(state.settings, principal)
    client = state.tracker.client()
    with tracker_answers():
        return client.promote(model_id, stage=body.stage, actor=actor, reason=body.reason)


@router.post("/models/{model_type}:rollback", response_model=PromotionResult, responses=_REFUSED)
def rollback(
    model_type: ModelType, body: RollbackRequest, state: State, principal: Tenant
) -> PromotionResult:
    """Archive the production version of ``model_type`` and restore the one it replaced (409
    when there is none)."""
    actor = _require_admin(state.settings, principal)
    client = state.tracker.client()
    with tracker_answers():
        return client.rollback(model_type, actor=actor, reason=body.reason)
