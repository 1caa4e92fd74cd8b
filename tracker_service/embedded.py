"""``EmbeddedTracker``: the tracker as a library talking to its database directly.

It is the one-process default (SQLite file, no server) and also what the gRPC servicer wraps, so
the service and the embedded client cannot drift apart. With no URL it opens the embedded
SQLite file and migrates it on first use; an explicit URL must already be migrated
(``srlforge tracker migrate --db URL``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tracker_service import crud, monitor, registry, timeseries
from tracker_service.analysis import judge_weaknesses, summarize_trend
from tracker_service.db import TrackerDatabase
from tracker_service.errors import InvalidArgument, TrackerError
from tracker_service.metric_registry import MetricRegistry, load_registry
from tracker_service.models import (
    SEVERITY_RANK,
    STAGES,
    MetricPoint,
    ModelSpec,
    ModelVersion,
    PromotionResult,
    RecordResult,
    Regression,
    RetrainDecision,
    StageTransition,
    Trend,
    Weakness,
    as_utc,
)
from tracker_service.orm import utcnow
from tracker_service.settings import TrackerSettings, get_settings
from tracker_service.validation import (
    JUDGED_SPLITS,
    MAX_BUCKETS,
    SPLITS,
    check_at_least,
    check_model_type,
    check_regression_window,
    check_split,
    coerce_points,
    model_spec,
)


class EmbeddedTracker:
    """A ``TrackerClient`` on the database at ``db_url`` (default: the embedded SQLite file)."""

    def __init__(
        self,
        db_url: str | None = None,
        *,
        settings: TrackerSettings | None = None,
        metric_registry: MetricRegistry | None = None,
        auto_migrate: bool | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.metrics = metric_registry or load_registry()
        self.db = TrackerDatabase(db_url or self.settings.db_url, auto_migrate=auto_migrate)

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> EmbeddedTracker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- ingestion ----------------------------------------------------------------------------

    def record_metrics(
        self, points: Iterable[MetricPoint | Mapping[str, Any]], *, batch_id: str | None = None
    ) -> RecordResult:
        """Validate every point, then write them all in one transaction (or nothing).

        A ``batch_id`` seen before is acknowledged with ``duplicate=True`` and writes nothing,
        which is what makes the gRPC call safe to retry.
        """
        return self.record_batches([(coerce_points(points), batch_id)])

    def record_batches(
        self, batches: Sequence[tuple[Sequence[MetricPoint], str | None]]
    ) -> RecordResult:
        """Several (points, batch_id) batches in one transaction (the streaming RPC's path)."""
        values = []
        for number, (points, _) in enumerate(batches):
            try:
                values.append([self._checked_value(i, point) for i, point in enumerate(points)])
            except TrackerError as exc:
                if len(batches) == 1:
                    raise
                raise type(exc)(f"batch {number}: {exc}") from None
        with self.db.writing() as session:
            return self._write_batches(session, batches, values)

    def _write_batches(
        self,
        session: Session,
        batches: Sequence[tuple[Sequence[MetricPoint], str | None]],
        values: Sequence[Sequence[float]],
    ) -> RecordResult:
        fresh = [
            (points, checked)
            for (points, batch_id), checked in zip(batches, values, strict=True)
            if batch_id is None or timeseries.claim_batch(session, batch_id, len(points))
        ]
        model_ids = {p.model_id for points, _ in fresh for p in points}
        if not model_ids:
            return RecordResult(written=0, duplicate=bool(batches) and not fresh)
        # Raises UnknownModelError before a single point is inserted.
        model_pk = {m: row.id for m, row in crud.model_rows(session, model_ids).items()}
        series = timeseries.series_ids(
            session, {(model_pk[p.model_id], p.metric, p.split) for pts, _ in fresh for p in pts}
        )
        now_us = timeseries.to_us(utcnow())
        rows = [
            (
                series[(model_pk[p.model_id], p.metric, p.split)],
                now_us if p.ts is None else timeseries.to_us(p.ts),
                p.step,
                value,
                p.run_id,
            )
            for points, checked in fresh
            for p, value in zip(points, checked, strict=True)
        ]
        timeseries.insert_points(session, rows)
        return RecordResult(written=len(rows))

    def _checked_value(self, index: int, point: MetricPoint) -> float:
        try:
            return self.metrics.check_value(point.metric, point.value)
        except TrackerError as exc:
            raise type(exc)(f"point {index} ({point.model_id}): {exc}") from None

    # --- analysis -----------------------------------------------------------------------------

    def query_trend(
        self,
        model_id: str,
        metric: str,
        *,
        split: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        last_n: int | None = None,
        buckets: int | None = None,
    ) -> Trend:
        """``metric`` over a window, aggregated into equal-time buckets in the database.

        The window is the newest ``last_n`` points (default ``trend_window``, 0 = no limit)
        inside ``since``/``until``; with ``since`` or ``until`` and no ``last_n``, all of them.
        """
        spec = self.metrics.get(metric)
        check_split(split)
        check_at_least("last_n", last_n, 0)
        n_buckets = 50 if buckets is None else buckets
        if not 1 <= n_buckets <= MAX_BUCKETS:
            raise InvalidArgument(f"buckets={buckets} must be between 1 and {MAX_BUCKETS}")
        if last_n is None:
            last_n = None if since or until else self.settings.trend_window
        with self.db.reading() as session:
            row = crud.get_model_row(session, model_id)
            series = timeseries.find_series(session, row.id, metric, [split] if split else SPLITS)
            found = (
                timeseries.trend_buckets(
                    session,
                    series,
                    since_us=timeseries.to_us(as_utc(since)) if since else None,
                    until_us=timeseries.to_us(as_utc(until)) if until else None,
                    last_n=last_n or None,
                    n_buckets=n_buckets,
                )
                if series
                else []
            )
        return summarize_trend(
            spec, model_id, split, found, flat_within=self.settings.regression_threshold
        )

    def detect_regressions(
        self,
        model_id: str,
        *,
        metrics: Sequence[str] | None = None,
        split: str | None = None,
        baseline_window: int | None = None,
        recent_window: int | None = None,
        threshold: float | None = None,
        alpha: float | None = None,
    ) -> list[Regression]:
        """Baseline window vs recent window for each metric (default: all the model has).

        Flagged regressions also open an alert (one open alert per model and metric).
        """
        for name in metrics or ():
            self.metrics.get(name)
        check_split(split)
        check_regression_window(baseline_window, recent_window, threshold, alpha)
        with self.db.reading() as session:
            row = crud.get_model_row(session, model_id)
            splits = [split] if split else list(SPLITS)
            names = list(metrics) if metrics else timeseries.series_metrics(session, row.id, splits)
            results = [
                monitor.regression_for(
                    session,
                    self.metrics,
                    row,
                    name,
                    splits,
                    baseline_window=baseline_window or self.settings.baseline_window,
                    recent_window=recent_window or self.settings.recent_window,
                    threshold=threshold or self.settings.regression_threshold,
                    alpha=alpha or self.settings.regression_alpha,
                )
                for name in names
            ]
        flagged = [r for r in results if r.regression]
        if flagged:
            with self.db.writing() as session:
                for r in flagged:
                    crud.raise_alert(
                        session,
                        model_id=model_id,
                        kind="regression",
                        metric=r.metric,
                        severity="high",
                        message=f"{model_id} {r.metric}: {r.note}",
                    )
        return results

    def detect_weaknesses(self, model_id: str) -> list[Weakness]:
        """Judge the model against its type's thresholds; replaces its open weaknesses."""
        with self.db.writing() as session:
            row = crud.get_model_row(session, model_id)
            thresholds = self.metrics.thresholds(row.model_type)
            latest = monitor.judged_means(
                session, row, thresholds, JUDGED_SPLITS, self.settings.weakness_window
            )
            evaluation = crud.latest_evaluations(session, [model_id]).get(model_id)
            breakdown = evaluation.feature_breakdown if evaluation else {}
            findings = judge_weaknesses(self.metrics, row.model_type, latest, breakdown)
            return monitor.replace_weaknesses(session, row, findings)

    def list_weaknesses(
        self,
        *,
        model_type: str | None = None,
        model_id: str | None = None,
        min_severity: str | None = None,
        refresh: bool = False,
    ) -> list[Weakness]:
        """Open weaknesses; ``refresh`` re-detects first (for ``model_id``, or else for the
        production version of ``model_type`` / of every type)."""
        if min_severity is not None and min_severity not in SEVERITY_RANK:
            raise InvalidArgument(f"min_severity {min_severity!r}: use 'medium' or 'high'")
        if model_type is not None:
            check_model_type(model_type)
        with self.db.reading() as session:
            if model_id is not None:
                crud.get_model_row(session, model_id)
            production = crud.list_model_rows(session, model_type=model_type, stage="production")
            to_refresh = [model_id] if model_id else [row.model_id for row in production]
        if refresh:
            for target in to_refresh:
                self.detect_weaknesses(target)
        floor = SEVERITY_RANK[min_severity] if min_severity else 0
        with self.db.reading() as session:
            rows = crud.open_weaknesses(
                session, model_type=model_type, model_ids=[model_id] if model_id else None
            )
            return [crud.to_weakness(r) for r in rows if SEVERITY_RANK[r.severity] >= floor]

    # --- registry -----------------------------------------------------------------------------

    def register_model(self, spec: ModelSpec | None = None, /, **fields: Any) -> ModelVersion:
        """Register a candidate version: ``register_model(ModelSpec(...))`` or with keywords.

        Its evaluation is stored with it (the promotion gate reads it) and also recorded as
        metric points, so trends and weakness checks see it.
        """
        spec = model_spec(spec, fields)
        with self.db.writing() as session:
            row = registry.register(session, spec, self.metrics)  # validates the evaluation
            points = [
                MetricPoint(
                    model_id=row.model_id,
                    metric=metric,
                    value=value,
                    split=spec.evaluation_split,
                    run_id=spec.run_id,
                )
                for metric, value in spec.evaluation.items()
            ]
            if points:
                # Keyed by model id, so an idempotent re-registration does not double them.
                self._write_batches(
                    session,
                    [(points, f"register:{row.model_id}")],
                    [list(spec.evaluation.values())],
                )
            return crud.model_versions(session, [row])[0]

    def promote(
        self,
        model_id: str,
        *,
        stage: str = "production",
        actor: str = "",
        reason: str = "",
        gate_metrics: Sequence[str] | None = None,
    ) -> PromotionResult:
        """Move a version to staging, or to production if it beats the current one on the gate
        metrics (``promotion_gate_metrics`` by default). Atomic and audited."""
        gate = list(gate_metrics or self.settings.promotion_gate_metrics)
        for metric in gate:
            self.metrics.get(metric)
        with self.db.writing() as session:
            return registry.promote(
                session,
                self.metrics,
                model_id,
                stage=stage,
                gate_metrics=gate,
                actor=actor,
                reason=reason,
            )

    def rollback(self, model_type: str, *, actor: str = "", reason: str = "") -> PromotionResult:
        """Archive the production version and restore the one it replaced."""
        check_model_type(model_type)
        with self.db.writing() as session:
            return registry.rollback(session, model_type, actor=actor, reason=reason)

    def get_model(self, model_id: str) -> ModelVersion:
        with self.db.reading() as session:
            return crud.model_versions(session, [crud.get_model_row(session, model_id)])[0]

    def get_production(self, model_type: str) -> ModelVersion | None:
        check_model_type(model_type)
        with self.db.reading() as session:
            row = crud.production_row(session, model_type)
            return crud.model_versions(session, [row])[0] if row else None

    def list_models(
        self, *, model_type: str | None = None, stage: str | None = None
    ) -> list[ModelVersion]:
        if model_type is not None:
            check_model_type(model_type)
        if stage is not None and stage not in STAGES:
            raise InvalidArgument(f"stage {stage!r} is not one of {', '.join(STAGES)}")
        with self.db.reading() as session:
            rows = crud.list_model_rows(session, model_type=model_type, stage=stage)
            return crud.model_versions(session, rows)

    def audit_trail(self, model_type: str | None = None) -> list[StageTransition]:
        """Every stage transition, oldest first."""
        if model_type is not None:
            check_model_type(model_type)
        with self.db.reading() as session:
            return crud.audit_trail(session, model_type)

    # --- retrain triggers ---------------------------------------------------------------------

    def check_retrain_triggers(
        self,
        model_type: str,
        *,
        model_id: str | None = None,
        new_verified_examples: int = 0,
        current_rules_version: str | None = None,
    ) -> RetrainDecision:
        """Fire (persist a pending trigger) when at least two retrain conditions hold.

        The model judged is ``model_id`` or the type's production version. A pending trigger
        already recorded for the model is returned instead of a second one.
        """
        check_model_type(model_type)
        check_at_least("new_verified_examples", new_verified_examples, 0)
        with self.db.reading() as session:
            row = (
                crud.get_model_row(session, model_id)
                if model_id
                else crud.production_row(session, model_type)
            )
            if row is None:
                # An argument error: with no production version, model_id is required.
                raise InvalidArgument(
                    f"model type {model_type!r} has no production version; pass model_id"
                )
            if row.model_type != model_type:
                raise InvalidArgument(
                    f"model {row.model_id!r} is a {row.model_type} model, not {model_type}"
                )
            conditions = monitor.retrain_conditions_for(
                session,
                self.metrics,
                self.settings,
                row,
                new_verified_examples=new_verified_examples,
                current_rules_version=current_rules_version,
            )
            judged_id = row.model_id
        if sum(c.met for c in conditions) < 2:
            return RetrainDecision(fired=False, conditions=conditions)
        with self.db.writing() as session:
            trigger = monitor.record_trigger(session, model_type, judged_id, conditions)
        return RetrainDecision(fired=True, conditions=conditions, trigger=trigger)
