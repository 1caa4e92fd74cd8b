"""Alembic environment of the collaboration service: ``srlforge.db.run_migrations`` with the
collab tables and its own version table (``collab_alembic_version``)."""

from __future__ import annotations

from alembic import context

from collab_service.orm import VERSION_TABLE, Base
from srlforge.db import run_migrations

run_migrations(context, Base.metadata, VERSION_TABLE)
