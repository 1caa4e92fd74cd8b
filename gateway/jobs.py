"""Pipeline jobs: the request, the plan of steps, the job table, and what each step does.

A job is planned as ``generate → [sft] → [srl] → [rlvr] → [dpo] → [evaluate]``. Every step calls
the trainer's own stage functions (``trainer_service.steps``) on ``runs/<job_id>/``, so the
local and celery executors run exactly the same code; ``evaluate`` is
``trainer_service.pipeline.run_pipeline``, which reuses the dataset and the trained stages found
in the run folder, evaluates, registers and writes ``report.json``. The job row keeps only
plain parameters (no secrets); per-step state lives in the ledger (``gateway_job_steps``).
"""

from __future__ import annotations

import gc
import hashlib
import re
import sys
import threading
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.artifact_sync import pull_inputs, push_outputs
from gateway.db import GatewayDatabase
from gateway.orm import JobRow, JobStepRow, TenantRow, utcnow
from srlforge.artifacts import ArtifactStore

TrainStage = Literal["sft", "srl", "rlvr", "dpo"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ACTIVE = ("queued", "running")
TERMINAL = ("succeeded", "failed", "cancelled")
# Where each step runs under the celery executor (operations.md: one queue per worker pool).
QUEUES = {
    "generate": "collab",
    "sft": "srl",
    "srl": "srl",
    "rlvr": "rlvr",
    "dpo": "rlvr",
    "evaluate": "eval",
}
_SECRETISH = re.compile(r"(\w+://)[^/\s@]+@")


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_steps: int | dict[TrainStage, int] = Field(
        default=30, description="Optimizer steps per training stage (one number or per stage)."
    )
    n_examples: int = Field(default=64, ge=1, le=100_000, description="Expert trajectories.")
    eval_episodes: int = Field(default=24, ge=1, le=10_000, description="Held-out episodes.")

    @field_validator("max_steps")
    @classmethod
    def _positive(cls, value: int | dict[str, int]) -> int | dict[str, int]:
        values = value.values() if isinstance(value, dict) else [value]
        if any(v < 1 or v > 1_000_000 for v in values):
            raise ValueError("max_steps must be between 1 and 1000000")
        return value


class JobRequest(BaseModel):
    """A pipeline job. Unknown fields are refused (422)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_type: str = Field(description="An arena model type, e.g. facial or personality.")
    species: str | None = Field(default=None, max_length=64)
    stages: list[TrainStage] = Field(
        default_factory=lambda: ["srl", "rlvr"],
        max_length=4,
        description="Training stages after generate, in the order sft, srl, rlvr, dpo; [] "
        "generates the dataset only.",
    )
    evaluate: bool = Field(
        default=True, description="Evaluate, register and write the report after training."
    )
    budget: Budget = Field(default_factory=Budget)
    base_model: str = Field(default="tiny", max_length=200, description="tiny | small | medium")
    teacher: Literal["auto", "collab", "arena"] = Field(
        default="auto",
        description="Who writes the expert trajectories: collab (lore → teacher → verifier), "
        "arena (the arena's expert solver) or auto (collab when available).",
    )
    train_difficulties: list[int] = Field(default_factory=lambda: [1, 2], max_length=5)
    seed: int = Field(default=0, ge=0)

    @field_validator("model_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        from srlforge.arena import model_types

        known = model_types()
        if value not in known:
            raise ValueError(f"unknown model type; choose one of {', '.join(sorted(known))}")
        return value

    def plan(self) -> list[str]:
        return ["generate", *self.stages, *(["evaluate"] if self.evaluate else [])]


def pipeline_params(request: JobRequest) -> dict[str, Any]:
    """The trainer's ``PipelineConfig`` fields for a request (plain values, no paths)."""
    steps = request.budget.max_steps
    return {
        "model_type": request.model_type,
        "species": request.species,
        "base_model": request.base_model,
        "stages": list(request.stages),
        "n_examples": request.budget.n_examples,
        "eval_episodes": request.budget.eval_episodes,
        "max_steps": steps if isinstance(steps, dict) else dict.fromkeys(request.stages, steps),
        "data_source": request.teacher,
        "train_difficulties": request.train_difficulties,
        "seed": request.seed,
    }


def pipeline_config(job_id: str, params: dict[str, Any], runs_dir: Path):
    """Validated trainer config of a job; raises the trainer's own ValueError when refused."""
    from trainer_service.pipeline import PipelineConfig

    return PipelineConfig.model_validate({**params, "run_id": job_id, "runs_dir": runs_dir})


def public_error(step: str, exc: BaseException) -> str:
    """The message stored and shown for a failed step: type and text, credentials masked."""
    text = _SECRETISH.sub(r"\1***@", str(exc))[:600]
    return f"step {step} failed: {type(exc).__name__}: {text}"


_freeze_lock = threading.Lock()
_modules_when_frozen = 0


def freeze_long_lived_objects(*, first: bool = False) -> None:
    """Move every object alive now into the garbage collector's permanent generation.

    A full collection walks every tracked object while all threads wait: ~0.1 s for the
    gateway's own modules, ~0.3 s once the local executor has imported the trainer (torch,
    transformers, TRL: 0.5 M objects that live as long as the process), on an idle core. In a
    job-status benchmark one such pause queued enough requests to push p99 from 8 ms to seconds.
    ``serve`` calls this once the app is built (``first``); after that, each job step calls it,
    and it freezes again only when the step imported modules. A process that never froze (tests,
    celery workers) is left alone. Collected first, so only live objects are frozen; refcounting
    still frees frozen objects, only cycles among them would stay.
    """
    global _modules_when_frozen
    with _freeze_lock:
        if not (first or gc.get_freeze_count()) or len(sys.modules) == _modules_when_frozen:
            return
        gc.collect()
        gc.freeze()
        _modules_when_frozen = len(sys.modules)


def run_step(
    job_id: str,
    step: str,
    params: dict[str, Any],
    runs_dir: Path,
    artifacts: ArtifactStore | None = None,
) -> dict[str, Any]:
    """Do one step of a job in ``runs_dir/<job_id>``; return its (JSON) result. With an
    artifact store, pull the step's inputs first and push its outputs after."""
    run_dir = Path(runs_dir) / job_id
    try:
        if artifacts is not None:
            pull_inputs(artifacts, job_id, step, params, run_dir)
        result = _run_step(job_id, step, params, runs_dir)
        if artifacts is not None:
            result["artifacts"] = push_outputs(artifacts, job_id, step, run_dir)
        return result
    finally:
        freeze_long_lived_objects()


def _run_step(job_id: str, step: str, params: dict[str, Any], runs_dir: Path) -> dict[str, Any]:
    from trainer_service import steps as trainer

    config = pipeline_config(job_id, params, runs_dir)
    run_dir = Path(runs_dir) / job_id
    run_dir.mkdir(parents=True, exist_ok=True)
    if step == "generate":
        data = trainer.generate(config, run_dir)
        return {"dataset": {**data.summary(), "path": str(run_dir / "dataset")}}
    if step == "evaluate":
        from trainer_service.pipeline import run_pipeline

        report = run_pipeline(config, progress=False)
        return {"report": report, "model_id": report.get("model_id")}
    if step not in config.stages:
        raise ValueError(f"step {step!r} is not in this job's plan")
    data = trainer.load_dataset(run_dir, config)
    position = config.stages.index(step)
    start: Path | str = (
        run_dir / "checkpoints" / config.stages[position - 1] / "final"
        if position
        else trainer.base_model(config, progress=False)
    )
    result = trainer.train_stage(step, config, run_dir, start, data, progress=False)
    return {
        "steps": result.steps,
        "seconds": round(result.seconds, 2),
        "metrics": result.metrics,
        "model_dir": str(result.model_dir),
    }


def job_id_for(tenant_id: int, idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the tenant and its key: a retried submission (even a
    concurrent one) lands on the same primary key and so on the same job."""
    if idempotency_key is None:
        return f"job-{uuid.uuid4().hex}"
    digest = hashlib.sha256(f"{tenant_id}\0{idempotency_key}".encode()).hexdigest()
    return f"job-{digest[:32]}"


class QuotaExceeded(Exception):
    """The tenant already has its quota of queued and running jobs."""

    def __init__(self, active: int, limit: int) -> None:
        super().__init__(f"{active} jobs queued or running, at most {limit} at once")
        self.active, self.limit = active, limit


class JobStore:
    def __init__(self, db: GatewayDatabase) -> None:
        self.db = db

    def create(
        self,
        tenant_id: int,
        job_id: str,
        executor: str,
        params: dict[str, Any],
        plan: list[str],
        *,
        max_active: int | None = None,
    ) -> tuple[JobRow, bool]:
        """Insert the job; ``(existing row, False)`` when this id is already there.

        With ``max_active``, raises ``QuotaExceeded`` instead when the tenant has that many jobs
        queued or running. Count and insert happen under a lock that concurrent submissions of
        the tenant also take (see below), so racing requests cannot both take the last place.
        """
        now = utcnow()
        row = JobRow(
            id=job_id,
            tenant_id=tenant_id,
            status="queued",
            executor=executor,
            params=params,
            plan=plan,
            cancel_requested=False,
            created_at=now,
            updated_at=now,
        )
        try:
            with self.db.session() as session:
                if max_active is not None:
                    # A no-op UPDATE of the tenant's row locks on both backends until commit:
                    # PostgreSQL holds that row lock (the next submission of this tenant waits,
                    # then counts with a fresh READ COMMITTED snapshot); on SQLite it is the
                    # first write, so pysqlite begins here and the database's write lock is held
                    # before the count reads. A plain SELECT ... FOR UPDATE would not lock SQLite.
                    session.execute(
                        update(TenantRow)
                        .where(TenantRow.id == tenant_id)
                        .values(name=TenantRow.name)
                        .execution_options(synchronize_session=False)
                    )
                    existing = session.get(JobRow, job_id)
                    if existing is not None:  # the same Idempotency-Key won the race
                        return existing, False
                    active = self._active_count(session, tenant_id)
                    if active >= max_active:
                        raise QuotaExceeded(active, max_active)
                session.add(row)
        except IntegrityError:
            found = self.get(job_id)
            if found is None:
                raise
            return found, False
        return row, True

    def get(self, job_id: str, tenant_id: int | None = None) -> JobRow | None:
        """The job; with ``tenant_id``, only when it belongs to that tenant."""
        with self.db.session() as session:
            row = session.get(JobRow, job_id)
        if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
            return None
        return row

    def get_with_steps(self, job_id: str, tenant_id: int) -> tuple[JobRow, list[JobStepRow]] | None:
        """The tenant's job and its ledger rows in plan order, in one session (one connection
        checkout, one transaction); None when the job is not this tenant's."""
        with self.db.session() as session:
            job = session.scalar(
                select(JobRow).where(JobRow.id == job_id, JobRow.tenant_id == tenant_id)
            )
            if job is None:
                return None
            steps = session.scalars(
                select(JobStepRow).where(JobStepRow.job_id == job_id).order_by(JobStepRow.position)
            ).all()
        return job, list(steps)

    def list(self, tenant_id: int, limit: int = 100) -> list[JobRow]:
        with self.db.session() as session:
            return list(
                session.scalars(
                    select(JobRow)
                    .where(JobRow.tenant_id == tenant_id)
                    .order_by(JobRow.created_at.desc())
                    .limit(limit)
                )
            )

    def active_count(self, tenant_id: int) -> int:
        with self.db.session() as session:
            return self._active_count(session, tenant_id)

    @staticmethod
    def _active_count(session: Session, tenant_id: int) -> int:
        return (
            session.scalar(
                select(func.count())
                .select_from(JobRow)
                .where(JobRow.tenant_id == tenant_id, JobRow.status.in_(ACTIVE))
            )
            or 0
        )

    def mark_running(self, job_id: str) -> bool:
        return self._update(job_id, ("queued", "running"), status="running")

    def finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        report: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """End the job once: a job already ended keeps its first outcome."""
        now = utcnow()
        return self._update(
            job_id, ACTIVE, status=status, report=report, error=error, finished_at=now
        )

    def requeue(self, job_id: str) -> bool:
        """A job stopped between steps by a shutdown goes back to the queue."""
        return self._update(job_id, ("running",), status="queued")

    def request_cancel(self, job_id: str) -> None:
        self._update(job_id, ACTIVE, cancel_requested=True)

    def cancel_requested(self, job_id: str) -> bool:
        row = self.get(job_id)
        return row is None or row.cancel_requested

    def _update(self, job_id: str, when: tuple[str, ...], **values: Any) -> bool:
        with self.db.session() as session:
            return (
                session.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.status.in_(when))
                    .values(updated_at=utcnow(), **values)
                    .execution_options(synchronize_session=False)
                ).rowcount
                == 1
            )
