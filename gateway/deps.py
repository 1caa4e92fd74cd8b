"""What every route shares: the gateway's state, the authenticated tenant, the rate limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from gateway.db import GatewayDatabase
from gateway.keys import Principal, authenticate
from gateway.ratelimit import RateLimiter, RateLimiterUnavailable
from gateway.rules_store import RulesStore
from gateway.settings import GatewaySettings
from gateway.tracker_link import TrackerLink

API_KEY_HEADER = "X-API-Key"
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

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()
        if self.paid_ft is not None:
            self.paid_ft.db.dispose()
        self.tracker.close()
        self.limiter.close()
        self.db.dispose()


def get_state(request: Request) -> GatewayState:
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


def require_principal(
    request: Request,
    state: State,
    presented: Annotated[str | None, Security(_api_key)] = None,
) -> Principal:
    """The calling tenant, from its API key; then one token from the tenant's bucket.

    Failed attempts draw from a per-address bucket, so guessing keys is throttled as well.
    """
    principal = authenticate(state.db, state.secret, presented) if presented else None
    if principal is None:
        _limit(state, f"anonymous:{request.client.host if request.client else 'unknown'}")
        detail = "missing X-API-Key header" if not presented else "invalid or revoked API key"
        raise HTTPException(401, detail=detail, headers={"WWW-Authenticate": "ApiKey"})
    _limit(state, f"tenant:{principal.tenant_id}")
    return principal


Tenant = Annotated[Principal, Depends(require_principal)]
