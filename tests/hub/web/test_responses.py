"""The read routes' JSON: rendered once (no validation thread hop), the same bytes FastAPI
rendered before, and built from plain-str keys (SQLAlchemy's `quoted_name` keys made
encoding the customer page take a third of its CPU time under load)."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from hub.steward import create_token, customer_view
from hub.web import create_app
from hub.web.responses import json_response
from tests.hub.conftest import ResolvedHub


@dataclass
class _Hit:
    golden_id: str
    score: float


def test_json_response_renders_what_fastapi_rendered_for_a_dict_route() -> None:
    data: dict[str, Any] = {
        "at": dt.datetime(2026, 12, 5, 7, 30, 1, 250, tzinfo=dt.UTC),
        "naive": dt.datetime(2026, 12, 5, 7, 30),
        "day": dt.date(2026, 12, 5),
        "amount": decimal.Decimal("45.8900"),
        "hits": [_Hit("G1", 85.7)],
        "pair": ("erp", "1001"),
        "name": "Kovács Zsófia",
        "none": None,
    }
    before = TypeAdapter(dict[str, Any]).dump_json(data)  # FastAPI's response field
    response = json_response(data)
    assert response.body == before
    assert response.media_type == "application/json"
    assert json_response({"x": float("nan")}).body == b'{"x":null}'


def test_the_customer_view_is_keyed_by_plain_strings(sqlite_hub: ResolvedHub) -> None:
    gid = sqlite_hub.crosswalk()[("erp", "1001")]
    with sqlite_hub.store.engine.connect() as conn:
        view = customer_view(conn, gid)
    assert view["sources"] and view["timeline"]
    for part in ("sources", "timeline", "reviews", "history"):
        for row in view[part]:
            assert {type(key) for key in row} == {str}, part


def test_read_routes_answer_json_without_a_second_thread_hop(
    sqlite_hub: ResolvedHub, monkeypatch: Any
) -> None:
    """Counts the worker-thread calls a customer page takes: the token check and the
    route, not a third one to validate the returned dict."""
    import fastapi.routing

    with sqlite_hub.store.transaction() as conn:
        token = create_token(conn, "vera", "test", actor="test")
    gid = sqlite_hub.crosswalk()[("erp", "1001")]
    calls: list[str] = []
    original = fastapi.routing.run_in_threadpool

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(func, "__name__", repr(func)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "run_in_threadpool", counted)
    client = TestClient(create_app(sqlite_hub.config, sqlite_hub.store))
    client.headers["Authorization"] = f"Bearer {token}"
    response = client.get(f"/api/customers/{gid}")
    assert response.status_code == 200 and response.json()["golden_id"] == gid
    assert response.headers["content-type"] == "application/json"
    assert calls == ["customer"], calls


def test_the_server_serves_routes_from_a_few_threads(sqlite_hub: ResolvedHub) -> None:
    """With anyio's 40 threads, 20 clients' requests took turns at the GIL and the slowest
    waited for all the others; the app's lifespan sets WORKER_THREADS."""
    import anyio.to_thread

    from hub.web.app import WORKER_THREADS

    async def tokens() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    with TestClient(create_app(sqlite_hub.config, sqlite_hub.store)) as client:
        assert client.portal is not None
        assert client.portal.call(tokens) == WORKER_THREADS == 10
