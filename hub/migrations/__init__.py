"""Alembic migrations of the hub store."""
