"""deploy/local-stack.sh for real: the tracker and the gateway as separate processes on this
machine's PostgreSQL and Redis, exactly as compose runs them; the gateway reaches the tracker
over gRPC; `down` stops everything it started."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support import redis_db
from tests.support.postgres import temporary_schema

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy/local-stack.sh"

pytestmark = pytest.mark.integration


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def schemas():
    """Two fresh PostgreSQL schemas (gateway, tracker), dropped afterwards."""
    with (
        temporary_schema("stack_gateway") as gateway,
        temporary_schema("stack_tracker") as tracker,
    ):
        yield [gateway, tracker]


def _stack(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=180
    )


@pytest.fixture
def redis_url() -> str:
    return redis_db.GATEWAY.require()


def test_local_stack_runs_tracker_and_gateway_as_separate_processes(tmp_path, schemas, redis_url):
    gateway_db, tracker_db = schemas
    gateway_port, tracker_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SRLFORGE_")}
    env.update(
        STACK_DIR=str(tmp_path / "stack"),
        SERVICES="gateway-migrate tracker-migrate tracker gateway",
        GATEWAY_PORT=str(gateway_port),
        TRACKER_PORT=str(tracker_port),
        SRLFORGE_GATEWAY_DB_URL=gateway_db,
        SRLFORGE_TRACKER_DB_URL=tracker_db,
        SRLFORGE_GATEWAY_KEY_SECRET=secrets.token_urlsafe(48),
        SRLFORGE_GATEWAY_BROKER_URL=redis_url,
        SRLFORGE_GATEWAY_REDIS_URL=redis_url,
        SRLFORGE_GATEWAY_RATE_LIMIT_KEY_PREFIX=f"srlforge-test:{uuid.uuid4().hex[:8]}:",
    )
    started = _stack(env, "up")
    try:
        assert started.returncode == 0, started.stderr + _logs(tmp_path)
        status = _stack(env, "status").stdout
        assert "tracker running" in status and "gateway running" in status
        key = subprocess.run(
            ["python", "-m", "gateway", "keys", "create", "--tenant", "acme", "--json"],
            cwd=ROOT,
            env={**env, "PATH": f"{ROOT / '.venv/bin'}:{env['PATH']}"},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        headers = {"X-API-Key": json.loads(key.stdout)["key"]}
        _register_a_model(tracker_db)
        with httpx.Client(base_url=f"http://127.0.0.1:{gateway_port}", timeout=30) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            checks = ready.json()["checks"]
            for name in ("database", "broker", "rate_limiter", "tracker"):
                assert checks[name]["state"] == "ok", checks
            # Through the gateway, over gRPC, into the tracker process's PostgreSQL schema.
            chosen = client.post(
                "/v1/models:select", headers=headers, json={"model_type": "facial"}
            )
            assert chosen.status_code == 200, chosen.text
            assert chosen.json()["source"] == "tracker"
            assert [r["model_id"] for r in chosen.json()["ranking"]] == ["facial-stack-1"]
    finally:
        stopped = _stack(env, "down")
    assert stopped.returncode == 0, stopped.stderr
    pids = list((tmp_path / "stack" / "pids").glob("*.pid"))
    assert pids == []
    assert "running" not in _stack(env, "status").stdout


def _register_a_model(tracker_db: str) -> None:
    from tracker_service.embedded import EmbeddedTracker

    with EmbeddedTracker(tracker_db) as tracker:
        tracker.register_model(
            model_type="facial",
            model_id="facial-stack-1",
            evaluation={"accuracy": 0.8, "quality": 0.75, "latency_ms": 90.0},
        )


def _logs(tmp_path: Path) -> str:
    logs = tmp_path / "stack" / "logs"
    return "".join(f"\n--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(logs.glob("*")))
