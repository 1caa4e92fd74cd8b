"""Tenants and API keys: create, revoke, authenticate.

A key looks like ``srlf_<key_id>_<secret>``: ``key_id`` (12 hex digits) is public and finds the
row; only ``HMAC-SHA256(server secret, whole key)`` is stored, and the presented key's HMAC is
compared with ``hmac.compare_digest``, so neither a database dump nor response timing reveals a
usable key. The key itself is shown once, by ``create_key``, and never stored or logged.

``KeyCache`` spares the database lookup on repeated requests: for a few seconds (``ttl_s``) after
a key authenticated, its key id maps to the stored HMAC and the principal, and a presented key is
still HMAC-ed and compared with ``hmac.compare_digest`` against that digest. Neither the key nor
its secret part is kept. The price is that a revocation reaches a process that cached the key
only when the entry expires: at most ``ttl_s`` later (0 turns the cache off).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

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


class KeyCache:
    """Recently verified keys by key id: ``(stored HMAC, principal, expiry)``, ``ttl_s`` long.

    Only keys that authenticated are cached, so guessed key ids cannot fill it; past
    ``max_entries`` the oldest entry goes. Thread-safe (sync routes run on a thread pool).
    """

    def __init__(
        self, ttl_s: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s, self.max_entries, self._clock = ttl_s, max_entries, clock
        self._entries: dict[str, tuple[str, Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, key_id: str) -> tuple[str, Principal] | None:
        with self._lock:
            entry = self._entries.get(key_id)
            if entry is None:
                return None
            if self._clock() >= entry[2]:
                del self._entries[key_id]
                return None
            return entry[0], entry[1]

    def put(self, stored_hmac: str, principal: Principal) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            self._entries.pop(principal.key_id, None)
            while len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[principal.key_id] = (stored_hmac, principal, self._clock() + self.ttl_s)


def authenticate_cached(
    cache: KeyCache, secret: bytes, presented: str
) -> Principal | Literal[False] | None:
    """From the cache alone: the principal, None (malformed), or False (ask ``authenticate``).

    No database, no I/O, so it may run on the event loop. A wrong key under a cached key id is
    False too: it then takes the database path like any unknown key, so response times do not
    tell which key ids were used lately.
    """
    match = _KEY_RE.match(presented)
    if match is None:
        return None
    cached = cache.get(match[1])
    if cached is None:
        return False
    stored, principal = cached
    return principal if hmac.compare_digest(key_hmac(secret, presented), stored) else False


def authenticate(
    db: GatewayDatabase, secret: bytes, presented: str, cache: KeyCache | None = None
) -> Principal | None:
    """The principal of a presented key, or None. Never raises on what the caller sent.

    With ``cache``, a key verified less than ``cache.ttl_s`` ago is checked against its cached
    HMAC instead of the database, and a key verified now is cached."""
    match = _KEY_RE.match(presented)
    if match is None:
        return None
    if cache is not None and isinstance(
        known := authenticate_cached(cache, secret, presented), Principal
    ):
        return known
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
    principal = Principal(tenant_id=tenant_id, tenant=tenant, key_id=match[1])
    if cache is not None:
        cache.put(stored, principal)
    return principal
