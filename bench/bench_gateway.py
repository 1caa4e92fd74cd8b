"""Gateway benchmark: job-status reads at a fixed request rate, and what the celery executor
costs over the local one.

    python bench/bench_gateway.py                          # both parts, prints a table
    python bench/bench_gateway.py --part reads --rate 200 --seconds 12
    python bench/bench_gateway.py --markdown bench/results/gateway.md

reads: a real ``srlforge serve`` process (uvicorn) holding one finished job; an open-loop client
sends ``GET /v1/jobs/{id}`` at ``--rate`` requests/s for ``--seconds`` (request i is due at
t0 + i/rate whatever happened to the earlier ones, so a slow server cannot slow the client
down and hide its own latency: latency is measured from the due time). The baseline is
``GET /healthz`` (no auth, no database) at the same rate in the same run. Done on the embedded
default (SQLite) and on PostgreSQL; the per-tenant rate limit is raised for the run.

executors: the same small pipeline (generate → srl → rlvr → evaluate, ``micro`` base model,
2 steps per stage, 4 examples, 2 evaluation episodes) submitted over HTTP to a gateway with the
local executor (steps in a thread of the gateway process) and to a gateway with the celery
executor and one worker process per queue started by ``deploy/local-stack.sh`` (Redis db 15,
emptied before and after); wall time from POST to the job's end, seen by polling every 50 ms.
The first job of each pays the imports (torch, TRL) of the process(es) that run it; the second
is warm. Both use PostgreSQL (a throwaway database) and one torch thread per process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv/bin"
POSTGRES_URL = os.environ.get(
    "SRLFORGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BENCH_REDIS = os.environ.get("SRLFORGE_BENCH_GATEWAY_REDIS_URL", "redis://127.0.0.1:6379/15")
TARGET_P99_MS = 20.0
PIPELINE = {
    "model_type": "facial",
    "stages": ["srl", "rlvr"],
    "evaluate": True,
    "teacher": "arena",
    "base_model": "micro",
    "train_difficulties": [1],
    "budget": {"n_examples": 4, "max_steps": 2, "eval_episodes": 2},
}
GENERATE_ONLY = {**PIPELINE, "stages": [], "evaluate": False, "budget": {"n_examples": 2}}
WORKERS = [f"gateway-worker-{q}" for q in ("collab", "srl", "rlvr", "eval")]


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SRLFORGE_")}
    env.update(
        PATH=f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}",
        SRLFORGE_HOME=str(home),
        SRLFORGE_RUNS_DIR=str(home / "runs"),
        SRLFORGE_GATEWAY_TRACKER="off",
        SRLFORGE_GATEWAY_RATE_LIMIT_PER_S="100000",
        SRLFORGE_GATEWAY_RATE_LIMIT_BURST="100000",
        SRLFORGE_GATEWAY_MAX_CONCURRENT_JOBS="10",
        OMP_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        TRL_EXPERIMENTAL_SILENCE="1",
    )
    return env


def server_env(home: Path, db_url: str) -> dict[str, str]:
    """A gateway on a database server: the secret is configured, the schema migrated."""
    env = base_env(home)
    env.update(
        SRLFORGE_GATEWAY_DB_URL=db_url, SRLFORGE_GATEWAY_KEY_SECRET=secrets.token_urlsafe(48)
    )
    subprocess.run([BIN / "python", "-m", "gateway", "migrate"], env=env, check=True, cwd=ROOT)
    return env


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    name = f"bench_gateway_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def serve(env: dict[str, str]) -> Iterator[str]:
    """``srlforge serve --port 0`` in its own process; yields its base URL."""
    process = subprocess.Popen(
        [BIN / "srlforge", "serve", "--port", "0"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stderr:
            found = re.search(r"gateway listening on (http://\S+)", line)
            if found:
                break
        else:
            raise RuntimeError(f"srlforge serve exited with {process.wait()}")
        # Keep draining stderr (access logs) so the server never blocks on a full pipe.
        threading.Thread(target=process.stderr.read, daemon=True).start()
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(timeout=30)


def api_key(env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run(
        [BIN / "srlforge", "keys", "create", "--tenant", "bench", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return {"X-API-Key": json.loads(out.stdout)["key"]}


def run_job(client: httpx.Client, headers: dict[str, str], body: dict) -> tuple[str, float]:
    """Submit and wait; the job id and the wall seconds from POST to its end."""
    started = time.perf_counter()
    job = client.post("/v1/jobs", json=body, headers=headers)
    job.raise_for_status()
    job_id = job.json()["job_id"]
    while True:
        view = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if view["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    if view["status"] != "succeeded":
        raise RuntimeError(f"job {job_id} ended {view['status']}: {view['error']}")
    return job_id, seconds


async def open_loop(base: str, path: str, headers: dict, rate: float, seconds: float) -> dict:
    """Request i due at t0 + i/rate; latency from the due time to the complete response."""
    total = int(rate * seconds)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:
        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.2

        async def one(i: int) -> None:
            due = t0 + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                response = await client.get(path, headers=headers)
                if response.status_code != 200:
                    errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
                    return
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            latencies.append((loop.time() - due) * 1000)

        await asyncio.gather(*(one(i) for i in range(total)))
        elapsed = loop.time() - t0
    ms = np.array(latencies) if latencies else np.array([float("nan")])
    return {
        "requests": total,
        "ok": len(latencies),
        "errors": errors,
        "achieved_per_s": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


def bench_reads(backend: str, args: argparse.Namespace, home: Path) -> dict:
    with contextlib.ExitStack() as stack:
        if backend == "postgresql":
            env = server_env(home, stack.enter_context(fresh_database()))
        else:
            env = base_env(home)  # the embedded default: SQLite under SRLFORGE_HOME
        base = stack.enter_context(serve(env))
        headers = api_key(env)
        with httpx.Client(base_url=base, timeout=30) as client:
            job_id, _ = run_job(client, headers, GENERATE_ONLY)
            size = len(client.get(f"/v1/jobs/{job_id}", headers=headers).content)
        print(f"{backend}: job {job_id} ({size} bytes of status); {args.rate}/s", file=sys.stderr)
        results = {}
        for name, path, auth in (
            ("healthz", "/healthz", {}),
            ("job status", f"/v1/jobs/{job_id}", headers),
        ):
            results[name] = asyncio.run(open_loop(base, path, auth, args.rate, args.seconds))
            print(f"  {name}: {results[name]}", file=sys.stderr)
        return results


def install_micro_base(home: Path) -> None:
    """The facial micro base model, built once per checkout, where the trainer looks for it."""
    from trainer_service.base_models import build_config, build_preset, cache_dir
    from trainer_service.transcript import DEFAULT_FORMAT

    cached = build_preset(
        "facial",
        "micro",
        seed=0,
        out_dir=ROOT / ".srlforge/test-cache/models/facial-micro",
        progress=False,
    )
    name = cache_dir(build_config("facial", "micro", 0, DEFAULT_FORMAT)).name
    shutil.copytree(cached, home / "models" / name, dirs_exist_ok=True)


def bench_local(home: Path, jobs: int) -> list[float]:
    install_micro_base(home)
    with fresh_database() as db_url:
        env = server_env(home, db_url)
        with serve(env) as base, httpx.Client(base_url=base, timeout=30) as client:
            headers = api_key(env)
            return [run_job(client, headers, PIPELINE)[1] for _ in range(jobs)]


def bench_celery(home: Path, jobs: int) -> list[float]:
    install_micro_base(home)
    broker = redis.Redis.from_url(BENCH_REDIS)
    broker.flushdb()
    port = _free_port()
    with fresh_database() as db_url:
        env = base_env(home)
        env.update(
            STACK_DIR=str(home / "stack"),
            SERVICES=" ".join(["gateway-migrate", "gateway", *WORKERS]),
            GATEWAY_PORT=str(port),
            SRLFORGE_GATEWAY_DB_URL=db_url,
            SRLFORGE_TRACKER_DB_URL=db_url,  # unused; keeps local-stack's defaults untouched
            SRLFORGE_GATEWAY_KEY_SECRET=secrets.token_urlsafe(48),
            SRLFORGE_GATEWAY_BROKER_URL=BENCH_REDIS,
            SRLFORGE_GATEWAY_REDIS_URL=BENCH_REDIS,
        )
        script = ["bash", str(ROOT / "deploy/local-stack.sh")]
        try:
            subprocess.run([*script, "up"], env=env, check=True, cwd=ROOT)
            headers = api_key(env)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                return [run_job(client, headers, PIPELINE)[1] for _ in range(jobs)]
        finally:
            subprocess.run([*script, "down"], env=env, check=False, cwd=ROOT)
            broker.flushdb()
            broker.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render(reads: dict | None, executors: dict | None, args: argparse.Namespace) -> str:
    lines = [
        f"# Gateway benchmark ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; load before the run: {args.load}",
        "",
    ]
    if reads:
        lines += [
            f"## Job-status reads: open loop at {args.rate:g} req/s for {args.seconds:g} s, "
            "loopback, one `srlforge serve` (uvicorn) process",
            "",
            "Latency from each request's due time to its complete response.",
            "",
            "The last column divides by the same run's `/healthz` p99, which feels the machine's "
            "load too: compare runs made under different load by it.",
            "",
            "| backend | endpoint | sent | ok | errors | achieved req/s | p50 ms | p95 ms "
            f"| p99 ms | max ms | p99 < {TARGET_P99_MS:g} ms | p99 / healthz p99 |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for backend, results in reads.items():
            baseline = results["healthz"]["p99_ms"]
            for name, r in results.items():
                verdict = "yes" if r["p99_ms"] < TARGET_P99_MS and not r["errors"] else "**no**"
                errors = ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "0"
                lines.append(
                    f"| {backend} | {name} | {r['requests']} | {r['ok']} | {errors} "
                    f"| {r['achieved_per_s']:.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} "
                    f"| {r['p99_ms']:.1f} | {r['max_ms']:.1f} | {verdict} "
                    f"| {r['p99_ms'] / baseline:.2f} |"
                )
        lines.append("")
    if executors:
        local, celery = executors["local"], executors["celery"]
        lines += [
            "## Celery executor overhead: the same pipeline, local vs celery",
            "",
            f"`{json.dumps(PIPELINE['budget'])}`, micro base, stages srl + rlvr + evaluate; "
            "wall seconds from POST to the job's end.",
            "",
            "| job | local executor s | celery executor s | celery / local |",
            "|---|---|---|---|",
        ]
        for i, (a, b) in enumerate(zip(local, celery, strict=True)):
            label = "1 (cold: imports)" if i == 0 else f"{i + 1} (warm)"
            lines.append(f"| {label} | {a:.1f} | {b:.1f} | {b / a:.2f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["all", "reads", "executors"], default="all")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--jobs", type=int, default=2, help="pipeline jobs per executor")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument(
        "--json", type=Path, help="also write the raw reads results (to compare runs)"
    )
    args = parser.parse_args()
    args.load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    reads = executors = None
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as folder:
        root = Path(folder)
        if args.part in ("all", "reads"):
            reads = {b: bench_reads(b, args, root / b) for b in args.backends.split(",")}
        if args.part in ("all", "executors"):
            executors = {
                "local": bench_local(root / "local", args.jobs),
                "celery": bench_celery(root / "celery", args.jobs),
            }
    args.load_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    table = render(reads, executors, args) + f"\nLoad after the run: {args.load_after}\n"
    print(table)
    if args.markdown:
        args.markdown.write_text(table)
    if args.json and reads:
        args.json.write_text(json.dumps({"load": args.load, "reads": reads}, indent=1))


if __name__ == "__main__":
    main()
