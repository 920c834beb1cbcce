"""Fixtures for hub tests: the demo project synced and resolved, with one user per role.

The demo is built once per session and backend (tests/hub/helpers.py `build_demo_hub`);
each test gets its own copy of the project folder and of the store — the SQLite file
copied, or a PostgreSQL database created from the built one as its template — so tests
stay independent and may change whatever they like.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.hub.helpers import PASSWORD, DemoHub, ResolvedHub, build_demo_hub, copy_database
from tests.postgres import PostgresServer

__all__ = ["PASSWORD", "ResolvedHub"]  # imported from here by the test modules


@pytest.fixture(scope="session")
def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoHub:
    base = tmp_path_factory.mktemp("demo-sqlite")
    return build_demo_hub(base / "project", f"sqlite:///{base / 'hub.db'}")


@pytest.fixture(scope="session")
def postgresql_demo(tmp_path_factory: pytest.TempPathFactory, pg_server: PostgresServer) -> DemoHub:
    base = tmp_path_factory.mktemp("demo-postgresql")
    return build_demo_hub(base / "project", pg_server.create_database())


def _sqlite_copy(demo: DemoHub, tmp_path: Path) -> ResolvedHub:
    copy_database(demo.sqlite_file, tmp_path / "hub.db")
    return demo.copy(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}")


@pytest.fixture
def hub(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ResolvedHub]:
    """The demo hub, resolved, on SQLite and on PostgreSQL: this test's own copy."""
    if backend == "sqlite":
        resolved = _sqlite_copy(request.getfixturevalue("sqlite_demo"), tmp_path)
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        demo: DemoHub = request.getfixturevalue("postgresql_demo")
        template = sa.make_url(demo.store_url).database
        resolved = demo.copy(tmp_path, server.create_database(template=template))
    yield resolved
    resolved.store.dispose()


@pytest.fixture
def sqlite_hub(sqlite_demo: DemoHub, tmp_path: Path) -> Iterator[ResolvedHub]:
    """The demo hub, resolved, on SQLite only (for the slower end-to-end paths)."""
    resolved = _sqlite_copy(sqlite_demo, tmp_path)
    yield resolved
    resolved.store.dispose()
