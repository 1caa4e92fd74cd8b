"""deploy/healthcheck.py, the probe compose runs inside containers, against real servers."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy/healthcheck.py"


def _probe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=30
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/readyz" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_mode(http_server):
    assert _probe("http", f"{http_server}/readyz").returncode == 0
    failed = _probe("http", f"{http_server}/down")
    assert failed.returncode == 1 and "HTTP 503" in failed.stderr
    assert _probe("http", f"http://127.0.0.1:{_closed_port()}/").returncode == 1


def test_grpc_mode_against_the_tracker(tmp_path):
    from tracker_service.db import upgrade
    from tracker_service.embedded import EmbeddedTracker
    from tracker_service.grpc_server import build_server

    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    upgrade(url)
    tracker = EmbeddedTracker(url)
    server, port, health = build_server(tracker, "127.0.0.1:0", max_workers=2)
    server.start()
    try:
        assert _probe("grpc", f"127.0.0.1:{port}").returncode == 0
        health.enter_graceful_shutdown()
        stopping = _probe("grpc", f"127.0.0.1:{port}")
        assert stopping.returncode == 1 and "NOT_SERVING" in stopping.stderr
    finally:
        server.stop(grace=None)
        tracker.close()
    assert _probe("grpc", f"127.0.0.1:{_closed_port()}").returncode == 1


def test_usage_errors_exit_2():
    assert _probe().returncode == 2
    assert _probe("ftp", "x").returncode == 2
