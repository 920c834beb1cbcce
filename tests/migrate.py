"""Move a test's hub store to an Alembic revision, up or down (migration tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

from hub.store import migrations
from hub.store.database import Store

__all__ = ["migrate_to"]


def migrate_to(store: Store, target: str, *, down: bool = False) -> None:
    """Upgrade (or with `down`, downgrade) `store` to revision `target` in one transaction."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, target)
