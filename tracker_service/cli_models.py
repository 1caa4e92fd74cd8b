"""``srlforge tracker models …``: list, register, promote, rollback and audit model versions."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tracker_service.cli_support import (
    DbOption,
    JsonOption,
    ModelIdOption,
    emit,
    open_tracker,
    stdout,
    table,
)
from tracker_service.errors import InvalidArgument
from tracker_service.models import ModelVersion

models_app = typer.Typer(help="The model registry: list, register, promote, rollback, audit.")


def _models_table(found: list[ModelVersion]) -> None:
    table(
        "models",
        ["model", "type", "version", "stage", "replaced", "evaluation"],
        [
            [
                m.model_id,
                m.model_type,
                m.version,
                m.stage,
                m.replaced_model_id,
                ", ".join(f"{k}={v:g}" for k, v in sorted(m.evaluation.items())),
            ]
            for m in found
        ],
    )


@models_app.callback(invoke_without_command=True)
def models(
    ctx: typer.Context,
    model_type: Annotated[str | None, typer.Option(help="Only this model type.")] = None,
    stage: Annotated[str | None, typer.Option(help="Only this stage.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List registered model versions (or run a subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    with open_tracker(db) as tracker:
        found = tracker.list_models(model_type=model_type, stage=stage)
    emit(found, as_json, lambda: _models_table(found))


@models_app.command("register")
def models_register(
    model_type: Annotated[str, typer.Option(help="personality, facial, ...")],
    model_id: Annotated[str | None, typer.Option(help="Default: <type>-v<version>.")] = None,
    evaluation: Annotated[str, typer.Option(help='JSON, e.g. {"accuracy": 0.9}.')] = "{}",
    parent: Annotated[str | None, typer.Option(help="Parent model id.")] = None,
    training_stage: Annotated[str | None, typer.Option(help="sft, srl, rlvr, ...")] = None,
    artifact_uri: Annotated[str | None, typer.Option(help="Where the weights are.")] = None,
    rules_version: Annotated[str | None, typer.Option(help="Rules version trained on.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a candidate model version with its evaluation."""
    with open_tracker(db) as tracker:
        try:
            scores = json.loads(evaluation)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(
                f"--evaluation is not JSON ({exc}); e.g. '{{\"accuracy\": 0.9}}'"
            ) from None
        model = tracker.register_model(
            model_type=model_type,
            model_id=model_id,
            evaluation=scores,
            parent_model_id=parent,
            training_stage=training_stage,
            artifact_uri=artifact_uri,
            rules_version=rules_version,
        )
    emit(model, as_json, lambda: stdout.print(f"registered {model.model_id}"))


@models_app.command("promote")
def models_promote(
    model_id: ModelIdOption,
    stage: Annotated[str, typer.Option(help="production (gated) or staging.")] = "production",
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    actor: Annotated[str, typer.Option(help="Who, for the audit trail.")] = "cli",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Promote a version; production only if it beats the current one on the gate metrics."""
    with open_tracker(db) as tracker:
        result = tracker.promote(model_id, stage=stage, actor=actor, reason=reason)
    emit(
        result,
        as_json,
        lambda: stdout.print(
            f"{result.model.model_id} is {result.model.stage}"
            + (f" (archived {result.previous.model_id})" if result.previous else "")
        ),
    )


@models_app.command("rollback")
def models_rollback(
    model_type: Annotated[str, typer.Option(help="Model type to roll back.")],
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    actor: Annotated[str, typer.Option(help="Who, for the audit trail.")] = "cli",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Restore the production version the current one replaced."""
    with open_tracker(db) as tracker:
        result = tracker.rollback(model_type, actor=actor, reason=reason)
    emit(result, as_json, lambda: stdout.print(f"{result.model.model_id} is production again"))


@models_app.command("audit")
def models_audit(
    model_type: Annotated[str | None, typer.Option(help="Only this model type.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every stage transition, oldest first."""
    with open_tracker(db) as tracker:
        trail = tracker.audit_trail(model_type)
    emit(
        trail,
        as_json,
        lambda: table(
            "audit trail",
            ["at", "model", "from", "to", "action", "actor", "reason"],
            [
                [
                    t.at.isoformat(timespec="seconds"),
                    t.model_id,
                    t.from_stage,
                    t.to_stage,
                    t.action,
                    t.actor,
                    t.reason,
                ]
                for t in trail
            ],
        ),
    )
