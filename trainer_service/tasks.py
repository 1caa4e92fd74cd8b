"""Celery adapters: ``trainer.srl``, ``trainer.rlvr``, ``trainer.evaluate`` on queues ``srl``,
``rlvr`` and ``eval``.

Each task takes a job id (the run id) and the pipeline config as a small dict (no secrets, no
blobs), calls the same pure functions as the local executor (``steps.py``) and returns paths and
numbers. Idempotent per job id + stage: a finished stage leaves ``result.json`` beside its model
and is not trained again; a lease file (created with O_EXCL, expiring) keeps a duplicate delivery
from training the same stage twice at once; an interrupted stage resumes from its newest
checkpoint. Worker settings follow operations.md (acks late, prefetch 1, one task per GPU
worker, visibility timeout above the hard time limit). Workers:
``celery -A trainer_service.tasks worker -Q srl -c 1`` (likewise ``rlvr`` and ``eval``).
"""

from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery import Celery, chain

from srlforge.telemetry import trace_celery_workers
from trainer_service.settings import TrainerSettings, get_settings

QUEUES = {"trainer.srl": "srl", "trainer.rlvr": "rlvr", "trainer.evaluate": "eval"}
LEASE_S = 600


def make_app(settings: TrainerSettings | None = None) -> Celery:
    settings = settings or get_settings()
    hard_limit = settings.task_soft_time_limit_s + 300
    visibility = {"visibility_timeout": hard_limit + 600}
    app = Celery("trainer_service", broker=settings.broker_url, backend=settings.result_backend)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=1,
        worker_max_tasks_per_child=1,
        task_track_started=True,
        result_extended=True,
        task_soft_time_limit=settings.task_soft_time_limit_s,
        task_time_limit=hard_limit,
        broker_transport_options=visibility,
        result_backend_transport_options=visibility,
        task_routes={name: {"queue": queue} for name, queue in QUEUES.items()},
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
    )
    trace_celery_workers("srlforge-trainer-worker")
    return app


app = make_app()


class StageBusy(RuntimeError):
    """Another worker holds the lease of this job's stage."""


@contextmanager
def stage_lease(run_dir: Path, stage: str, owner: str, ttl_s: int = LEASE_S):
    """Hold ``run_dir/leases/<stage>`` while the work runs; a stale lease can be taken over."""
    folder = run_dir / "leases"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / stage
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            held = json.loads(path.read_text() or "{}")
            if held.get("until", 0) > time.time():
                busy = f"{stage} of {run_dir.name} is held by {held.get('owner')}"
                raise StageBusy(busy) from None
            path.unlink(missing_ok=True)  # stale: its worker died without releasing
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps({"owner": owner, "until": time.time() + ttl_s}))
        break
    else:
        raise StageBusy(f"could not take the lease of {stage} in {run_dir}")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _context(job_id: str, params: dict[str, Any]):
    from trainer_service.pipeline import PipelineConfig
    from trainer_service.steps import generate, load_dataset

    config = PipelineConfig.model_validate({**params, "run_id": job_id})
    from srlforge.settings import get_settings as shared

    run_dir = Path(config.runs_dir or shared().runs_dir) / job_id
    run_dir.mkdir(parents=True, exist_ok=True)
    data = (
        load_dataset(run_dir, config)
        if (run_dir / "dataset" / "manifest.json").exists()
        else generate(config, run_dir)
    )
    return config, run_dir, data


def _train(task, stage: str, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    from trainer_service.steps import base_model, train_stage

    config, run_dir, data = _context(job_id, params)
    previous = {"srl": None, "rlvr": "srl"}[stage]
    start = (
        run_dir / "checkpoints" / previous / "final"
        if previous and previous in config.stages
        else base_model(config, progress=False)
    )
    owner = f"{socket.gethostname()}:{os.getpid()}:{task.request.id}"
    try:
        with stage_lease(run_dir, stage, owner):
            result = train_stage(stage, config, run_dir, start, data, progress=False)
    except StageBusy as exc:
        raise task.retry(exc=exc, countdown=60) from exc
    return {"job_id": job_id, "stage": stage, "steps": result.steps, "model_dir": result.model_dir}


@app.task(name="trainer.srl", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def srl(self, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    return _train(self, "srl", job_id, params)


@app.task(name="trainer.rlvr", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def rlvr(self, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    return _train(self, "rlvr", job_id, params)


@app.task(
    name="trainer.evaluate", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=3
)
def evaluate(self, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """Evaluate base and every trained stage, register the last one, write the report."""
    from trainer_service.pipeline import run_pipeline

    config, _, _ = _context(job_id, params)
    # Finished stages are reused from the run folder, so this only evaluates and reports.
    report = run_pipeline(config, progress=False)
    return {"job_id": job_id, "model_id": report["model_id"], "registered": report["registered"]}


def pipeline_chain(job_id: str, params: dict[str, Any]):
    """``srl | rlvr | evaluate`` as immutable signatures (payloads carry the job id only)."""
    return chain(
        srl.si(job_id, params).set(task_id=f"{job_id}:srl"),
        rlvr.si(job_id, params).set(task_id=f"{job_id}:rlvr"),
        evaluate.si(job_id, params).set(task_id=f"{job_id}:evaluate"),
    )
