"""The generation-request ledger: what makes ``collab.generate`` idempotent per request id.

Celery redelivers a message whose worker died (acks_late) and, with Redis, any message older
than the visibility timeout even while it still runs; so the ledger, not the broker, decides who
works: a request is claimed by a conditional update (queued, or running with an expired lease),
the worker extends its lease while it makes progress, and a finished request answers every later
delivery with its stored result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import or_, select, update

from collab_service.db import session_factory
from collab_service.orm import GenerationRequest, utcnow


class RequestConflict(ValueError):
    """The request id is already in the ledger with different parameters."""


@dataclass
class Claim:
    status: Literal["claimed", "done", "failed", "busy", "unknown"]
    params: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    attempt: int = 0


class Ledger:
    def __init__(self, db_url: str) -> None:
        self._sessions = session_factory(db_url)

    def submit(self, request_id: str, params: dict[str, Any]) -> bool:
        """Record a request (idempotent). True when new; conflicting params raise."""
        with self._sessions.begin() as session:
            row = session.get(GenerationRequest, request_id)
            if row is not None:
                if row.params != params:
                    raise RequestConflict(
                        f"request id {request_id!r} was already submitted with other "
                        "parameters; use a new request id"
                    )
                return False
            now = utcnow()
            session.add(
                GenerationRequest(
                    request_id=request_id,
                    params=params,
                    status="queued",
                    attempt=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            return True

    def get(self, request_id: str) -> GenerationRequest | None:
        with self._sessions() as session:
            return session.get(GenerationRequest, request_id)

    def claim(self, request_id: str, owner: str, lease_s: float) -> Claim:
        now = utcnow()
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(GenerationRequest)
                .where(
                    GenerationRequest.request_id == request_id,
                    or_(
                        GenerationRequest.status == "queued",
                        (GenerationRequest.status == "running")
                        & (GenerationRequest.lease_until < now),
                    ),
                )
                .values(
                    status="running",
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease_s),
                    attempt=GenerationRequest.attempt + 1,
                    updated_at=now,
                )
            ).rowcount
        row = self.get(request_id)
        if row is None:
            return Claim("unknown")
        if claimed == 1:
            return Claim("claimed", row.params, attempt=row.attempt)
        if row.status == "succeeded":
            return Claim("done", row.params, row.result, attempt=row.attempt)
        if row.status == "failed":
            return Claim("failed", row.params, error=row.error, attempt=row.attempt)
        return Claim("busy", row.params, attempt=row.attempt)

    def _finish(self, request_id: str, owner: str, **values: Any) -> bool:
        with self._sessions.begin() as session:
            return (
                session.execute(
                    update(GenerationRequest)
                    .where(
                        GenerationRequest.request_id == request_id,
                        GenerationRequest.lease_owner == owner,
                        GenerationRequest.status == "running",
                    )
                    .values(updated_at=utcnow(), **values)
                ).rowcount
                == 1
            )

    def heartbeat(self, request_id: str, owner: str, lease_s: float) -> bool:
        """Extend the lease; False when another worker took the request over."""
        return self._finish(request_id, owner, lease_until=utcnow() + timedelta(seconds=lease_s))

    def complete(self, request_id: str, owner: str, result: dict[str, Any]) -> bool:
        return self._finish(request_id, owner, status="succeeded", result=result, lease_until=None)

    def release(self, request_id: str, owner: str) -> bool:
        """Give a claimed request back (cancelled): the next delivery starts it afresh."""
        return self._finish(request_id, owner, status="queued", lease_owner=None, lease_until=None)

    def fail(self, request_id: str, owner: str, error: str) -> bool:
        return self._finish(request_id, owner, status="failed", error=error[:2000])

    def statuses(self) -> dict[str, str]:
        with self._sessions() as session:
            rows = session.execute(select(GenerationRequest.request_id, GenerationRequest.status))
            return {r[0]: r[1] for r in rows}
