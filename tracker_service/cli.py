"""``srlforge tracker …``: the tracker from the command line.

Every command takes ``--db URL`` (default: ``$SRLFORGE_TRACKER_DB_URL`` or the embedded SQLite
file, which migrates itself on first use). With ``--json`` only JSON goes to stdout. Errors go to
stderr: exit code 2 for bad input (unknown metric or model, invalid value), 1 for everything else
(a refused promotion, an unmigrated or unreachable database).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from tracker_service.cli_models import models_app
from tracker_service.cli_support import (
    DbOption,
    JsonOption,
    ModelIdOption,
    emit,
    fail,
    open_tracker,
    stderr,
    stdout,
    table,
)
from tracker_service.db import safe_url
from tracker_service.db import upgrade as upgrade_db
from tracker_service.errors import (
    InvalidArgument,
    TrackerError,
    UnknownModelError,
)
from tracker_service.settings import get_settings
from tracker_service.validation import coerce_points

app = typer.Typer(
    help="Metrics, model registry, regressions, weaknesses, retrain triggers.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(models_app, name="models")


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port (0 = any free port).")] = None,
    workers: Annotated[int | None, typer.Option(help="gRPC worker threads.")] = None,
) -> None:
    """Serve the gRPC TrackerService (with health checking) until SIGTERM."""
    from tracker_service.grpc_server import serve as run_server  # grpc only when serving

    settings = get_settings()
    try:
        run_server(
            db,
            host=host or settings.grpc_host,
            port=settings.grpc_port if port is None else port,
            max_workers=workers or settings.grpc_workers,
            on_ready=lambda bound: stderr.print(f"tracker listening on port {bound}"),
        )
    except TrackerError as exc:
        fail(exc)


@app.command()
def migrate(
    db: DbOption = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
    as_json: JsonOption = False,
) -> None:
    """Create or upgrade the tracker schema (Alembic); safe to run again."""
    url = db or get_settings().resolved_db_url()
    try:
        at = upgrade_db(url, revision)
    except (SQLAlchemyError, CommandError) as exc:
        stderr.print(
            f"[bold red]error:[/] migrating {safe_url(url)} failed: {exc}", highlight=False
        )
        raise typer.Exit(1) from None
    emit(
        {"db": safe_url(url), "revision": at},
        as_json,
        lambda: stdout.print(f"{safe_url(url)} is at revision {at}", highlight=False),
    )


@app.command()
def record(
    model_id: ModelIdOption,
    metric: Annotated[str, typer.Option(help="Metric name from the metric registry.")],
    value: Annotated[float, typer.Option(help="The value (finite, within the metric's bounds).")],
    step: Annotated[int | None, typer.Option(help="Training step.")] = None,
    model_type: Annotated[
        str | None,
        typer.Option(help="Check the model is of this type; registers it if it is unknown."),
    ] = None,
    split: Annotated[str, typer.Option(help="train, validation, heldout or production.")] = (
        "heldout"
    ),
    ts: Annotated[datetime | None, typer.Option(help="Timestamp (default: now).")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record one metric point."""
    with open_tracker(db) as tracker:
        point = {
            "model_id": model_id,
            "metric": metric,
            "value": value,
            "step": step,
            "split": split,
            "ts": ts,
        }
        # Check the point before registering anything, so bad input writes nothing.
        [checked] = coerce_points([point])
        tracker.metrics.check_value(metric, value)
        try:
            known = tracker.get_model(model_id)
        except UnknownModelError:
            if model_type is None:
                raise UnknownModelError(
                    f"unknown model {model_id!r}; pass --model-type to register it as a "
                    "candidate, or use `srlforge tracker models register`"
                ) from None
            known = tracker.register_model(model_type=model_type, model_id=model_id)
        if model_type is not None and known.model_type != model_type:
            raise InvalidArgument(
                f"model {model_id!r} is a {known.model_type} model, not {model_type}"
            )
        result = tracker.record_metrics([checked])
    emit(result, as_json, lambda: stdout.print(f"recorded {result.written} point(s)"))


