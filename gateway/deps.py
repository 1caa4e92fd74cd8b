"""What every route shares: the gateway's state, the authenticated tenant, the rate limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from anyio import CapacityLimiter
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from gateway.db import GatewayDatabase
from gateway.keys import KeyCache, Principal, authenticate, authenticate_cached
from gateway.ratelimit import MemoryTokenBucket, RateLimiter, RateLimiterUnavailable
from gateway.rules_store import RulesStore
from gateway.settings import GatewaySettings
from gateway.tracker_link import TrackerLink

API_KEY_HEADER = "X-API-Key"
READ_THREADS = 4  # below SQLAlchemy's default pool size (5), so reads never open extra connections
_api_key = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="A tenant's key from `srlforge keys create --tenant NAME`.",
)


@dataclass
class GatewayState:
    settings: GatewaySettings
    db: GatewayDatabase
    secret: bytes
    limiter: RateLimiter
    rules: RulesStore
    tracker: TrackerLink
    executor: Any = None  # gateway.executors.Executor (local thread pool or celery)
    paid_ft: Any = None  # paid_ft_service.service.PaidFT, built on first /v1/paid-ft call
    keys: KeyCache = field(init=False)  # recently verified keys (gateway/keys.py)
    # Threads for hot, short reads (job status): no more than the pool's steady connections.
    read_threads: CapacityLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.keys = KeyCache(self.settings.key_cache_ttl_s)
        self.read_threads = CapacityLimiter(READ_THREADS)

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()
        if self.paid_ft is not None:
            self.paid_ft.db.dispose()
        self.tracker.close()
        self.limiter.close()
        self.db.dispose()


async def get_state(request: Request) -> GatewayState:
    # async: a plain attribute read must not cost a thread-pool hop on every request.
    return request.app.state.gateway


State = Annotated[GatewayState, Depends(get_state)]


def _limit(state: GatewayState, bucket: str) -> None:
    try:
        decision = state.limiter.acquire(bucket)
    except RateLimiterUnavailable as exc:
        raise HTTPException(503, detail=str(exc), headers={"Retry-After": "1"}) from None
    if not decision.allowed:
        raise HTTPException(
            429,
            detail="rate limit exceeded; retry after the Retry-After seconds",
            headers={"Retry-After": decision.retry_after_header},
        )


async def require_principal(
    request: Request,
    state: State,
    presented: Annotated[str | None, Security(_api_key)] = None,
) -> Principal:
    """The calling tenant, from its API key; then one token from the tenant's bucket.

    Failed attempts draw from a per-address bucket, so guessing keys is throttled as well.
    A key verified moments ago (``KeyCache``) and the in-memory bucket need no I/O, so that path
    stays on the event loop; the database and Redis are asked from the thread pool.
    """
    principal = authenticate_cached(state.keys, state.secret, presented) if presented else None
    if principal is False:
        principal = await run_in_threadpool(
            authenticate, state.db, state.secret, presented, state.keys
        )
    if principal is None:
        bucket = f"anonymous:{request.client.host if request.client else 'unknown'}"
        await _limit_async(state, bucket)
        detail = "missing X-API-Key header" if not presented else "invalid or revoked API key"
        raise HTTPException(401, detail=detail, headers={"WWW-Authenticate": "ApiKey"})
    await _limit_async(state, f"tenant:{principal.tenant_id}")
    return principal


async def _limit_async(state: GatewayState, bucket: str) -> None:
    if isinstance(state.limiter, MemoryTokenBucket):  # a lock and arithmetic: no I/O
        _limit(state, bucket)
    else:
        await run_in_threadpool(_limit, state, bucket)


Tenant = Annotated[Principal, Depends(require_principal)]
