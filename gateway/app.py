"""The gateway's FastAPI application: ``create_app(settings)``.

Construction fails fast: a placeholder secret, an unreachable or unmigrated database, or an
impossible settings combination stops the process with a message instead of serving errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from gateway import errors
from gateway.db import GatewayDatabase
from gateway.deps import GatewayState, require_principal
from gateway.executors import make_executor
from gateway.middleware import BodySizeLimit, UnhandledErrors
from gateway.ratelimit import MemoryTokenBucket, RateLimiter, RedisTokenBucket
from gateway.routes import arena, health, jobs, metrics, models, paid_ft, rewards, rules
from gateway.rules_store import (
    InvalidRules,
    RulesError,
    RulesStore,
    UnknownVersion,
    VersionConflict,
)
from gateway.selection import NoCandidates
from gateway.settings import GatewaySettings, get_settings
from gateway.tracker_link import TrackerLink, TrackerUnavailable
from srlforge.settings import get_settings as get_shared_settings
from srlforge.telemetry import configure_tracing, instrument_celery, instrument_fastapi

API_VERSION = "1.0.0"
_RULES_STATUS: dict[type[RulesError], int] = {
    InvalidRules: 422,
    VersionConflict: 409,
    UnknownVersion: 404,
}


def make_limiter(settings: GatewaySettings) -> RateLimiter:
    if settings.rate_limit_backend == "redis":
        return RedisTokenBucket(
            settings.redis_url or "",
            settings.rate_limit_per_s,
            settings.rate_limit_burst,
            prefix=settings.rate_limit_key_prefix,
            timeout_s=settings.readiness_timeout_s,
        )
    return MemoryTokenBucket(settings.rate_limit_per_s, settings.rate_limit_burst)


def build_state(settings: GatewaySettings) -> GatewayState:
    secret = settings.hmac_secret()
    db = GatewayDatabase(settings.resolved_db_url(), auto_migrate=settings.db_url is None)
    return GatewayState(
        settings=settings,
        db=db,
        secret=secret,
        limiter=make_limiter(settings),
        rules=RulesStore(db, settings.resolved_rules_dir(), get_shared_settings().rules_dir),
        tracker=TrackerLink(settings),
        executor=make_executor(db, settings),
    )


async def _rules_error(request: Request, exc: Exception) -> JSONResponse:
    status = next((s for cls, s in _RULES_STATUS.items() if isinstance(exc, cls)), 422)
    return JSONResponse(status_code=status, content={"detail": str(exc)})


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "5"})


async def _no_candidates(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": str(exc)})


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    state = build_state(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(
        title="srlforge gateway",
        version=API_VERSION,
        description="Verifiable environments, rewards, rule sets and model selection for "
        "srlforge, and pipeline jobs. Authenticate with the X-API-Key header.",
        lifespan=lifespan,
    )
    app.state.gateway = state
    # Added last = outermost: the size limit answers before anything else reads the body.
    app.add_middleware(UnhandledErrors)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    errors.install(app)
    app.add_exception_handler(RulesError, _rules_error)
    app.add_exception_handler(TrackerUnavailable, _unavailable)
    app.add_exception_handler(NoCandidates, _no_candidates)
    app.include_router(health.router)
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_principal)])
    for module in (arena, rewards, rules, models, metrics, jobs, paid_ft):
        v1.include_router(module.router)
    app.include_router(v1)
    if configure_tracing("srlforge-gateway") is not None:  # see srlforge/telemetry.py
        instrument_fastapi(app)
        instrument_celery()  # the job chains carry the trace to the workers
    return app
