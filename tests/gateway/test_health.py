"""``/healthz`` and ``/readyz``: each configured dependency checked for real (database, Redis
broker, the tracker's gRPC health service), reported by name, passwords scrubbed."""

from __future__ import annotations

import socket

import pytest


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_needs_nothing(api):
    assert api.get("/healthz").json() == {"status": "ok"}


def test_readyz_with_nothing_else_configured(api):
    response = api.get("/readyz")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"]["state"] == "ok"
    for name in ("broker", "collab", "rate_limiter", "tracker"):
        assert checks[name] == {"state": "not configured"}


@pytest.fixture
def tracker_grpc(tmp_path):
    """The real tracker gRPC server (with health checking) on a free loopback port."""
    from tracker_service.db import upgrade
    from tracker_service.embedded import EmbeddedTracker
    from tracker_service.grpc_server import build_server

    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    upgrade(url)
    tracker = EmbeddedTracker(url)
    server, port, _ = build_server(tracker, "127.0.0.1:0", max_workers=2)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(grace=None)
    tracker.close()


@pytest.mark.integration
def test_readyz_checks_every_configured_dependency(make_api, tracker_grpc, redis_url):
    api = make_api(tracker="grpc", tracker_target=tracker_grpc, broker_url=redis_url)
    response = api.get("/readyz")
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    for name in ("database", "broker", "tracker"):
        assert checks[name]["state"] == "ok", checks
        assert checks[name]["latency_ms"] >= 0


def test_readyz_names_what_is_down_and_hides_passwords(make_api, tracker_grpc):
    password = "broker-pass-123"
    api = make_api(
        tracker="grpc",
        tracker_target=tracker_grpc,
        collab_target=f"127.0.0.1:{_closed_port()}",
        broker_url=f"redis://:{password}@127.0.0.1:{_closed_port()}/0",
        readiness_timeout_s=1.5,
    )
    response = api.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    checks = body["checks"]
    assert checks["tracker"]["state"] == "ok"
    assert checks["collab"]["state"] in {"unavailable", "timeout"}
    assert checks["broker"]["state"] in {"unavailable", "timeout"}
    assert password not in response.text
    assert "127.0.0.1" not in response.text  # no target addresses in a public probe
