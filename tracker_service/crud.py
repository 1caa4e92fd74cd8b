"""Reads and writes against an open session. No validation of meaning, no transactions of its own:
callers (``registry``, ``embedded``) decide what a unit of work is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tracker_service.errors import UnknownModelError
from tracker_service.models import ModelVersion, StageTransition, Weakness
from tracker_service.orm import (
    AlertRow,
    EvaluationRow,
    ModelVersionRow,
    RegistryHead,
    StageTransitionRow,
    WeaknessRow,
    utcnow,
)


def dialect_insert(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def insert_ignoring_conflicts(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING on either backend."""
    session.execute(dialect_insert(session, table).on_conflict_do_nothing(), rows)


# --- models -----------------------------------------------------------------------------------


def get_model_row(session: Session, model_id: str) -> ModelVersionRow:
    row = session.scalar(select(ModelVersionRow).where(ModelVersionRow.model_id == model_id))
    if row is None:
        raise UnknownModelError(
            f"unknown model {model_id!r}; register it first (register_model / "
            "`srlforge tracker models register`) or check the id with `srlforge tracker models`"
        )
    return row


def model_rows(session: Session, model_ids: Iterable[str]) -> dict[str, ModelVersionRow]:
    ids = set(model_ids)
    rows = session.scalars(select(ModelVersionRow).where(ModelVersionRow.model_id.in_(ids)))
    found = {row.model_id: row for row in rows}
    missing = sorted(ids - found.keys())
    if missing:
        get_model_row(session, missing[0])  # raises with the standard message
    return found


def list_model_rows(
    session: Session, *, model_type: str | None, stage: str | None
) -> list[ModelVersionRow]:
    query = select(ModelVersionRow).order_by(ModelVersionRow.model_type, ModelVersionRow.version)
    if model_type:
        query = query.where(ModelVersionRow.model_type == model_type)
    if stage:
        query = query.where(ModelVersionRow.stage == stage)
    return list(session.scalars(query))


def production_row(session: Session, model_type: str) -> ModelVersionRow | None:
    return session.scalar(
        select(ModelVersionRow).where(
            ModelVersionRow.model_type == model_type, ModelVersionRow.stage == "production"
        )
    )


def lock_head(session: Session, model_type: str) -> RegistryHead:
    """The model type's registry row, created if needed and locked until the transaction ends.

    PostgreSQL takes a row lock (SELECT ... FOR UPDATE), so concurrent promotions of one type
    queue here; SQLite ignores FOR UPDATE but write transactions there start with BEGIN
    IMMEDIATE, which already serializes them.
    """
    insert_ignoring_conflicts(
        session,
        RegistryHead.__table__,  # type: ignore[arg-type]
        [{"model_type": model_type, "last_version": 0, "updated_at": utcnow()}],
    )
    return session.scalars(
        select(RegistryHead)
        .where(RegistryHead.model_type == model_type)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def latest_evaluations(session: Session, model_ids: Sequence[str]) -> dict[str, EvaluationRow]:
    newest = (
        select(func.max(EvaluationRow.id))
        .where(EvaluationRow.model_id.in_(model_ids))
        .group_by(EvaluationRow.model_id)
    )
    rows = session.scalars(select(EvaluationRow).where(EvaluationRow.id.in_(newest)))
    return {row.model_id: row for row in rows}


def to_model_version(row: ModelVersionRow, evaluation: EvaluationRow | None) -> ModelVersion:
    return ModelVersion(
        model_id=row.model_id,
        model_type=row.model_type,
        version=row.version,
        stage=row.stage,  # type: ignore[arg-type]
        parent_model_id=row.parent_model_id,
        training_stage=row.training_stage,
        run_id=row.run_id,
        dataset_hash=row.dataset_hash,
        rules_version=row.rules_version,
        git_revision=row.git_revision,
        artifact_uri=row.artifact_uri,
        config=row.config or {},
        evaluation=dict(evaluation.metrics) if evaluation else {},
        created_at=row.created_at,
        stage_changed_at=row.stage_changed_at,
        replaced_model_id=row.replaced_model_id,
    )


def model_versions(session: Session, rows: Sequence[ModelVersionRow]) -> list[ModelVersion]:
    evaluations = latest_evaluations(session, [row.model_id for row in rows])
    return [to_model_version(row, evaluations.get(row.model_id)) for row in rows]


def add_transition(
    session: Session,
    row: ModelVersionRow,
    to_stage: str,
    *,
    action: str,
    actor: str,
    reason: str,
    at: datetime,
) -> StageTransitionRow:
    transition = StageTransitionRow(
        model_id=row.model_id,
        model_type=row.model_type,
        from_stage=None if action == "register" else row.stage,
        to_stage=to_stage,
        action=action,
        actor=actor,
        reason=reason,
        at=at,
    )
    row.stage = to_stage
    row.stage_changed_at = at
    session.add(transition)
    # Flush each move on its own: the one-production-per-type unique index must see the old
    # production archived before the new one is promoted.
    session.flush()
    return transition


def to_transition(row: StageTransitionRow) -> StageTransition:
    return StageTransition(
        id=row.id,
        model_id=row.model_id,
        model_type=row.model_type,
        from_stage=row.from_stage,  # type: ignore[arg-type]
        to_stage=row.to_stage,  # type: ignore[arg-type]
        action=row.action,  # type: ignore[arg-type]
        reason=row.reason,
        actor=row.actor,
        at=row.at,
    )


def audit_trail(session: Session, model_type: str | None) -> list[StageTransition]:
    query = select(StageTransitionRow).order_by(StageTransitionRow.id)
    if model_type:
        query = query.where(StageTransitionRow.model_type == model_type)
    return [to_transition(row) for row in session.scalars(query)]


# --- weaknesses and alerts --------------------------------------------------------------------


def to_weakness(row: WeaknessRow) -> Weakness:
    return Weakness(
        id=row.id,
        model_id=row.model_id,
        model_type=row.model_type,
        metric=row.metric,
        value=row.value,
        threshold=row.threshold,
        bound=row.bound,  # type: ignore[arg-type]
        severity=row.severity,  # type: ignore[arg-type]
        features=list(row.features or []),
        message=row.message,
        detected_at=row.detected_at,
    )


def resolve_open_weaknesses(session: Session, model_id: str, at: datetime) -> None:
    session.execute(
        update(WeaknessRow)
        .where(WeaknessRow.model_id == model_id, WeaknessRow.status == "open")
        .values(status="resolved", resolved_at=at)
    )


def open_weaknesses(
    session: Session, *, model_type: str | None, model_ids: Sequence[str] | None
) -> list[WeaknessRow]:
    query = select(WeaknessRow).where(WeaknessRow.status == "open").order_by(WeaknessRow.id)
    if model_type:
        query = query.where(WeaknessRow.model_type == model_type)
    if model_ids is not None:
        query = query.where(WeaknessRow.model_id.in_(model_ids))
    return list(session.scalars(query))


def raise_alert(
    session: Session, *, model_id: str, kind: str, metric: str, severity: str, message: str
) -> bool:
    """Open an alert unless one is already open for the same model, kind and metric."""
    existing = session.scalar(
        select(AlertRow.id).where(
            AlertRow.model_id == model_id,
            AlertRow.kind == kind,
            AlertRow.metric == metric,
            AlertRow.status == "open",
        )
    )
    if existing is not None:
        return False
    session.add(
        AlertRow(model_id=model_id, kind=kind, metric=metric, severity=severity, message=message)
    )
    return True
