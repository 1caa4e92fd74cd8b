"""``/healthz`` (the process answers) and ``/readyz`` (its dependencies answer). No auth:
probes and load balancers call them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from gateway.deps import State
from gateway.readiness import readiness

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency does not answer."}})
async def readyz(state: State) -> JSONResponse:
    ready, checks = await run_in_threadpool(
        readiness, state.settings, state.db, state.limiter, state.tracker
    )
    return JSONResponse(
        status_code=200 if ready else 503,
        content={"status": "ready" if ready else "not ready", "checks": checks},
    )
