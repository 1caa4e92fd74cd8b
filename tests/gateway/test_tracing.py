"""OpenTelemetry: one trace from an HTTP request through Celery to gRPC, and nothing when off.

The traced run uses real parts end to end: the gateway app (celery executor) over
``httpx.ASGITransport``, the real Redis broker (db 12, queues unique to the test), a real worker
thread running the gateway's own ``gateway.run_step`` task, and the tracker's gRPC server on a
loopback port. No job step calls gRPC today, so the worker's step function is the real one
(``generate``) followed by a question to the tracker over ``GrpcTracker`` (which model of this
type is in production). Spans go to an in-memory exporter.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import grpc
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import gateway.executors as executors
from gateway.celery_app import make_celery
from srlforge import telemetry
from tests.gateway.test_jobs import GENERATE_ONLY, wait_for_end
from tests.gateway.test_jobs_celery import CELERY_REDIS
from tracker_service.client import GrpcTracker
from tracker_service.embedded import EmbeddedTracker
from tracker_service.grpc_server import build_server

OTEL_ENV = (
    telemetry.EXPORTER_ENV,
    "OTEL_SDK_DISABLED",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


@pytest.fixture
def no_otel_env(monkeypatch) -> None:
    for name in OTEL_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def spans(no_otel_env) -> InMemorySpanExporter:
    """Tracing on for this test, into memory; off again afterwards."""
    assert telemetry.tracer_provider() is None, "tracing was left on by another test"
    exporter = InMemorySpanExporter()
    assert telemetry.configure_tracing("srlforge-test", exporter=exporter) is not None
    yield exporter
    telemetry.shutdown_tracing()


@pytest.fixture
def broker():
    url = CELERY_REDIS.require()
    prefix = f"srlforge-tracing-{uuid.uuid4().hex[:10]}-"
    yield url, prefix
    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture
def tracker_target(spans, tmp_path) -> str:
    """The tracker's gRPC server on loopback, built after tracing was configured."""
    tracker = EmbeddedTracker(f"sqlite:///{tmp_path / 'tracker.db'}", auto_migrate=True)
    server, port, _ = build_server(tracker, "127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None).wait()
    tracker.close()


@pytest.mark.integration
def test_one_trace_runs_from_http_through_celery_to_grpc(
    spans, tracker_target, make_api, broker, tmp_path, monkeypatch
):
    # Even when an operator captures every request header, the key must not reach a span.
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", ".*")
    real_step = executors.run_step
    production: list[object] = []

    def generate_and_ask_the_tracker(job_id: str, step: str, params: dict, runs_dir: Path) -> dict:
        result = real_step(job_id, step, params, runs_dir)
        with GrpcTracker(tracker_target, timeout=5) as tracker:
            production.append(tracker.get_production(params["model_type"]))
        return result

    monkeypatch.setattr(executors, "run_step", generate_and_ask_the_tracker)
    url, prefix = broker
    api = make_api(
        executor="celery", broker_url=url, celery_queue_prefix=prefix, runs_dir=tmp_path / "runs"
    )
    alice = api.key("alice")
    with start_worker(
        make_celery(api.state.settings),
        pool="solo",
        perform_ping_check=False,
        queues=f"{prefix}collab",
        shutdown_timeout=10,
    ):
        started = api.post("/v1/jobs", json=GENERATE_ONLY, headers=alice)
        assert started.status_code == 202, started.text
        done = wait_for_end(api, started.json()["job_id"], alice, timeout_s=20)
    assert done["status"] == "succeeded", done
    assert production == [None]  # the tracker answered: no facial model in production yet

    telemetry.tracer_provider().force_flush()
    finished = spans.get_finished_spans()
    (request,) = [s for s in finished if s.kind is SpanKind.SERVER and s.name == "POST /v1/jobs"]
    in_trace = [s for s in finished if s.context.trace_id == request.context.trace_id]
    by_kind = {kind: [s for s in in_trace if s.kind is kind] for kind in SpanKind}
    (publish,) = [s for s in by_kind[SpanKind.PRODUCER] if s.name.endswith("gateway.run_step")]
    (run,) = [s for s in by_kind[SpanKind.CONSUMER] if s.name.endswith("gateway.run_step")]
    rpc = "/srlforge.proto.v1.TrackerService/GetProduction"
    (call,) = [s for s in by_kind[SpanKind.CLIENT] if s.name == rpc]
    (served,) = [s for s in by_kind[SpanKind.SERVER] if s.name == rpc]
    # Each hop is the child of the one before: HTTP → publish → run → gRPC call → gRPC server.
    assert publish.parent.span_id == request.context.span_id
    assert run.parent.span_id == publish.context.span_id
    assert call.parent.span_id == run.context.span_id
    assert served.parent.span_id == call.context.span_id
    assert publish.resource.attributes["service.name"] == "srlforge-test"
    # The key is in no span: not its name, attributes, events or resource.
    secret = alice["X-API-Key"].rsplit("_", 1)[1]  # srlf_<key id>_<secret>
    for span in finished:
        recorded = [span.name, span.attributes, span.resource.attributes]
        recorded += [(e.name, e.attributes) for e in span.events]
        assert secret not in repr(recorded), span.name
    captured = [s.attributes.get("http.request.header.x_api_key") for s in finished]
    captured += [s.attributes.get("http.request.header.x-api-key") for s in finished]
    assert ("[REDACTED]",) in captured  # the header was captured, and redacted


def test_with_tracing_off_nothing_is_installed_and_the_gateway_works(
    no_otel_env, make_api, monkeypatch
):
    assert telemetry.tracer_provider() is None
    before = trace.get_tracer_provider()
    api = make_api()
    assert telemetry.tracer_provider() is None
    assert trace.get_tracer_provider() is before
    assert not getattr(api.app, "_is_instrumented_by_opentelemetry", False)
    assert telemetry.grpc_server_interceptors() == []
    channel = grpc.insecure_channel("127.0.0.1:1")
    assert telemetry.traced_channel(channel) is channel
    channel.close()
    sample = api.get("/v1/arena/facial/sample?difficulty=1", headers=api.key("alice"))
    assert sample.status_code == 200, sample.text
    # Asked for, but the SDK is missing: still off, and the gateway still starts.
    monkeypatch.setenv(telemetry.EXPORTER_ENV, "console")
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    assert telemetry.configure_tracing("srlforge-test") is None
    assert make_api().get("/healthz").status_code == 200
    assert telemetry.tracer_provider() is None


@pytest.mark.parametrize(
    ("environ", "choice"),
    [
        ({}, "none"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp"),
        ({telemetry.EXPORTER_ENV: "Console"}, "console"),
        ({telemetry.EXPORTER_ENV: "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "none"),
        ({telemetry.EXPORTER_ENV: "console", "OTEL_SDK_DISABLED": "true"}, "none"),
    ],
)
def test_the_exporter_comes_from_the_environment(environ, choice):
    assert telemetry.exporter_choice(environ) == choice


def test_an_unknown_exporter_is_refused_naming_the_choices():
    expected = r"SRLFORGE_OTEL_EXPORTER='jaeger': expected one of none, console, otlp"
    with pytest.raises(ValueError, match=expected):
        telemetry.exporter_choice({telemetry.EXPORTER_ENV: "jaeger"})
