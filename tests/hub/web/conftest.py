"""The API client factory every web test signs in with."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hub.steward import create_token
from hub.web import create_app
from tests.hub.conftest import ResolvedHub
from tests.hub.web.helpers import Api


@pytest.fixture
def api(sqlite_hub: ResolvedHub) -> Iterator[Api]:
    """A client factory: `api("sam")` authenticates with sam's API token, `api(None)` none."""
    app = create_app(sqlite_hub.config, sqlite_hub.store)
    tokens: dict[str, str] = {}
    with sqlite_hub.store.transaction() as conn:
        for name in ("alice", "sam", "vera"):
            tokens[name] = create_token(conn, name, "test", actor="test")

    def client(user: str | None) -> TestClient:
        c = TestClient(app)
        if user:
            c.headers["Authorization"] = f"Bearer {tokens[user]}"
        return c

    yield client
