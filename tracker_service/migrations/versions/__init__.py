"""Alembic revision files (a package so that installs ship them)."""
