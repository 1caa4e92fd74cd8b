"""Alembic environment of the gateway: ``srlforge.db.run_migrations`` with the gateway's tables
and its own version table (``gateway_alembic_version``)."""

from __future__ import annotations

from alembic import context

from gateway.orm import VERSION_TABLE, Base
from srlforge.db import run_migrations

run_migrations(context, Base.metadata, VERSION_TABLE)
