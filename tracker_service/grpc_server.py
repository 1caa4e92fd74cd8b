"""gRPC ``TrackerService``: a thin adapter over ``EmbeddedTracker``, plus health checking.

Domain errors become status codes here and nowhere else; the error's class name rides along in
the ``srlforge-error`` trailing metadata so ``GrpcTracker`` can raise the very same class.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from functools import wraps
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from srlforge.proto.v1 import tracker_pb2 as pb
from srlforge.proto.v1 import tracker_pb2_grpc
from srlforge.telemetry import configure_tracing, grpc_server_interceptors
from tracker_service.convert import (
    from_proto,
    optional_value,
    point_fields,
    timestamp_or_none,
    to_proto,
)
from tracker_service.db import safe_url
from tracker_service.embedded import EmbeddedTracker
from tracker_service.errors import (
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    TrackerError,
)
from tracker_service.models import MetricPoint, ModelSpec
from tracker_service.validation import coerce_points, validation_message

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TrackerService"].full_name
ERROR_METADATA_KEY = "srlforge-error"

_STATUS_BY_ERROR: tuple[tuple[type[TrackerError], grpc.StatusCode], ...] = (
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (Conflict, grpc.StatusCode.ALREADY_EXISTS),
    (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
)

F = TypeVar("F", bound=Callable[..., Any])


def status_for(error: TrackerError) -> grpc.StatusCode:
    for error_cls, code in _STATUS_BY_ERROR:
        if isinstance(error, error_cls):
            return code
    return grpc.StatusCode.INTERNAL


def _translating_errors(method: F) -> F:
    @wraps(method)
    def wrapper(self: TrackerServicer, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except TrackerError as exc:
            context.set_trailing_metadata(((ERROR_METADATA_KEY, type(exc).__name__),))
            context.abort(status_for(exc), str(exc))
        except OperationalError as exc:
            # A lost database connection or a locked SQLite file is transient: UNAVAILABLE lets
            # clients retry the idempotent calls (the transaction was rolled back).
            log.warning("tracker database error in %s: %s", method.__name__, exc.orig)
            context.abort(grpc.StatusCode.UNAVAILABLE, f"tracker database unavailable: {exc.orig}")

    return wrapper  # type: ignore[return-value]


def _none_if_empty(value: str) -> str | None:
    return value or None


def _points(message: pb.RecordMetricsRequest) -> list[MetricPoint]:
    return coerce_points(point_fields(point) for point in message.points)


class TrackerServicer(tracker_pb2_grpc.TrackerServiceServicer):
    def __init__(self, tracker: EmbeddedTracker) -> None:
        self.tracker = tracker

    @_translating_errors
    def RecordMetrics(self, request: pb.RecordMetricsRequest, context: Any) -> Any:
        result = self.tracker.record_metrics(
            _points(request), batch_id=_none_if_empty(request.batch_id)
        )
        return to_proto(result, pb.RecordMetricsResponse)

    @_translating_errors
    def RecordMetricsStream(self, request_iterator: Iterator[Any], context: Any) -> Any:
        batches = []
        for index, request in enumerate(request_iterator):
            try:
                batches.append((_points(request), _none_if_empty(request.batch_id)))
            except TrackerError as exc:
                raise type(exc)(f"batch {index}: {exc}") from None
        return to_proto(self.tracker.record_batches(batches), pb.RecordMetricsResponse)

    @_translating_errors
    def QueryTrend(self, request: pb.QueryTrendRequest, context: Any) -> Any:
        trend = self.tracker.query_trend(
            request.model_id,
            request.metric,
            split=_none_if_empty(request.split),
            since=timestamp_or_none(request, "since"),
            until=timestamp_or_none(request, "until"),
            last_n=optional_value(request, "last_n"),
            buckets=optional_value(request, "buckets"),
        )
        return to_proto(trend, pb.Trend)

    @_translating_errors
    def DetectRegressions(self, request: pb.DetectRegressionsRequest, context: Any) -> Any:
        found = self.tracker.detect_regressions(
            request.model_id,
            metrics=list(request.metrics) or None,
            split=_none_if_empty(request.split),
            baseline_window=optional_value(request, "baseline_window"),
            recent_window=optional_value(request, "recent_window"),
            threshold=optional_value(request, "threshold"),
            alpha=optional_value(request, "alpha"),
        )
        return pb.DetectRegressionsResponse(regressions=[to_proto(r, pb.Regression) for r in found])

    @_translating_errors
    def ListWeaknesses(self, request: pb.ListWeaknessesRequest, context: Any) -> Any:
        found = self.tracker.list_weaknesses(
            model_type=_none_if_empty(request.model_type),
            model_id=_none_if_empty(request.model_id),
            min_severity=_none_if_empty(request.min_severity),
            refresh=request.refresh,
        )
        return pb.ListWeaknessesResponse(weaknesses=[to_proto(w, pb.Weakness) for w in found])

    @_translating_errors
    def RegisterModel(self, request: pb.RegisterModelRequest, context: Any) -> Any:
        try:
            spec = from_proto(request, ModelSpec)
        except ValidationError as exc:
            raise InvalidArgument(f"model spec: {validation_message(exc)}") from None
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"model spec: a *_json field is not JSON ({exc})") from None
        return to_proto(self.tracker.register_model(spec), pb.ModelVersion)

    @_translating_errors
    def Promote(self, request: pb.PromoteRequest, context: Any) -> Any:
        result = self.tracker.promote(
            request.model_id,
            stage=request.stage or "production",
            actor=request.actor,
            reason=request.reason,
            gate_metrics=list(request.gate_metrics) or None,
        )
        return to_proto(result, pb.PromotionResult)

    @_translating_errors
    def Rollback(self, request: pb.RollbackRequest, context: Any) -> Any:
        result = self.tracker.rollback(
            request.model_type, actor=request.actor, reason=request.reason
        )
        return to_proto(result, pb.PromotionResult)

    @_translating_errors
    def GetProduction(self, request: pb.GetProductionRequest, context: Any) -> Any:
        model = self.tracker.get_production(request.model_type)
        if model is None:
            return pb.GetProductionResponse()
        return pb.GetProductionResponse(model=to_proto(model, pb.ModelVersion))

    @_translating_errors
    def ListModels(self, request: pb.ListModelsRequest, context: Any) -> Any:
        model_type = _none_if_empty(request.model_type)
        found = self.tracker.list_models(model_type=model_type, stage=_none_if_empty(request.stage))
        audit = self.tracker.audit_trail(model_type) if request.include_audit else []
        return pb.ListModelsResponse(
            models=[to_proto(m, pb.ModelVersion) for m in found],
            audit=[to_proto(t, pb.StageTransition) for t in audit],
        )

    @_translating_errors
    def CheckRetrainTriggers(self, request: pb.CheckRetrainTriggersRequest, context: Any) -> Any:
        decision = self.tracker.check_retrain_triggers(
            request.model_type,
            model_id=_none_if_empty(request.model_id),
            new_verified_examples=request.new_verified_examples,
            current_rules_version=_none_if_empty(request.current_rules_version),
        )
        return to_proto(decision, pb.RetrainDecision)


def build_server(
    tracker: EmbeddedTracker, address: str = "127.0.0.1:0", *, max_workers: int = 8
) -> tuple[grpc.Server, int, health.HealthServicer]:
    """A started-ready (not yet started) server, the port it bound, and its health servicer."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers), interceptors=grpc_server_interceptors()
    )
    tracker_pb2_grpc.add_TrackerServiceServicer_to_server(TrackerServicer(tracker), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise TrackerError(f"could not bind the tracker gRPC server to {address}")
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, port, health_servicer


def serve(
    db_url: str | None,
    *,
    host: str,
    port: int,
    max_workers: int = 8,
    on_ready: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT (or ``stop`` is set), then drain for up to 10 s."""
    configure_tracing("srlforge-tracker")
    tracker = EmbeddedTracker(db_url)
    server, bound, health_servicer = build_server(
        tracker, f"{host}:{port}", max_workers=max_workers
    )
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    server.start()
    log.info("tracker gRPC on %s:%d (db %s)", host, bound, safe_url(tracker.db.url))
    if on_ready is not None:
        on_ready(bound)
    try:
        stop.wait()
    finally:
        # Tell load balancers first, then let in-flight calls finish.
        health_servicer.enter_graceful_shutdown()
        server.stop(grace=10).wait()
        tracker.close()
