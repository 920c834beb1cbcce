"""Alembic migrations of the hub store.

`HEAD` names the newest revision, so that opening a store already at head costs one query
instead of loading Alembic and every migration script (`tests/hub/test_store.py` checks it
against Alembic's own view of the scripts: a new migration must update it).
"""

from __future__ import annotations

__all__ = ["HEAD"]

HEAD = "0014"
