"""``/v1/rules``: list the rule set versions a tenant sees; upload a new one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from gateway.deps import GatewayState, State, Tenant
from gateway.idempotency import HEADER, idempotent
from gateway.orm import RuleUploadRow
from gateway.routes.arena import default_rules_version
from gateway.schemas import (
    RulesList,
    RulesUploadInfo,
    RulesUploadRequest,
    RulesUploadResult,
    RuleVersionInfo,
)

router = APIRouter(prefix="/rules", tags=["rules"])


def _info(row: RuleUploadRow) -> dict[str, Any]:
    return RulesUploadInfo(
        upload_id=row.id,
        version=row.version,
        identity=row.identity,
        content_hash=row.content_hash,
        base_identity=row.base_identity,
        files=row.files,
        affected_model_types=row.affected_model_types,
        retrain=row.retrain,
        created_at=row.created_at,
    ).model_dump(mode="json")


@router.get("", response_model=RulesList)
def list_rules(state: State, principal: Tenant) -> RulesList:
    versions = []
    for rv in state.rules.versions(principal):
        rules = state.rules.load(rv)
        versions.append(
            RuleVersionInfo(
                version=rv.version,
                identity=rules.identity,
                content_hash=rules.content_hash,
                scope=rv.scope,
                upload_id=rv.upload_id,
                sources={f"{name}.yaml": tables for name, tables in rules.sources().items()},
            )
        )
    default = state.rules.resolve(principal, None, default_rules_version())
    return RulesList(default=default.identity, versions=versions)


@router.post(
    "",
    status_code=201,
    response_model=RulesUploadResult,
    responses={
        200: {"description": "This version already exists with the same content."},
        409: {"description": "The version exists with other content, or is built in."},
        422: {"description": "Malformed rule data; the message names the file and path."},
    },
)
def upload_rules(
    body: RulesUploadRequest,
    state: State,
    principal: Tenant,
    idempotency_key: Annotated[str | None, Header(alias=HEADER)] = None,
) -> JSONResponse:
    """Validate and store a new rule set version; its content hash becomes its identity.

    For each model type whose rules changed, the tracker is asked for a retrain trigger (it
    fires when a second retrain condition also holds); the answer is kept with the upload.
    """

    def run() -> tuple[int, dict[str, Any]]:
        outcome = state.rules.upload(
            principal, body.version, body.files, body.base_version, default_rules_version()
        )
        row = outcome.row
        if outcome.created:
            row = state.rules.record_retrain(row.id, _retrain(state, row))
        result = {
            **_info(row),
            "validated_model_types": outcome.validated,
            "not_validated": outcome.not_validated,
        }
        return (201 if outcome.created else 200), result

    return idempotent(
        state.db, principal, idempotency_key, "POST /v1/rules", body.model_dump(), run
    )


def _retrain(state: GatewayState, row: RuleUploadRow) -> dict[str, Any]:
    types = row.affected_model_types
    if not state.settings.retrain_on_rules_upload or not state.tracker.enabled:
        why = (
            "retrain_on_rules_upload is off"
            if not state.settings.retrain_on_rules_upload
            else "no tracker configured"
        )
        return {m: {"status": "recorded only", "detail": why} for m in types}
    return state.tracker.retrain_for_rules(types, row.identity)


@router.get("/uploads", response_model=list[RulesUploadInfo])
def list_uploads(state: State, principal: Tenant) -> list[dict[str, Any]]:
    return [_info(row) for row in state.rules.upload_rows(principal)]


@router.get("/uploads/{upload_id}", response_model=RulesUploadInfo)
def get_upload(upload_id: str, state: State, principal: Tenant) -> dict[str, Any]:
    return _info(state.rules.upload_row(principal, upload_id))
