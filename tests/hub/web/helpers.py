"""Small readers the web tests share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.hub.conftest import ResolvedHub

__all__ = ["Api", "anna", "count"]

Api = Callable[[str | None], TestClient]
"""The `api` fixture: a TestClient signed in as the named demo user (None: anonymous)."""


def anna(hub: ResolvedHub) -> str:
    """Anna Kovács's golden id in the demo hub."""
    return hub.crosswalk()[("erp", "1001")]


def count(hub: ResolvedHub, table: sa.Table, *where: Any) -> int:
    with hub.store.engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
        )