@app.command()
def trend(
    model_id: ModelIdOption,
    metric: Annotated[str, typer.Option(help="Metric name.")],
    split: Annotated[str | None, typer.Option(help="Only this split.")] = None,
    last: Annotated[int | None, typer.Option(help="Newest N points (0 = all).")] = None,
    since: Annotated[datetime | None, typer.Option(help="Only points at or after.")] = None,
    buckets: Annotated[int, typer.Option(help="Equal-time buckets.")] = 20,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """A metric's trend over a window, in buckets."""
    with open_tracker(db) as tracker:
        result = tracker.query_trend(
            model_id, metric, split=split, last_n=last, since=since, buckets=buckets
        )

    def human() -> None:
        table(
            f"{model_id} {metric} ({result.unit}, {result.direction} is better)",
            ["start", "points", "mean", "min", "max", "steps"],
            [
                [
                    b.start.isoformat(timespec="seconds"),
                    b.count,
                    b.mean,
                    b.min,
                    b.max,
                    f"{b.first_step}-{b.last_step}" if b.first_step is not None else "",
                ]
                for b in result.buckets
            ],
        )
        stdout.print(f"{result.count} points, mean {result.mean}, {result.status}")

    emit(result, as_json, human)


@app.command()
def regressions(
    model_id: ModelIdOption,
    metric: Annotated[list[str] | None, typer.Option(help="Only these metrics.")] = None,
    split: Annotated[str | None, typer.Option(help="Only this split.")] = None,
    baseline: Annotated[int | None, typer.Option(help="Points in the baseline window.")] = None,
    recent: Annotated[int | None, typer.Option(help="Points in the recent window.")] = None,
    threshold: Annotated[float | None, typer.Option(help="Relative change, e.g. 0.05.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare each metric's recent window with its baseline; flags real regressions."""
    with open_tracker(db) as tracker:
        found = tracker.detect_regressions(
            model_id,
            metrics=metric or None,
            split=split,
            baseline_window=baseline,
            recent_window=recent,
            threshold=threshold,
        )
    emit(
        found,
        as_json,
        lambda: table(
            f"regressions of {model_id}",
            ["metric", "baseline", "recent", "change", "regression", "note"],
            [
                [r.metric, r.baseline, r.recent, r.change, "YES" if r.regression else "no", r.note]
                for r in found
            ],
        ),
    )


@app.command()
def weaknesses(
    model_type: Annotated[str | None, typer.Option(help="Only this model type.")] = None,
    model_id: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    min_severity: Annotated[str | None, typer.Option(help="medium or high.")] = None,
    refresh: Annotated[bool, typer.Option(help="Re-detect before listing.")] = True,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open weaknesses (production models, or --model-id), with the features where they fail."""
    with open_tracker(db) as tracker:
        found = tracker.list_weaknesses(
            model_type=model_type, model_id=model_id, min_severity=min_severity, refresh=refresh
        )
    emit(
        found,
        as_json,
        lambda: table(
            "weaknesses",
            ["model", "metric", "value", "limit", "severity", "features"],
            [
                [
                    w.model_id,
                    w.metric,
                    w.value,
                    f"{w.bound} {w.threshold:g}",
                    w.severity,
                    ", ".join(w.features),
                ]
                for w in found
            ],
        ),
    )


@app.command()
def retrain(
    model_type: Annotated[str, typer.Option(help="Model type to judge.")],
    model_id: Annotated[str | None, typer.Option(help="Default: its production model.")] = None,
    new_examples: Annotated[int, typer.Option(help="New verified examples since training.")] = 0,
    rules_version: Annotated[str | None, typer.Option(help="Rules version in force.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the retrain conditions; two or more met records a pending trigger."""
    with open_tracker(db) as tracker:
        decision = tracker.check_retrain_triggers(
            model_type,
            model_id=model_id,
            new_verified_examples=new_examples,
            current_rules_version=rules_version,
        )

    def human() -> None:
        table(
            "retrain conditions",
            ["condition", "met", "detail"],
            [[c.name, "yes" if c.met else "no", c.detail] for c in decision.conditions],
        )
        if decision.trigger:
            stdout.print(f"trigger {decision.trigger.id} is {decision.trigger.status}")

    emit(decision, as_json, human)
