"""The embedded default for real: ``python -m gateway keys create`` and ``serve --port 0`` as
processes with nothing but ``SRLFORGE_HOME``, then HTTP over loopback with httpx."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"gateway listening on (http://127\.0\.0\.1:\d+)")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SRLFORGE_")}
    env["SRLFORGE_HOME"] = str(home)
    return env


@pytest.fixture
def served(tmp_path):
    """A gateway process on a free port; yields (base_url, key, output lines)."""
    env = _env(tmp_path / "home")
    created = subprocess.run(
        [sys.executable, "-m", "gateway", "keys", "create", "--tenant", "acme", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)["key"]
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    base_url = None
    deadline = time.monotonic() + 60
    while base_url is None and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            assert process.poll() is None, "".join(output)
            continue
        match = LISTENING.search(line)
        base_url = match[1] if match else None
    assert base_url, "the gateway did not report its port:\n" + "".join(output)
    try:
        yield base_url, key, output, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_serve_answers_over_loopback_and_stops_on_sigterm(served):
    base_url, key, output, process = served
    with httpx.Client(base_url=base_url, timeout=30) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").status_code == 200
        assert client.get("/v1/rules").status_code == 401
        rules = client.get("/v1/rules", headers={"X-API-Key": key})
        assert rules.status_code == 200
        assert rules.json()["versions"][0]["scope"] == "builtin"
        sample = client.get("/v1/arena/facial/sample", headers={"X-API-Key": key})
        assert sample.json()["scenario"]["model_type"] == "facial"
        assert client.get("/openapi.json").json()["info"]["title"] == "srlforge gateway"
    process.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert process.wait(timeout=20) in (0, -signal.SIGTERM)
    log = "".join(output)
    assert "Application shutdown complete" in log
    assert "GET /v1/rules" in log  # the access log is on ...
    # ... and never shows a key: neither whole nor its secret part ("srlf_<id>_<secret>"; the
    # secret is token_urlsafe and may itself contain "_", so split from the left).
    secret_part = key.split("_", 2)[2]
    assert len(secret_part) >= 40
    assert key not in log and secret_part not in log
