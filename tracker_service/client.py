"""The Python interface other services use: ``TrackerClient`` and its two implementations.

``EmbeddedTracker(db_url)`` talks to the database in-process (the one-process default);
``GrpcTracker(target, timeout=...)`` talks to ``srlforge tracker serve``. Both take the same
arguments, return the same pydantic models and raise the same ``tracker_service.errors``
classes. ``connect()`` picks one from settings.

``GrpcTracker`` is imported on first use (module ``__getattr__``) so that the embedded default
works on an install without the ``[serve]`` extra, which is where grpcio comes from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from tracker_service.embedded import EmbeddedTracker
from tracker_service.models import (
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
)
from tracker_service.settings import get_settings

if TYPE_CHECKING:
    from tracker_service.grpc_client import GrpcTracker

__all__ = ["EmbeddedTracker", "GrpcTracker", "TrackerClient", "connect"]


@runtime_checkable
class TrackerClient(Protocol):
    def record_metrics(
        self, points: Iterable[MetricPoint | Mapping[str, Any]], *, batch_id: str | None = None
    ) -> RecordResult: ...

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
    ) -> Trend: ...

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
    ) -> list[Regression]: ...

    def list_weaknesses(
        self,
        *,
        model_type: str | None = None,
        model_id: str | None = None,
        min_severity: str | None = None,
        refresh: bool = False,
    ) -> list[Weakness]: ...

    def register_model(self, spec: ModelSpec | None = None, /, **fields: Any) -> ModelVersion: ...

    def promote(
        self,
        model_id: str,
        *,
        stage: str = "production",
        actor: str = "",
        reason: str = "",
        gate_metrics: Sequence[str] | None = None,
    ) -> PromotionResult: ...

    def rollback(
        self, model_type: str, *, actor: str = "", reason: str = ""
    ) -> PromotionResult: ...

    def get_production(self, model_type: str) -> ModelVersion | None: ...

    def list_models(
        self, *, model_type: str | None = None, stage: str | None = None
    ) -> list[ModelVersion]: ...

    def audit_trail(self, model_type: str | None = None) -> list[StageTransition]: ...

    def check_retrain_triggers(
        self,
        model_type: str,
        *,
        model_id: str | None = None,
        new_verified_examples: int = 0,
        current_rules_version: str | None = None,
    ) -> RetrainDecision: ...

    def close(self) -> None: ...

    def __enter__(self) -> TrackerClient: ...

    def __exit__(self, *exc: object) -> None: ...


def connect(
    target: str | None = None, *, db_url: str | None = None, timeout: float | None = None
) -> TrackerClient:
    """A gRPC client when a target is given (or ``SRLFORGE_TRACKER_TARGET`` is set), otherwise
    the embedded tracker on ``db_url`` (default: ``SRLFORGE_TRACKER_DB_URL`` or the SQLite file)."""
    settings = get_settings()
    target = target or settings.target
    if target is None:
        return EmbeddedTracker(db_url)
    from tracker_service.grpc_client import GrpcTracker

    return GrpcTracker(target, timeout=timeout or settings.grpc_timeout_s)


def __getattr__(name: str) -> Any:
    if name == "GrpcTracker":
        from tracker_service.grpc_client import GrpcTracker

        return GrpcTracker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
