"""Alembic migrations of the tracker database; run them with ``tracker_service.db.upgrade``."""
