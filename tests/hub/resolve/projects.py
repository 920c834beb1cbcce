"""A demo hub project for store-resolve tests, on SQLite or a fresh PostgreSQL database,
with extra `identity:` settings (an engine) written into its hub.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.store.database import Store
from schemas.config import HubConfig, load_config
from tests.hub.test_sync import demo_project


def project(
    folder: Path, backend: str, request: pytest.FixtureRequest, identity: str = ""
) -> tuple[HubConfig, Store]:
    """The project in `folder` on `backend` (sqlite | postgresql), `identity` (YAML lines
    indented under `identity:`) added to its settings."""
    folder.mkdir()
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'hub.db'}"
    else:
        url = request.getfixturevalue("pg_server").create_database()
    config, store = demo_project(folder, url)
    if identity:
        path = folder / "hub.yaml"
        path.write_text(path.read_text().replace("identity:\n", "identity:\n" + identity, 1))
        config = load_config(path)
    return config, store
