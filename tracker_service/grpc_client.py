"""``GrpcTracker``: the ``TrackerClient`` that talks to ``srlforge tracker serve``.

Every call carries a deadline (``timeout``). gRPC retries UNAVAILABLE (service config) on the
idempotent methods only: reads, RegisterModel (same id + same content is a no-op), Promote
(promoting the production model again is a no-op), CheckRetrainTriggers (one pending trigger
per model) and RecordMetrics, which always carries a batch id the server deduplicates. Rollback
and the streaming upload are never retried. Status codes come back as the domain errors the
embedded tracker raises.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import grpc

from srlforge.proto.v1 import tracker_pb2 as pb
from srlforge.proto.v1 import tracker_pb2_grpc
from srlforge.telemetry import traced_channel
from tracker_service.convert import from_proto, point_to_proto, set_timestamp, to_proto
from tracker_service.errors import (
    ERRORS_BY_NAME,
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    TrackerError,
    TrackerUnavailable,
)
from tracker_service.grpc_server import ERROR_METADATA_KEY, SERVICE_NAME
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
from tracker_service.validation import coerce_points, model_spec

T = TypeVar("T")

IDEMPOTENT_METHODS = (
    "RecordMetrics",
    "QueryTrend",
    "DetectRegressions",
    "ListWeaknesses",
    "RegisterModel",
    "Promote",
    "GetProduction",
    "ListModels",
    "CheckRetrainTriggers",
)
# A message of 5,000 points is ~300 KB, well under gRPC's 4 MB default limit.
POINTS_PER_MESSAGE = 5_000

_ERROR_BY_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: Conflict,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
}


def service_config(max_attempts: int = 4) -> dict[str, Any]:
    return {
        "methodConfig": [
            {
                "name": [{"service": SERVICE_NAME, "method": m} for m in IDEMPOTENT_METHODS],
                "retryPolicy": {
                    "maxAttempts": max_attempts,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }


class GrpcTracker:
    """``TrackerClient`` over gRPC. ``timeout`` (seconds) is the deadline of every call."""

    def __init__(self, target: str, *, timeout: float = 10.0, max_attempts: int = 4) -> None:
        self.target = target
        self.timeout = timeout
        self._channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.enable_retries", 1),
                ("grpc.service_config", json.dumps(service_config(max_attempts))),
            ],
        )
        self._stub = tracker_pb2_grpc.TrackerServiceStub(traced_channel(self._channel))

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> GrpcTracker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, method: Callable[..., T], request: Any) -> T:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise self._domain_error(exc) from None

    def _domain_error(self, exc: grpc.RpcError) -> TrackerError:
        code, details = exc.code(), exc.details() or ""  # type: ignore[attr-defined]
        trailing = dict(exc.trailing_metadata() or ())  # type: ignore[attr-defined]
        error_cls = ERRORS_BY_NAME.get(trailing.get(ERROR_METADATA_KEY, ""))
        if error_cls is None:
            error_cls = _ERROR_BY_STATUS.get(code)
        if error_cls is not None:
            return error_cls(details)
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return TrackerUnavailable(
                f"tracker at {self.target} is unavailable ({code.name}: {details}); check that "
                "`srlforge tracker serve` runs there and can reach its database"
            )
        return TrackerError(f"tracker call failed ({code.name}): {details}")

    def record_metrics(
        self, points: Iterable[MetricPoint | Mapping[str, Any]], *, batch_id: str | None = None
    ) -> RecordResult:
        parsed = coerce_points(points)  # bad input fails here, before the network
        batch_id = batch_id or uuid.uuid4().hex
        messages = [
            pb.RecordMetricsRequest(
                points=[point_to_proto(p) for p in parsed[i : i + POINTS_PER_MESSAGE]],
                batch_id=f"{batch_id}:{i // POINTS_PER_MESSAGE}" if i else batch_id,
            )
            for i in range(0, max(len(parsed), 1), POINTS_PER_MESSAGE)
        ]
        if len(messages) == 1:
            response = self._call(self._stub.RecordMetrics, messages[0])
        else:
            response = self._call(self._stub.RecordMetricsStream, iter(messages))
        return from_proto(response, RecordResult)

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
        request = pb.QueryTrendRequest(
            model_id=model_id, metric=metric, split=split or "", last_n=last_n, buckets=buckets
        )
        set_timestamp(request, "since", since)
        set_timestamp(request, "until", until)
        return from_proto(self._call(self._stub.QueryTrend, request), Trend)

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
        request = pb.DetectRegressionsRequest(
            model_id=model_id,
            metrics=list(metrics or ()),
            split=split or "",
            baseline_window=baseline_window,
            recent_window=recent_window,
            threshold=threshold,
            alpha=alpha,
        )
        response = self._call(self._stub.DetectRegressions, request)
        return [from_proto(r, Regression) for r in response.regressions]

    def list_weaknesses(
        self,
        *,
        model_type: str | None = None,
        model_id: str | None = None,
        min_severity: str | None = None,
        refresh: bool = False,
    ) -> list[Weakness]:
        request = pb.ListWeaknessesRequest(
            model_type=model_type or "",
            model_id=model_id or "",
            min_severity=min_severity or "",
            refresh=refresh,
        )
        response = self._call(self._stub.ListWeaknesses, request)
        return [from_proto(w, Weakness) for w in response.weaknesses]

    def register_model(self, spec: ModelSpec | None = None, /, **fields: Any) -> ModelVersion:
        request = to_proto(model_spec(spec, fields), pb.RegisterModelRequest)
        return from_proto(self._call(self._stub.RegisterModel, request), ModelVersion)

    def promote(
        self,
        model_id: str,
        *,
        stage: str = "production",
        actor: str = "",
        reason: str = "",
        gate_metrics: Sequence[str] | None = None,
    ) -> PromotionResult:
        request = pb.PromoteRequest(
            model_id=model_id,
            stage=stage,
            actor=actor,
            reason=reason,
            gate_metrics=list(gate_metrics or ()),
        )
        return from_proto(self._call(self._stub.Promote, request), PromotionResult)

    def rollback(self, model_type: str, *, actor: str = "", reason: str = "") -> PromotionResult:
        request = pb.RollbackRequest(model_type=model_type, actor=actor, reason=reason)
        return from_proto(self._call(self._stub.Rollback, request), PromotionResult)

    def get_production(self, model_type: str) -> ModelVersion | None:
        response = self._call(
            self._stub.GetProduction, pb.GetProductionRequest(model_type=model_type)
        )
        return from_proto(response.model, ModelVersion) if response.HasField("model") else None

    def list_models(
        self, *, model_type: str | None = None, stage: str | None = None
    ) -> list[ModelVersion]:
        request = pb.ListModelsRequest(model_type=model_type or "", stage=stage or "")
        response = self._call(self._stub.ListModels, request)
        return [from_proto(m, ModelVersion) for m in response.models]

    def audit_trail(self, model_type: str | None = None) -> list[StageTransition]:
        # The audit trail rides on ListModels rather than needing an RPC of its own.
        request = pb.ListModelsRequest(model_type=model_type or "", include_audit=True)
        response = self._call(self._stub.ListModels, request)
        return [from_proto(t, StageTransition) for t in response.audit]

    def check_retrain_triggers(
        self,
        model_type: str,
        *,
        model_id: str | None = None,
        new_verified_examples: int = 0,
        current_rules_version: str | None = None,
    ) -> RetrainDecision:
        request = pb.CheckRetrainTriggersRequest(
            model_type=model_type,
            model_id=model_id or "",
            new_verified_examples=new_verified_examples,
            current_rules_version=current_rules_version or "",
        )
        return from_proto(self._call(self._stub.CheckRetrainTriggers, request), RetrainDecision)
