"""The distributed mode for real: ``deploy/local-stack.sh`` starts the gateway (celery
executor), the collab worker and one gateway job worker per queue (collab, srl, rlvr, eval) as
separate processes, on a fresh PostgreSQL database and a Redis database of their own. A job
submitted over HTTP runs each step in the worker process of its queue; a worker killed with
SIGKILL in the middle of a step has that step redone once, by another process, and the job
still ends; a cancel stops a job after the step that is running.

The jobs use the ``micro`` base model and a handful of steps, examples and episodes. The base
model is built once per checkout (``.srlforge/test-cache``, rebuilt when its recipe changes) and
copied into the stack's ``SRLFORGE_HOME``, so a job measures the distributed machinery rather
than the 20-50 s base-model build.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.postgres import POSTGRES_URL, require_postgres
from tests.support.redis_db import RedisDb

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy/local-stack.sh"
# The gateway's broker and rate limiter, and the collab service's broker: two databases, as in
# docker-compose.yml, because both have a queue named collab (a worker drops unknown tasks).
GATEWAY_REDIS = RedisDb("SRLFORGE_TEST_DISTRIBUTED_REDIS_URL", 13)
COLLAB_REDIS = RedisDb("SRLFORGE_TEST_DISTRIBUTED_COLLAB_REDIS_URL", 14)
QUEUE_OF = {"generate": "collab", "srl": "srl", "rlvr": "rlvr", "evaluate": "eval"}
WORKERS = [f"gateway-worker-{q}" for q in ("collab", "srl", "rlvr", "eval")]
SERVICES = ["gateway-migrate", "gateway", "collab-worker", *WORKERS]
# Short enough that a dead worker's step is re-sent within seconds, long enough that a
# heartbeat (every third of it) delayed by a busy 2-core machine does not lose the lease.
LEASE_S = 6
TERMINAL = ("succeeded", "failed", "cancelled")

pytestmark = pytest.mark.integration


def job_body(**budget: Any) -> dict[str, Any]:
    return {
        "model_type": "facial",
        "stages": ["srl", "rlvr"],
        "evaluate": True,
        "teacher": "arena",
        "base_model": "micro",
        "train_difficulties": [1],
        "budget": {"n_examples": 4, "max_steps": 2, "eval_episodes": 2, **budget},
    }


@dataclass
class Stack:
    env: dict[str, str]
    dir: Path
    client: httpx.Client
    headers: dict[str, str]
    db_url: str

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(SCRIPT), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=180,
        )

    def pid(self, service: str) -> int:
        return int((self.dir / "pids" / f"{service}.pid").read_text())

    def logs(self) -> str:
        """The services' log lines that say something (no banners, progress bars, polls)."""
        out = []
        for path in sorted((self.dir / "logs").glob("*.log")):
            lines = [
                line
                for line in path.read_text().splitlines()
                if ("ERROR" in line or "WARNING/" in line or "Error" in line)
                and "it/s]" not in line
                and "examples/s]" not in line
            ]
            out.append(f"\n--- {path.name}\n" + "\n".join(lines[-30:]))
        return "".join(out)

    def ledger(self, job_id: str) -> dict[str, dict[str, Any]]:
        """The job's rows of ``gateway_job_steps``, straight from the database."""
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text(
                        "SELECT step, status, attempt, lease_owner, lease_until"
                        " FROM gateway_job_steps WHERE job_id = :job"
                    ),
                    {"job": job_id},
                ).mappings()
                return {r["step"]: dict(r) for r in rows}
        finally:
            engine.dispose()

    def wait_for_end(self, job_id: str, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            body = self.client.get(f"/v1/jobs/{job_id}", headers=self.headers).json()
            if body["status"] in TERMINAL:
                return body
            time.sleep(0.2)
        steps = {
            s: (r["status"], r["attempt"], r["lease_owner"]) for s, r in self.ledger(job_id).items()
        }
        raise AssertionError(f"job {job_id} did not end in {timeout_s} s: {steps}{self.logs()}")

    def service_of(self, pid: int) -> str:
        """The local-stack service whose process group holds ``pid`` (a worker's pool child)."""
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            raise AssertionError(f"process {pid} is gone{self.logs()}") from None
        return next(s for s in SERVICES if s != "gateway-migrate" and self.pid(s) == group)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _owner_pid(owner: str) -> int:
    return int(owner.split(":")[1])  # "<host>:<pid>:<task id>"


@pytest.fixture(scope="module")
def fresh_database() -> Iterator[str]:
    """A database of its own on the test PostgreSQL server, dropped afterwards."""
    require_postgres()
    name = f"srlforge_dist_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def redis_urls() -> Iterator[tuple[str, str]]:
    """The suite's own Redis databases (gateway, collab), emptied before and after."""
    urls = (GATEWAY_REDIS.require(), COLLAB_REDIS.require())
    clients = [redis.Redis.from_url(url) for url in urls]
    for client in clients:
        client.flushdb()
    yield urls
    for client in clients:
        client.flushdb()
        client.close()


def _install_micro_base(home: Path) -> None:
    """Put the facial ``micro`` base model where the workers' trainer looks for it."""
    from trainer_service.base_models import build_config, build_preset, cache_dir
    from trainer_service.transcript import DEFAULT_FORMAT

    cached = build_preset(
        "facial",
        "micro",
        seed=0,
        out_dir=ROOT / ".srlforge/test-cache/models/facial-micro",
        progress=False,
    )
    # The folder name depends on the build recipe only; its parent is $SRLFORGE_HOME/models.
    name = cache_dir(build_config("facial", "micro", 0, DEFAULT_FORMAT)).name
    shutil.copytree(cached, home / "models" / name)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, fresh_database, redis_urls) -> Iterator[Stack]:
    redis_url, collab_redis_url = redis_urls
    base = tmp_path_factory.mktemp("distributed")
    _install_micro_base(base / "home")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SRLFORGE_")}
    env.update(
        STACK_DIR=str(base / "stack"),
        SERVICES=" ".join(SERVICES),
        GATEWAY_PORT=str(port),
        SRLFORGE_HOME=str(base / "home"),
        SRLFORGE_RUNS_DIR=str(base / "runs"),
        SRLFORGE_GATEWAY_DB_URL=fresh_database,
        SRLFORGE_TRACKER_DB_URL=fresh_database,  # not used (tracker off); keeps local-stack
        # from creating its default databases on the shared server
        SRLFORGE_GATEWAY_KEY_SECRET=secrets.token_urlsafe(48),
        SRLFORGE_GATEWAY_BROKER_URL=redis_url,
        SRLFORGE_GATEWAY_REDIS_URL=redis_url,
        SRLFORGE_GATEWAY_RATE_LIMIT_PER_S="1000",
        SRLFORGE_GATEWAY_RATE_LIMIT_BURST="1000",
        SRLFORGE_GATEWAY_TRACKER="off",
        SRLFORGE_GATEWAY_JOB_LEASE_S=str(LEASE_S),
        SRLFORGE_GATEWAY_JOB_EVENTS_POLL_S="0.2",
        SRLFORGE_GATEWAY_MAX_CONCURRENT_JOBS="10",
        SRLFORGE_COLLAB_DATABASE_URL=f"sqlite:///{base / 'collab.db'}",
        SRLFORGE_COLLAB_BROKER_URL=collab_redis_url,
        SRLFORGE_COLLAB_RESULT_BACKEND=collab_redis_url,
        # One torch thread per worker: four workers share two cores.
        OMP_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        TRL_EXPERIMENTAL_SILENCE="1",
    )
    env["PATH"] = f"{ROOT / '.venv/bin'}:{env['PATH']}"
    stack = Stack(env, base / "stack", httpx.Client(base_url=f"http://127.0.0.1:{port}"), {}, "")
    stack.db_url = fresh_database
    try:
        started = stack.run("up")
        assert started.returncode == 0, started.stderr + stack.logs()
        key = subprocess.run(
            ["srlforge", "keys", "create", "--tenant", "dist", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert key.returncode == 0, key.stderr
        stack.headers = {"X-API-Key": json.loads(key.stdout)["key"]}
        _wait_for_workers(stack, WORKERS)
        yield stack
    finally:
        stack.client.close()
        stopped = stack.run("down")
        leftover = list((base / "stack" / "pids").glob("*.pid"))
    assert stopped.returncode == 0, stopped.stderr
    assert leftover == [], leftover


def _wait_for_workers(stack: Stack, services: list[str], timeout_s: float = 60) -> None:
    """Until each Celery worker answers a broadcast ping (connected and consuming)."""
    from celery import Celery

    wanted = {
        f"gateway-{s.removeprefix('gateway-worker-')}@{socket.gethostname()}" for s in services
    }
    app = Celery(broker=stack.env["SRLFORGE_GATEWAY_BROKER_URL"], set_as_current=False)
    deadline = time.monotonic() + timeout_s
    answered: set[str] = set()
    try:
        while not wanted <= answered and time.monotonic() < deadline:
            answered |= {name for reply in app.control.ping(timeout=0.5) for name in reply}
    finally:
        app.close()
    assert wanted <= answered, f"not ready after {timeout_s} s: {wanted - answered}{stack.logs()}"


def _collect_events(stack: Stack, job_id: str, into: list[tuple[str, dict]]) -> None:
    with (
        httpx.Client(base_url=stack.client.base_url, timeout=120) as client,
        client.stream("GET", f"/v1/jobs/{job_id}/events", headers=stack.headers) as response,
    ):
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event:
                into.append((event, json.loads(line.removeprefix("data: "))))


def test_each_step_of_a_job_runs_in_the_worker_process_of_its_queue(stack):
    key = f"dist-{uuid.uuid4().hex[:8]}"
    submit = {"json": job_body(), "headers": {**stack.headers, "Idempotency-Key": key}}
    started = time.monotonic()
    first = stack.client.post("/v1/jobs", **submit)
    assert first.status_code == 202, first.text
    job = first.json()
    assert job["executor"] == "celery" and job["plan"] == ["generate", "srl", "rlvr", "evaluate"]
    events: list[tuple[str, dict]] = []
    listener = threading.Thread(target=_collect_events, args=(stack, job["job_id"], events))
    listener.start()

    done = stack.wait_for_end(job["job_id"], timeout_s=80)
    listener.join(timeout=10)
    assert done["status"] == "succeeded", f"{done}{stack.logs()}"
    assert [(s["step"], s["status"], s["attempt"]) for s in done["steps"]] == [
        ("generate", "succeeded", 1),
        ("srl", "succeeded", 1),
        ("rlvr", "succeeded", 1),
        ("evaluate", "succeeded", 1),
    ]
    # The ledger keeps the owner of the finished attempt: host, pid and task id.
    ledger = stack.ledger(job["job_id"])
    pids = {step: _owner_pid(row["lease_owner"]) for step, row in ledger.items()}
    assert len(set(pids.values())) == 4, pids
    for step, pid in pids.items():
        assert stack.service_of(pid) == f"gateway-worker-{QUEUE_OF[step]}", (step, pid)
        assert ledger[step]["lease_owner"].endswith(f"{job['job_id']}:{step}")
    report = done["report"]
    assert [s["name"] for s in report["stages"]] == ["srl", "rlvr"]
    assert all(s["steps"] == 2 for s in report["stages"])
    assert report["run_id"] == job["job_id"] and report["registered"] is False
    assert Path(report["stages"][1]["model_dir"]).is_dir()
    assert (Path(stack.env["SRLFORGE_RUNS_DIR"]) / job["job_id"] / "report.json").is_file()

    again = stack.client.post("/v1/jobs", **submit)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["job_id"] == job["job_id"]
    assert len(stack.client.get("/v1/jobs", headers=stack.headers).json()) >= 1
    assert stack.ledger(job["job_id"])["generate"]["attempt"] == 1  # the replay ran nothing

    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "end" and events[-1][1] == {
        "job_id": job["job_id"],
        "status": "succeeded",
        "error": None,
    }
    progress = [data for kind, data in events if kind == "progress"]
    assert len(progress) >= 3  # at least queued/running, some steps done, and the end
    assert progress[-1]["progress"]["done"] == 4
    assert {p["progress"]["current_step"] for p in progress} & {"srl", "rlvr", "evaluate"}
    print(f"\ndistributed job: {time.monotonic() - started:.1f} s")


def test_a_step_whose_worker_is_killed_is_redone_once_by_another_worker(stack):
    body = {**job_body(), "stages": ["srl"], "evaluate": False}
    job = stack.client.post("/v1/jobs", json=body, headers=stack.headers).json()
    job_id = job["job_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = stack.ledger(job_id).get("srl", {})
        if row.get("status") == "running" and row.get("lease_owner"):
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"srl never started{stack.logs()}")
    first_owner = row["lease_owner"]
    killed = stack.pid("gateway-worker-srl")
    assert stack.service_of(_owner_pid(first_owner)) == "gateway-worker-srl"
    # The whole worker (main process and pool child), as when its node dies: no WorkerLostError,
    # no ack; Redis would give the message back only after the visibility timeout (hours).
    os.killpg(killed, signal.SIGKILL)
    killed_at = time.monotonic()
    while "gateway-worker-srl running" in stack.run("status").stdout:
        assert time.monotonic() - killed_at < 10, "the killed worker is still running"
        time.sleep(0.1)
    # Kubernetes or compose would start a new one; local-stack does it on `up`.
    restarted = stack.run("up", SERVICES="gateway-worker-srl")
    assert restarted.returncode == 0, restarted.stderr
    assert stack.pid("gateway-worker-srl") != killed

    done = stack.wait_for_end(job_id, timeout_s=60)
    assert done["status"] == "succeeded", f"{done}{stack.logs()}"
    srl = stack.ledger(job_id)["srl"]
    # Redone exactly once, by the new process, after the dead one's lease ran out.
    assert (srl["status"], srl["attempt"]) == ("succeeded", 2)
    assert srl["lease_owner"] != first_owner
    assert stack.service_of(_owner_pid(srl["lease_owner"])) == "gateway-worker-srl"
    assert os.getpgid(_owner_pid(srl["lease_owner"])) == stack.pid("gateway-worker-srl")
    assert stack.ledger(job_id)["generate"]["attempt"] == 1
    assert done["report"]["steps"]["srl"]["steps"] == 2
    assert time.monotonic() - killed_at >= LEASE_S * 0.5  # not redone before the lease expiry
    print(f"\nredone and finished {time.monotonic() - killed_at:.1f} s after the kill")


def test_cancel_stops_a_running_job_after_its_current_step(stack):
    # A longer srl stage, so that the cancel arrives while it runs.
    body = job_body(max_steps={"srl": 12, "rlvr": 2})
    job_id = stack.client.post("/v1/jobs", json=body, headers=stack.headers).json()["job_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = stack.client.get(f"/v1/jobs/{job_id}", headers=stack.headers).json()
        if view["progress"]["current_step"] == "srl":
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"srl never started: {view}{stack.logs()}")
    cancel = stack.client.post(f"/v1/jobs/{job_id}:cancel", headers=stack.headers)
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["cancel_requested"] is True
    running = cancel.json()["progress"]["current_step"]
    assert running in ("srl", None), cancel.json()  # None: srl ended in between

    done = stack.wait_for_end(job_id, timeout_s=60)
    assert done["status"] == "cancelled", done
    steps = {s["step"]: s for s in done["steps"]}
    assert (steps["generate"]["status"], steps["srl"]["status"]) == ("succeeded", "succeeded")
    for later in ("rlvr", "evaluate"):
        assert (steps[later]["status"], steps[later]["attempt"]) == ("cancelled", 0), steps
    assert done["report"] is None
