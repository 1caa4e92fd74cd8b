"""``/v1/jobs``: start a pipeline job, list, status with per-step progress, cancel, SSE."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from gateway.deps import GatewayState, State, Tenant
from gateway.idempotency import HEADER, idempotent
from gateway.jobs import (
    TERMINAL,
    JobRequest,
    JobStore,
    QuotaExceeded,
    job_id_for,
    pipeline_config,
    pipeline_params,
    public_error,
)
from gateway.keys import Principal
from gateway.ledger import JobStepLedger
from gateway.orm import JobRow, JobStepRow

router = APIRouter(prefix="/jobs", tags=["jobs"])
_NOT_FOUND = "no such job"


class StepInfo(BaseModel):
    step: str
    status: str
    attempt: int
    max_attempts: int
    result: dict[str, Any] | None = None
    error: str | None = None


class Progress(BaseModel):
    done: int
    total: int
    fraction: float
    current_step: str | None


class JobInfo(BaseModel):
    job_id: str
    status: str
    executor: str
    params: dict[str, Any]
    plan: list[str]
    progress: Progress
    steps: list[StepInfo]
    cancel_requested: bool
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    report: dict[str, Any] | None = None


def _view(
    state: GatewayState,
    job: JobRow,
    *,
    report: bool,
    step_rows: Sequence[JobStepRow] | None = None,
) -> dict[str, Any]:
    """The public view of a job; ``step_rows`` when the caller already read them."""
    if step_rows is None:
        with state.db.session() as session:
            step_rows = session.scalars(
                select(JobStepRow).where(JobStepRow.job_id == job.id).order_by(JobStepRow.position)
            ).all()
    steps = [
        StepInfo(
            step=r.step,
            status=r.status,
            attempt=r.attempt,
            max_attempts=r.max_attempts,
            result=r.result,
            error=r.error,
        )
        for r in step_rows
    ]
    done = sum(s.status == "succeeded" for s in steps)
    current = next((s.step for s in steps if s.status == "running"), None)
    total = len(job.plan)
    return JobInfo(
        job_id=job.id,
        status=job.status,
        executor=job.executor,
        params=job.params,
        plan=job.plan,
        progress=Progress(
            done=done, total=total, fraction=round(done / total, 4), current_step=current
        ),
        steps=steps,
        cancel_requested=job.cancel_requested,
        error=job.error,
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
        report=job.report if report else None,
    ).model_dump(mode="json")


def _own(state: GatewayState, principal: Principal, job_id: str) -> JobRow:
    job = JobStore(state.db).get(job_id, principal.tenant_id)
    if job is None:
        raise HTTPException(404, detail=_NOT_FOUND)
    return job


def _quota_reached(exc: QuotaExceeded) -> HTTPException:
    return HTTPException(
        429,
        detail=f"quota reached: {exc}; wait for one to end or cancel one",
        headers={"Retry-After": "30"},
    )


def _trainer_refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
    return str(exc)


@router.post(
    "",
    status_code=202,
    response_model=JobInfo,
    responses={
        200: {"description": "Replayed: this Idempotency-Key already started the job."},
        422: {"description": "Invalid request, or a config the trainer refuses."},
        429: {"description": "The tenant's quota of concurrent jobs is used up."},
    },
)
def submit_job(
    body: JobRequest,
    state: State,
    principal: Tenant,
    idempotency_key: Annotated[str | None, Header(alias=HEADER)] = None,
) -> JSONResponse:
    """Start a pipeline job: generate → training stages → evaluate (and register).

    The same `Idempotency-Key` again answers the same job; it runs once.
    """
    store = JobStore(state.db)
    settings = state.settings

    def run() -> tuple[int, dict[str, Any]]:
        job_id = job_id_for(principal.tenant_id, idempotency_key)
        job = store.get(job_id, principal.tenant_id)
        if job is None:
            active = store.active_count(principal.tenant_id)
            if active >= settings.max_concurrent_jobs:
                # A concurrent request with this Idempotency-Key may have created the job since
                # the read above: that is the same job, not one too many.
                job = store.get(job_id, principal.tenant_id)
                if job is None:
                    raise _quota_reached(QuotaExceeded(active, settings.max_concurrent_jobs))
        if job is None:
            params = pipeline_params(body)
            try:
                pipeline_config(job_id, params, settings.resolved_runs_dir())
            except (ValidationError, ValueError) as exc:
                raise HTTPException(422, detail=_trainer_refusal(exc)) from None
            # The check above answers most refusals cheaply; this one is atomic, for the
            # submissions that raced past it together.
            try:
                job, created = store.create(
                    principal.tenant_id,
                    job_id,
                    state.executor.name,
                    params,
                    body.plan(),
                    max_active=settings.max_concurrent_jobs,
                )
            except QuotaExceeded as exc:
                raise _quota_reached(exc) from None
            if created:
                JobStepLedger(state.db).enqueue(
                    principal.tenant_id, job_id, job.plan, max_attempts=settings.job_max_attempts
                )
                try:
                    state.executor.submit(job)
                except Exception as exc:
                    store.finish(job_id, "failed", error=public_error("submit", exc))
                    raise HTTPException(
                        503,
                        detail=f"the {state.executor.name} executor refused the job "
                        f"({type(exc).__name__}); it is recorded as failed",
                        headers={"Retry-After": "5"},
                    ) from None
        return 202, _view(state, job, report=False)

    return idempotent(
        state.db, principal, idempotency_key, "POST /v1/jobs", body.model_dump(mode="json"), run
    )


@router.get("", response_model=list[JobInfo])
def list_jobs(state: State, principal: Tenant) -> list[dict[str, Any]]:
    """This tenant's jobs, newest first (the last 100)."""
    return [_view(state, j, report=False) for j in JobStore(state.db).list(principal.tenant_id)]


