"""Alembic environment for the tracker: ``srlforge.db.run_migrations`` with the tracker's tables
and its own version table (``tracker_alembic_version``)."""

from __future__ import annotations

from alembic import context

from srlforge.db import run_migrations
from tracker_service.orm import VERSION_TABLE, Base

run_migrations(context, Base.metadata, VERSION_TABLE)
