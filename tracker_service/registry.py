"""The model registry: register, promote (gated), rollback. Each runs inside one write transaction
that the caller opens, after locking the model type's ``registry_heads`` row, so two promotions
of the same type never interleave and every stage change leaves an audit row.

Stages: candidate → staging → production → archived. Promotion to production archives the
current production version and remembers it in ``replaced_model_id``; rollback walks that chain
back one step, so repeated rollbacks restore older and older versions.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker_service import crud
from tracker_service.errors import (
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NothingToRollBack,
    PromotionRefused,
)
from tracker_service.metric_registry import MetricRegistry
from tracker_service.models import GateComparison, ModelSpec, PromotionResult
from tracker_service.orm import EvaluationRow, ModelVersionRow, Run, utcnow

# Fields that identify what a registration *is*; re-registering the same id with the same values
# is a harmless retry, with different values a conflict.
_IDENTITY_FIELDS = (
    "model_type",
    "parent_model_id",
    "training_stage",
    "run_id",
    "dataset_hash",
    "rules_version",
    "git_revision",
    "artifact_uri",
    "config",
)


def validate_spec(spec: ModelSpec, registry: MetricRegistry) -> None:
    """Check every evaluation number against the metric registry before anything is written."""
    for metric, value in spec.evaluation.items():
        registry.check_value(metric, value)
    for feature, values in spec.feature_breakdown.items():
        for metric, value in values.items():
            try:
                registry.check_value(metric, value)
            except InvalidArgument as exc:
                raise type(exc)(f"feature_breakdown[{feature!r}]: {exc}") from exc


def register(session: Session, spec: ModelSpec, registry: MetricRegistry) -> ModelVersionRow:
    """Insert a candidate version (or return the identical one already registered)."""
    validate_spec(spec, registry)
    head = crud.lock_head(session, spec.model_type)
    if spec.model_id is not None:
        existing = _find(session, spec.model_id)
        if existing is not None:
            _check_same_registration(session, existing, spec)
            return existing
    version = head.last_version + 1
    model_id = spec.model_id or f"{spec.model_type}-v{version}"
    if spec.model_id is None and _find(session, model_id) is not None:
        raise Conflict(f"generated id {model_id!r} is taken; pass model_id explicitly")
    now = utcnow()
    if spec.run_id is not None and session.get(Run, spec.run_id) is None:
        session.add(
            Run(
                run_id=spec.run_id,
                config=spec.config,
                rules_version=spec.rules_version,
                dataset_hash=spec.dataset_hash,
                git_revision=spec.git_revision,
                created_at=now,
            )
        )
        session.flush()  # no ORM relationship orders it before the model row that refers to it
    head.last_version = version
    head.updated_at = now
    row = ModelVersionRow(
        model_id=model_id,
        version=version,
        stage="candidate",
        created_at=now,
        stage_changed_at=now,
        **{field: getattr(spec, field) for field in _IDENTITY_FIELDS},
    )
    session.add(row)
    session.flush()
    crud.add_transition(
        session, row, "candidate", action="register", actor="", reason="registered", at=now
    )
    if spec.evaluation or spec.feature_breakdown:
        session.add(
            EvaluationRow(
                model_id=model_id,
                split=spec.evaluation_split,
                metrics=dict(spec.evaluation),
                feature_breakdown={k: dict(v) for k, v in spec.feature_breakdown.items()},
                n_scenarios=spec.n_scenarios,
                created_at=now,
            )
        )
    return row


def _find(session: Session, model_id: str) -> ModelVersionRow | None:
    return session.scalar(select(ModelVersionRow).where(ModelVersionRow.model_id == model_id))


def _check_same_registration(session: Session, row: ModelVersionRow, spec: ModelSpec) -> None:
    differs = [f for f in _IDENTITY_FIELDS if getattr(row, f) != getattr(spec, f)]
    evaluation = crud.latest_evaluations(session, [row.model_id]).get(row.model_id)
    if spec.evaluation and (evaluation is None or evaluation.metrics != spec.evaluation):
        differs.append("evaluation")
    if differs:
        raise Conflict(
            f"model {row.model_id!r} is already registered with different "
            f"{', '.join(differs)}; register the new model under a new model_id"
        )


def compare_on_gate(
    registry: MetricRegistry,
    gate_metrics: Sequence[str],
    candidate: dict[str, float],
    production: dict[str, float] | None,
) -> list[GateComparison]:
    comparisons = []
    for metric in gate_metrics:
        spec = registry.get(metric)
        if metric not in candidate:
            if production is None:
                continue
            raise PromotionRefused(
                f"candidate has no evaluation value for gate metric {metric!r}; register it "
                f"with evaluation={{{metric!r}: ...}} or drop the metric from the gate"
            )
        ours = candidate[metric]
        theirs = None if production is None else production.get(metric)
        comparisons.append(
            GateComparison(
                metric=metric,
                candidate=ours,
                production=theirs,
                better=theirs is not None and spec.is_better(ours, theirs),
                worse=theirs is not None and spec.is_better(theirs, ours),
            )
        )
    return comparisons


def beats(comparisons: Sequence[GateComparison]) -> bool:
    """No worse on every metric evaluated on both sides, and better on at least one."""
    compared = [c for c in comparisons if c.production is not None]
    return any(c.better for c in compared) and not any(c.worse for c in compared)


def promote(
    session: Session,
    registry: MetricRegistry,
    model_id: str,
    *,
    stage: str,
    gate_metrics: Sequence[str],
    actor: str,
    reason: str,
) -> PromotionResult:
    if stage not in ("staging", "production"):
        raise InvalidArgument(f"stage {stage!r}: promote to 'staging' or 'production'")
    model_type = crud.get_model_row(session, model_id).model_type
    head = crud.lock_head(session, model_type)
    # Re-read under the lock: another promotion may have moved this model meanwhile.
    session.expire_all()
    row = crud.get_model_row(session, model_id)
    if row.stage == stage:
        return PromotionResult(model=crud.model_versions(session, [row])[0], changed=False)
    if row.stage == "archived" or (row.stage == "production" and stage == "staging"):
        raise FailedPrecondition(
            f"model {model_id!r} is {row.stage}; it cannot move to {stage} (use rollback to "
            "restore an earlier production version, or register a new version)"
        )
    now = utcnow()
    if stage == "staging":
        moved = crud.add_transition(
            session, row, "staging", action="promote", actor=actor, reason=reason, at=now
        )
        result = crud.model_versions(session, [row])[0]
        return PromotionResult(model=result, transitions=[crud.to_transition(moved)])

    current = crud.production_row(session, model_type)
    ids = [model_id] + ([current.model_id] if current else [])
    evaluations = {m: e.metrics for m, e in crud.latest_evaluations(session, ids).items()}
    comparisons = compare_on_gate(
        registry,
        gate_metrics,
        evaluations.get(model_id, {}),
        evaluations.get(current.model_id, {}) if current else None,
    )
    if current is not None and not beats(comparisons):
        shown = "; ".join(
            f"{c.metric} {c.candidate:g} vs {'-' if c.production is None else f'{c.production:g}'}"
            for c in comparisons
        )
        raise PromotionRefused(
            f"{model_id!r} does not beat production {current.model_id!r} on the gate "
            f"({', '.join(gate_metrics)}): {shown or 'no gate metric evaluated on both'}; it "
            "must be no worse on every gate metric and better on at least one"
        )

    transitions = []
    if current is not None:
        transitions.append(
            crud.add_transition(
                session,
                current,
                "archived",
                action="archive",
                actor=actor,
                reason=f"replaced by {model_id}",
                at=now,
            )
        )
        row.replaced_model_id = current.model_id
    transitions.append(
        crud.add_transition(
            session, row, "production", action="promote", actor=actor, reason=reason, at=now
        )
    )
    head.updated_at = now
    return _result(session, row, current, transitions, comparisons)


def rollback(session: Session, model_type: str, *, actor: str, reason: str) -> PromotionResult:
    head = crud.lock_head(session, model_type)
    session.expire_all()
    current = crud.production_row(session, model_type)
    if current is None:
        raise NothingToRollBack(f"model type {model_type!r} has no production version")
    if current.replaced_model_id is None:
        raise NothingToRollBack(
            f"{current.model_id!r} is the first production version of {model_type!r}; there is "
            "no earlier version to restore"
        )
    target = crud.get_model_row(session, current.replaced_model_id)
    now = utcnow()
    why = reason or f"rollback from {current.model_id}"
    transitions = [
        crud.add_transition(
            session, current, "archived", action="rollback", actor=actor, reason=why, at=now
        ),
        crud.add_transition(
            session, target, "production", action="rollback", actor=actor, reason=why, at=now
        ),
    ]
    head.updated_at = now
    return _result(session, target, current, transitions, [])


def _result(
    session: Session,
    row: ModelVersionRow,
    previous: ModelVersionRow | None,
    transitions: list,
    comparisons: list[GateComparison],
) -> PromotionResult:
    versions = crud.model_versions(session, [row] + ([previous] if previous else []))
    return PromotionResult(
        model=versions[0],
        previous=versions[1] if previous else None,
        transitions=[crud.to_transition(t) for t in transitions],
        comparisons=comparisons,
    )
