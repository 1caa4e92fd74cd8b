"""The gRPC service on 127.0.0.1:0, and the two clients behaving the same."""

from __future__ import annotations

import json
import queue
import socket
import threading
from datetime import UTC, datetime

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from srlforge.proto.v1 import tracker_pb2 as pb
from srlforge.proto.v1 import tracker_pb2_grpc
from tracker_service.client import EmbeddedTracker, GrpcTracker, TrackerClient, connect
from tracker_service.convert import point_fields, point_to_proto, proto_fields, to_proto
from tracker_service.db import upgrade
from tracker_service.errors import (
    InvalidArgument,
    InvalidMetricValue,
    NothingToRollBack,
    PromotionRefused,
    TrackerUnavailable,
    UnknownMetricError,
    UnknownModelError,
)
from tracker_service.grpc_client import service_config
from tracker_service.grpc_server import SERVICE_NAME, build_server, serve
from tracker_service.models import MetricPoint
from tracker_service.settings import get_settings

GOOD = {"accuracy": 0.85, "quality": 0.82, "latency_ms": 420.0}


@pytest.fixture
def served(tmp_path):
    """A real server on a free loopback port over a fresh SQLite file."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    upgrade(url)
    embedded = EmbeddedTracker(url)
    server, port, _ = build_server(embedded, "127.0.0.1:0", max_workers=4)
    server.start()
    yield embedded, port
    server.stop(grace=None)
    embedded.close()


@pytest.fixture(params=["embedded", "grpc"])
def client(request, served):
    embedded, port = served
    if request.param == "embedded":
        yield embedded
        return
    with GrpcTracker(f"127.0.0.1:{port}", timeout=5) as remote:
        yield remote


def test_both_implement_the_protocol(client):
    assert isinstance(client, TrackerClient)


def test_same_behaviour_through_either_client(client):
    model = client.register_model(
        model_type="personality", evaluation=GOOD, config={"lr": 1e-5, "epochs": 3}
    )
    assert model.config == {"lr": 1e-5, "epochs": 3}
    assert isinstance(model.config["epochs"], int)  # JSON, not Struct: ints stay ints
    points = [
        {
            "model_id": model.model_id,
            "metric": "latency_ms",
            "value": 400.0 + i + 60 * (i >= 20),
            "step": i,
            "ts": datetime(2026, 1, 1, 0, i, tzinfo=UTC),
        }
        for i in range(30)
    ]
    assert client.record_metrics(points).written == 30
    trend = client.query_trend(
        model.model_id,
        "latency_ms",
        split="heldout",
        until=datetime(2026, 1, 2, tzinfo=UTC),
        buckets=3,
    )
    assert trend.count == 30 and [b.count for b in trend.buckets] == [10, 10, 10]
    assert trend.buckets[0].first_step == 0
    regressions = client.detect_regressions(
        model.model_id, metrics=["latency_ms"], recent_window=10, baseline_window=20
    )
    assert regressions[0].regression and regressions[0].n_recent == 10
    assert client.promote(model.model_id).model.stage == "production"
    assert client.get_production("personality").model_id == model.model_id
    with pytest.raises(NothingToRollBack):
        client.rollback("personality")
    worse = client.register_model(model_type="personality", evaluation=GOOD | {"accuracy": 0.5})
    with pytest.raises(PromotionRefused):
        client.promote(worse.model_id)
    assert [m.model_id for m in client.list_models()] == [model.model_id, worse.model_id]
    assert [t.action for t in client.audit_trail("personality")] == [
        "register",
        "promote",
        "register",
    ]
    weaknesses = client.list_weaknesses(model_type="personality", refresh=True)
    assert weaknesses == []
    decision = client.check_retrain_triggers("personality", new_verified_examples=10)
    assert not decision.fired and len(decision.conditions) == 5
    assert client.get_production("facial") is None


@pytest.mark.parametrize(
    ("point", "error"),
    [
        ({"metric": "acuracy", "value": 0.5}, UnknownMetricError),
        ({"metric": "accuracy", "value": float("nan")}, InvalidMetricValue),
        ({"metric": "accuracy", "value": "0.5"}, InvalidMetricValue),
        ({"metric": "accuracy", "value": 0.5, "model_id": "ghost"}, UnknownModelError),
    ],
)
def test_same_errors_through_either_client(client, point, error):
    model = client.register_model(model_type="facial")
    with pytest.raises(error):
        client.record_metrics([{"model_id": model.model_id} | point])
    assert client.query_trend(model.model_id, "accuracy").count == 0


def test_invalid_argument_status_and_message_on_the_wire(served):
    embedded, port = served
    model = embedded.register_model(model_type="facial")
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = tracker_pb2_grpc.TrackerServiceStub(channel)
        bad = pb.RecordMetricsRequest(
            points=[pb.MetricPoint(model_id=model.model_id, metric="accuracy", value=float("nan"))]
        )
        with pytest.raises(grpc.RpcError) as raised:
            stub.RecordMetrics(bad, timeout=5)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "finite" in raised.value.details()
        with pytest.raises(grpc.RpcError) as raised:
            stub.QueryTrend(pb.QueryTrendRequest(model_id="ghost", metric="accuracy"), timeout=5)
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as raised:
            stub.Rollback(pb.RollbackRequest(model_type="facial"), timeout=5)
        assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.RpcError) as raised:
            stub.RegisterModel(
                pb.RegisterModelRequest(model_type="facial", config_json="{"), timeout=5
            )
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert embedded.query_trend(model.model_id, "accuracy").count == 0


def test_health_check_reports_serving(served):
    _, port = served
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", SERVICE_NAME):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_large_uploads_stream_in_one_transaction(served, monkeypatch):
    embedded, port = served
    monkeypatch.setattr("tracker_service.grpc_client.POINTS_PER_MESSAGE", 100)
    model = embedded.register_model(model_type="facial")
    good = [{"model_id": model.model_id, "metric": "quality", "value": 0.5}] * 250
    with GrpcTracker(f"127.0.0.1:{port}", timeout=5) as remote:
        assert remote.record_metrics(good, batch_id="upload-1").written == 250
        again = remote.record_metrics(good, batch_id="upload-1")  # a retried upload
        assert again.duplicate and again.written == 0
        raw = [
            pb.RecordMetricsRequest(
                points=[pb.MetricPoint(model_id=model.model_id, metric="quality", value=v)]
            )
            for v in (0.5, 7.0)
        ]
        with pytest.raises(grpc.RpcError) as raised:
            remote._stub.RecordMetricsStream(iter(raw), timeout=5)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "batch 1" in raised.value.details()
    assert embedded.query_trend(model.model_id, "quality", last_n=0).count == 250


def test_client_arguments_are_checked_before_the_network(served):
    _, port = served
    with GrpcTracker(f"127.0.0.1:{port}", timeout=5) as remote:
        with pytest.raises(InvalidArgument, match="model_type"):
            remote.register_model(model_type="Bad Type")
        with pytest.raises(InvalidArgument, match="buckets"):
            remote.query_trend("x", "accuracy", buckets=0)


def test_unreachable_server_is_a_clear_error_within_the_deadline():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        GrpcTracker(f"127.0.0.1:{port}", timeout=0.5, max_attempts=2) as remote,
        pytest.raises(TrackerUnavailable, match="srlforge tracker serve"),
    ):
        remote.get_production("facial")


def test_retry_policy_covers_only_idempotent_methods():
    [method_config] = service_config()["methodConfig"]
    methods = {entry["method"] for entry in method_config["name"]}
    assert "Rollback" not in methods and "RecordMetricsStream" not in methods
    assert {"RecordMetrics", "GetProduction", "Promote"} <= methods
    assert method_config["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    json.dumps(service_config())  # what the channel option receives


def test_fast_point_conversion_matches_the_generic_one():
    full = MetricPoint(
        model_id="m",
        metric="accuracy",
        value=0.5,
        step=3,
        split="train",
        ts=datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC),
        run_id="r-1",
    )
    bare = MetricPoint(model_id="m", metric="kl", value=0.0)
    for point in (full, bare):
        message = point_to_proto(point)
        assert message == to_proto(point, pb.MetricPoint)
        assert point_fields(message) == proto_fields(message, MetricPoint)
        assert MetricPoint.model_validate(point_fields(message)) == point


def test_connect_picks_the_implementation(served, monkeypatch):
    _, port = served
    monkeypatch.setattr(get_settings(), "target", None)
    monkeypatch.setattr(get_settings(), "db_url", served[0].db.url)
    with connect() as embedded:
        assert isinstance(embedded, EmbeddedTracker)
    with connect(f"127.0.0.1:{port}", timeout=3) as remote:
        assert isinstance(remote, GrpcTracker) and remote.timeout == 3
        assert remote.list_models() == []


def test_serve_runs_until_stopped_and_drains(tmp_path):
    url = f"sqlite:///{tmp_path / 'served.db'}"
    upgrade(url)
    ready, stop = queue.Queue(), threading.Event()
    thread = threading.Thread(
        target=serve, args=(url,), kwargs={"host": "127.0.0.1", "port": 0,
                                           "on_ready": ready.put, "stop": stop},
    )  # fmt: skip
    thread.start()
    port = ready.get(timeout=10)
    with GrpcTracker(f"127.0.0.1:{port}", timeout=5) as remote:
        assert remote.register_model(model_type="trees").model_id == "trees-v1"
    stop.set()
    thread.join(timeout=15)
    assert not thread.is_alive()
    with EmbeddedTracker(url) as check:  # what the service wrote is in the database
        assert [m.model_id for m in check.list_models()] == ["trees-v1"]


def test_database_failure_is_unavailable_not_a_crash(served, tmp_path):
    embedded, port = served
    embedded.db.engine.dispose()
    for leftover in tmp_path.glob("tracker.db*"):  # the database vanishes under the server
        leftover.unlink()
    with (
        GrpcTracker(f"127.0.0.1:{port}", timeout=5, max_attempts=2) as remote,
        pytest.raises(TrackerUnavailable, match="database unavailable"),
    ):
        remote.get_production("facial")
