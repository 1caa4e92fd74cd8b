"""``/readyz``: does every dependency this gateway is configured with answer right now?

Each check runs on its own thread with a deadline, so one hung dependency cannot hold the
probe past ``readiness_timeout_s``. The answer names each dependency, its state and the kind
of failure; the full error (scrubbed of any password from the configured URLs) goes to the log,
because it names hosts and ports that a public probe should not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import urlsplit

from gateway.db import GatewayDatabase
from gateway.ratelimit import RateLimiter, RedisTokenBucket
from gateway.settings import GatewaySettings
from gateway.tracker_link import TrackerLink

log = logging.getLogger("gateway")


def _passwords(settings: GatewaySettings) -> list[str]:
    urls = [settings.resolved_db_url(), settings.redis_url, settings.broker_url]
    found = []
    for url in urls:
        if url and "://" in url:
            password = urlsplit(url).password
            if password:
                found.append(password)
    return found


def _grpc_health(target: str, timeout: float) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=timeout
        )
    if response.status != health_pb2.HealthCheckResponse.SERVING:
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        raise RuntimeError(f"health status {status}")


def _broker(url: str, timeout: float) -> None:
    from kombu import Connection

    with Connection(url, connect_timeout=timeout) as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout)


def checks(
    settings: GatewaySettings, db: GatewayDatabase, limiter: RateLimiter, tracker: TrackerLink
) -> dict[str, Callable[[], object] | None]:
    """Name -> check (None: not configured)."""
    timeout = settings.readiness_timeout_s
    out: dict[str, Callable[[], object] | None] = {"database": db.ping}
    out["rate_limiter"] = limiter.ping if isinstance(limiter, RedisTokenBucket) else None
    broker = settings.broker_url
    out["broker"] = (lambda: _broker(broker, timeout)) if broker else None
    if settings.tracker == "grpc" and settings.tracker_target:
        target = settings.tracker_target
        out["tracker"] = lambda: _grpc_health(target, timeout)
    elif settings.tracker == "embedded":
        out["tracker"] = lambda: tracker.client().list_models(stage="production")
    else:
        out["tracker"] = None
    collab = settings.collab_target
    out["collab"] = (lambda: _grpc_health(collab, timeout)) if collab else None
    return out


def _kind(exc: Exception) -> str:
    """What failed, without the message: messages carry hosts and ports (logged instead)."""
    code = getattr(exc, "code", None)
    if callable(code):  # grpc.RpcError
        try:
            return f"{type(exc).__name__}: {code().name}"
        except (AttributeError, TypeError):
            pass
    return type(exc).__name__


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return round((time.perf_counter() - started) * 1000, 1)


def run_checks(
    named: dict[str, Callable[[], object] | None], timeout: float, secrets: list[str]
) -> tuple[bool, dict[str, Any]]:
    results: dict[str, Any] = {}
    active = {name: fn for name, fn in named.items() if fn is not None}
    for name in named.keys() - active.keys():
        results[name] = {"state": "not configured"}
    if active:
        pool = ThreadPoolExecutor(max_workers=len(active), thread_name_prefix="readyz")
        started = time.perf_counter()
        futures = {name: pool.submit(_timed, fn) for name, fn in active.items()}
        for name, future in futures.items():
            left = max(0.0, timeout - (time.perf_counter() - started))
            try:
                latency_ms = future.result(timeout=left)
            except FutureTimeout:
                results[name] = {"state": "timeout", "error": f"no answer within {timeout:g} s"}
                continue
            except Exception as exc:  # any failure of a dependency means "not ready"
                message = f"{type(exc).__name__}: {exc}"[:500]
                for secret in secrets:
                    message = message.replace(secret, "***")
                log.warning("readiness: %s unavailable: %s", name, message)
                results[name] = {"state": "unavailable", "error": _kind(exc)}
                continue
            results[name] = {"state": "ok", "latency_ms": latency_ms}
        # Do not wait for a hung check; its thread ends when its own timeout fires.
        pool.shutdown(wait=False)
    ready = all(r["state"] in {"ok", "not configured"} for r in results.values())
    return ready, dict(sorted(results.items()))


def readiness(
    settings: GatewaySettings, db: GatewayDatabase, limiter: RateLimiter, tracker: TrackerLink
) -> tuple[bool, dict[str, Any]]:
    return run_checks(
        checks(settings, db, limiter, tracker), settings.readiness_timeout_s, _passwords(settings)
    )
