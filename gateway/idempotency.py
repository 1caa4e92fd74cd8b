"""``Idempotency-Key``: a retried request gets the first answer instead of a second effect.

Records are per tenant: the same key from another tenant is a different record, so one tenant
can neither replay nor block another's request. A key reused with a different request is a 422
(the client has a bug); only successful answers are stored, so a failed request can be retried
with the same key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.db import GatewayDatabase
from gateway.keys import Principal
from gateway.orm import IdempotencyRow
from srlforge.schema import content_hash

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, as HTTP header tokens allow


def _find(db: GatewayDatabase, tenant_id: int, key: str) -> IdempotencyRow | None:
    with db.session() as session:
        return session.scalar(
            select(IdempotencyRow).where(
                IdempotencyRow.tenant_id == tenant_id, IdempotencyRow.key == key
            )
        )


def _replay(row: IdempotencyRow, route: str, request_hash: str) -> JSONResponse:
    if row.route != route or row.request_hash != request_hash:
        raise HTTPException(
            422,
            detail=f"{HEADER} was already used with a different request; use a new key",
        )
    return JSONResponse(
        status_code=row.status_code,
        content=json.loads(row.response_body),
        headers={REPLAYED_HEADER: "true"},
    )


def idempotent(
    db: GatewayDatabase,
    principal: Principal,
    key: str | None,
    route: str,
    request: Any,
    run: Callable[[], tuple[int, dict[str, Any]]],
) -> JSONResponse:
    """Run ``run`` once per (tenant, key); later calls with the key replay its answer."""
    if key is None:
        status, body = run()
        return JSONResponse(status_code=status, content=body)
    if not _KEY.match(key):
        raise HTTPException(400, detail=f"{HEADER} must be 1-200 visible ASCII characters")
    request_hash = content_hash({"route": route, "request": request})
    found = _find(db, principal.tenant_id, key)
    if found is not None:
        return _replay(found, route, request_hash)
    status, body = run()
    if status >= 300:
        return JSONResponse(status_code=status, content=body)
    row = IdempotencyRow(
        tenant_id=principal.tenant_id,
        key=key,
        route=route,
        request_hash=request_hash,
        status_code=status,
        response_body=json.dumps(body),
    )
    try:
        with db.session() as session:
            session.add(row)
    except IntegrityError:
        # The same key raced in from a concurrent retry; answer what that one stored.
        winner = _find(db, principal.tenant_id, key)
        if winner is None:
            raise
        return _replay(winner, route, request_hash)
    return JSONResponse(status_code=status, content=body)
