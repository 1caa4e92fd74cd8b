"""OpenTelemetry tracing: one trace from an HTTP request to the gateway, through the Celery tasks
it enqueues, to the gRPC calls they make.

Off unless asked for. ``configure_tracing(service_name)`` reads ``SRLFORGE_OTEL_EXPORTER``
(``none``, ``console`` or ``otlp``; unset means ``otlp`` when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is
set, else ``none``) and ``OTEL_SDK_DISABLED`` (``true`` wins over everything). When tracing is
off, or the ``opentelemetry`` packages (the ``serve`` extra) are not installed, every helper here
is a no-op and nothing is imported from them, so the embedded default pays nothing.

Each process configures once, with its service name, then instruments its parts:

- gateway: ``instrument_fastapi(app)`` (server spans) and ``instrument_celery()`` (producer spans;
  the trace context travels in the task message headers);
- Celery workers: ``trace_celery_workers(service_name)`` configures and instruments in each pool
  process (``worker_process_init``: after the fork of a prefork child, or in a solo worker);
- gRPC: ``grpc_server_interceptors()`` for ``grpc.server(..., interceptors=...)`` and
  ``traced_channel(channel)`` for clients (the context travels in the call metadata).

Helpers take the provider explicitly rather than the global one, so a test can install its own
exporter. Credentials never become span attributes: request headers are not recorded unless
``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*`` asks for them, and then the key headers are
redacted; Celery tasks carry ids only; gRPC spans record method names and status codes.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the packages are optional; nothing below imports them unless tracing is on
    import grpc
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

EXPORTER_ENV = "SRLFORGE_OTEL_EXPORTER"
EXPORTERS = ("none", "console", "otlp")
# Header names (regexes, case-insensitive) whose values are replaced by "[REDACTED]" if an
# operator turns on header capture.
SENSITIVE_HEADERS = (
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "cookie",
    "set-cookie",
    ".*secret.*",
    ".*token.*",
)
# Probes answer every few seconds; a span each would bury the requests that matter.
UNTRACED_URLS = "healthz,readyz"
UNTRACED_GRPC_SERVICE = "grpc.health.v1.Health"

_lock = threading.Lock()
_provider: TracerProvider | None = None


def _sdk_disabled(environ: Mapping[str, str]) -> bool:
    return environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def exporter_choice(environ: Mapping[str, str] = os.environ) -> str:
    """``none``, ``console`` or ``otlp``, from the environment (see the module docstring)."""
    if _sdk_disabled(environ):
        return "none"
    value = environ.get(EXPORTER_ENV, "").strip().lower()
    if not value:
        endpoint = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        )
        return "otlp" if endpoint else "none"
    if value not in EXPORTERS:
        raise ValueError(f"{EXPORTER_ENV}={value!r}: expected one of {', '.join(EXPORTERS)}")
    return value


def _make_exporter(choice: str) -> SpanExporter:
    if choice == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    # Endpoint, headers (a collector's token goes on the wire, never into a span), timeout and
    # compression come from the standard OTEL_EXPORTER_OTLP_* variables.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def configure_tracing(
    service_name: str, *, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Install this process's tracer provider once; later calls return the same one.

    ``exporter`` overrides the environment's choice (tests pass an in-memory one). Returns
    ``None`` when tracing is off or the packages are missing: callers then instrument nothing.
    """
    global _provider
    with _lock:
        if _provider is not None:
            return _provider
        choice = exporter_choice()
        if choice == "none" and (exporter is None or _sdk_disabled(os.environ)):
            return None
        try:
            from opentelemetry import trace
            from opentelemetry.sdk.resources import SERVICE_NAME, Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError as exc:
            log.warning("tracing requested but OpenTelemetry is not installed (%s)", exc.name)
            return None
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
        provider.add_span_processor(BatchSpanProcessor(exporter or _make_exporter(choice)))
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            trace.set_tracer_provider(provider)  # for code that asks the API for a tracer
        _provider = provider
        log.info("tracing on for %s", service_name)
        return provider


def tracer_provider() -> TracerProvider | None:
    """The provider ``configure_tracing`` installed, or ``None`` while tracing is off."""
    return _provider


def shutdown_tracing() -> None:
    """Export what is buffered, stop the provider and the Celery instrumentation.

    A later ``configure_tracing`` starts afresh (apps and servers built before keep their
    instrumentation, which then records nothing).
    """
    global _provider
    with _lock:
        provider, _provider = _provider, None
    if provider is None:
        return
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    instrumentor = CeleryInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    provider.shutdown()


def instrument_fastapi(app: Any) -> bool:
    """Server spans for every request to ``app`` except the probes; ``False`` if tracing is off."""
    provider = _provider
    if provider is None:
        return False
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    configured = os.environ.get("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS", "")
    sanitize = [*SENSITIVE_HEADERS, *(f.strip() for f in configured.split(",") if f.strip())]
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=UNTRACED_URLS,
        http_capture_headers_sanitize_fields=sanitize,
        exclude_spans=["receive", "send"],  # a span per ASGI message costs more than it tells
    )
    return True


def instrument_celery() -> bool:
    """Producer spans when this process sends tasks, consumer spans when it runs them
    (Celery's signals are process-wide, so once covers every app); ``False`` if tracing is off."""
    provider = _provider
    if provider is None:
        return False
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    instrumentor = CeleryInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)
    return True


def trace_celery_workers(service_name: str) -> None:
    """Configure tracing and instrument Celery in each worker pool process of this program.

    In a prefork worker this runs in each child after the fork, so the exporter's thread and
    connections belong to the process that uses them. Cheap to call from every app factory.
    """
    from celery.signals import worker_process_init

    def on_worker_process_init(**_: Any) -> None:
        if configure_tracing(service_name) is not None:
            instrument_celery()

    worker_process_init.connect(
        on_worker_process_init, weak=False, dispatch_uid=f"srlforge-tracing-{service_name}"
    )


def grpc_server_interceptors() -> list[Any]:
    """Interceptors for ``grpc.server``: a server span per call (health checks excepted), in
    the caller's trace; empty while tracing is off."""
    provider = _provider
    if provider is None:
        return []
    from opentelemetry.instrumentation.grpc import filters, server_interceptor

    untraced = filters.negate(filters.service_name(UNTRACED_GRPC_SERVICE))
    return [server_interceptor(tracer_provider=provider, filter_=untraced)]


def traced_channel(channel: grpc.Channel) -> grpc.Channel:
    """``channel`` with a client span per call that carries the trace to the server;
    ``channel`` itself while tracing is off. Close the original channel, not this one."""
    provider = _provider
    if provider is None:
        return channel
    from opentelemetry.instrumentation.grpc import client_interceptor
    from opentelemetry.instrumentation.grpc.grpcext import intercept_channel

    return intercept_channel(channel, client_interceptor(tracer_provider=provider))
