"""Fixtures for hub tests: the demo project synced and resolved, with one user per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.core.retry import RetryPolicy
from hub.resolve.run import resolve_store
from hub.steward import SurvivorshipSettings, add_user
from hub.store.database import Store
from hub.store.tables import crosswalk
from hub.sync.run import sync
from schemas.config import HubConfig
from tests.hub.test_sync import demo_project

PASSWORD = "correct-horse-battery"


@dataclass
class ResolvedHub:
    config: HubConfig
    store: Store
    settings: SurvivorshipSettings

    def crosswalk(self) -> dict[tuple[str, str], str]:
        with self.store.engine.connect() as conn:
            return {
                (r.source, r.source_id): r.golden_id for r in conn.execute(sa.select(crosswalk))
            }


def build_resolved_hub(tmp_path: Path, store_url: str) -> ResolvedHub:
    config, store = demo_project(tmp_path, store_url)
    assert all(r.ok for r in sync(config, store, retry=RetryPolicy(attempts=1)))
    resolve_store(config, store, actor="test")
    with store.transaction() as conn:
        for name, role in (("alice", "admin"), ("sam", "steward"), ("vera", "viewer")):
            add_user(conn, name, PASSWORD, role, actor="test")
    return ResolvedHub(config, store, SurvivorshipSettings.from_config(config))


@pytest.fixture
def hub(tmp_path: Path, store_url: str) -> Iterator[ResolvedHub]:
    """The demo hub, resolved, on SQLite and on PostgreSQL."""
    resolved = build_resolved_hub(tmp_path, store_url)
    yield resolved
    resolved.store.dispose()


@pytest.fixture
def sqlite_hub(tmp_path: Path) -> Iterator[ResolvedHub]:
    """The demo hub, resolved, on SQLite only (for the slower end-to-end paths)."""
    resolved = build_resolved_hub(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}")
    yield resolved
    resolved.store.dispose()
