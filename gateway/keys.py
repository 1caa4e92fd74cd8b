"""Tenants and API keys: create, revoke, authenticate.

A key looks like ``srlf_<key_id>_<secret>``: ``key_id`` (12 hex digits) is public and finds the
row; only ``HMAC-SHA256(server secret, whole key)`` is stored, and the presented key's HMAC is
compared with ``hmac.compare_digest``, so neither a database dump nor response timing reveals a
usable key. The key itself is shown once, by ``create_key``, and never stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.db import GatewayDatabase
from gateway.orm import ApiKeyRow, TenantRow, utcnow

KEY_PREFIX = "srlf_"
_KEY_RE = re.compile(r"^srlf_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
TENANT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")


class TenantNameError(ValueError):
    pass


class UnknownKeyError(LookupError):
    pass


@dataclass(frozen=True)
class Principal:
    """Who is calling: every query the gateway makes is filtered by ``tenant_id``."""

    tenant_id: int
    tenant: str
    key_id: str


@dataclass(frozen=True)
class IssuedKey:
    tenant: str
    key_id: str
    key: str  # shown to the caller once; never persisted


def key_hmac(secret: bytes, key: str) -> str:
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def check_tenant_name(name: str) -> str:
    if not TENANT_RE.match(name):
        raise TenantNameError(
            f"tenant name {name!r} must be 2-63 characters of a-z, 0-9, '-' or '_', "
            "starting with a letter or digit"
        )
    return name


def _tenant(db: GatewayDatabase, name: str) -> int:
    """The tenant's id, creating the tenant on first use (safe under concurrent creation)."""
    with db.session() as session:
        found = session.scalar(select(TenantRow.id).where(TenantRow.name == name))
        if found is not None:
            return found
    try:
        with db.session() as session:
            row = TenantRow(name=name)
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:
        with db.session() as session:
            return session.scalars(select(TenantRow.id).where(TenantRow.name == name)).one()


def create_key(db: GatewayDatabase, secret: bytes, tenant: str) -> IssuedKey:
    tenant_id = _tenant(db, check_tenant_name(tenant))
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    with db.session() as session:
        session.add(ApiKeyRow(key_id=key_id, tenant_id=tenant_id, key_hmac=key_hmac(secret, key)))
    return IssuedKey(tenant=tenant, key_id=key_id, key=key)


def list_keys(db: GatewayDatabase, tenant: str | None = None) -> list[dict[str, object]]:
    query = (
        select(ApiKeyRow.key_id, TenantRow.name, ApiKeyRow.created_at, ApiKeyRow.revoked_at)
        .join(TenantRow, TenantRow.id == ApiKeyRow.tenant_id)
        .order_by(TenantRow.name, ApiKeyRow.created_at)
    )
    if tenant is not None:
        query = query.where(TenantRow.name == tenant)
    with db.session() as session:
        return [
            {"key_id": k, "tenant": t, "created_at": c, "revoked": r is not None}
            for k, t, c, r in session.execute(query)
        ]


def revoke_key(db: GatewayDatabase, key_id: str) -> None:
    with db.session() as session:
        row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
        if row is None:
            raise UnknownKeyError(f"no API key with id {key_id!r} (see `keys list`)")
        if row.revoked_at is None:
            row.revoked_at = utcnow()


def authenticate(db: GatewayDatabase, secret: bytes, presented: str) -> Principal | None:
    """The principal of a presented key, or None. Never raises on what the caller sent."""
    match = _KEY_RE.match(presented)
    if match is None:
        return None
    digest = key_hmac(secret, presented)
    with db.session() as session:
        found = session.execute(
            select(ApiKeyRow.key_hmac, ApiKeyRow.revoked_at, TenantRow.id, TenantRow.name)
            .join(TenantRow, TenantRow.id == ApiKeyRow.tenant_id)
            .where(ApiKeyRow.key_id == match[1])
        ).first()
    if found is None:
        # Spend the same comparison on a miss, so timing does not tell ids that exist.
        hmac.compare_digest(digest, "0" * 64)
        return None
    stored, revoked_at, tenant_id, tenant = found
    if not hmac.compare_digest(digest, stored) or revoked_at is not None:
        return None
    return Principal(tenant_id=tenant_id, tenant=tenant, key_id=match[1])