@router.get("/{job_id}", response_model=JobInfo, responses={404: {"description": _NOT_FOUND}})
async def get_job(job_id: str, state: State, principal: Tenant) -> dict[str, Any]:
    """Status, per-step progress and metrics; the report once the job succeeded."""
    # Clients poll this route. Its one database read runs on at most ``state.read_threads``
    # threads: a burst queues on the event loop instead of in dozens of threads that fight
    # over the GIL (SQLite works in-process) while the loop that answers them waits its turn.
    found = await to_thread.run_sync(
        JobStore(state.db).get_with_steps, job_id, principal.tenant_id, limiter=state.read_threads
    )
    if found is None:
        raise HTTPException(404, detail=_NOT_FOUND)
    job, step_rows = found
    return _view(state, job, report=True, step_rows=step_rows)


@router.post(
    "/{job_id}:cancel", response_model=JobInfo, responses={404: {"description": _NOT_FOUND}}
)
def cancel_job(job_id: str, state: State, principal: Tenant) -> dict[str, Any]:
    """Cooperative cancel: the step running now finishes, no further step starts."""
    job = _own(state, principal, job_id)
    store = JobStore(state.db)
    if job.status not in TERMINAL:
        store.request_cancel(job_id)
        JobStepLedger(state.db).request_cancel(principal.tenant_id, job_id)
        steps = JobStepLedger(state.db).steps(principal.tenant_id, job_id)
        if not any(s.status == "running" for s in steps):
            store.finish(job_id, "cancelled", error="cancelled on request")
    return _view(state, _own(state, principal, job_id), report=True)


@router.get(
    "/{job_id}/events",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "progress events"},
        404: {"description": _NOT_FOUND},
    },
)
async def job_events(
    job_id: str, request: Request, state: State, principal: Tenant
) -> StreamingResponse:
    """Server-sent events: `progress` whenever the job changes, then `end`; the stream closes
    when the job ends."""
    await run_in_threadpool(_own, state, principal, job_id)
    poll_s = state.settings.job_events_poll_s

    def snapshot() -> dict[str, Any]:
        return _view(state, _own(state, principal, job_id), report=False)

    async def stream() -> AsyncIterator[str]:
        last = None
        while True:
            view = await run_in_threadpool(snapshot)
            key = json.dumps({**view, "updated_at": None}, sort_keys=True)
            if key != last:
                last = key
                yield f"event: progress\ndata: {json.dumps(view)}\n\n"
            if view["status"] in TERMINAL:
                end = {"job_id": job_id, "status": view["status"], "error": view["error"]}
                yield f"event: end\ndata: {json.dumps(end)}\n\n"
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(poll_s)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
