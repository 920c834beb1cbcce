"""What every request pays besides its route: the worker-thread hops and the security
headers (a plain ASGI middleware, not Starlette's task-group BaseHTTPMiddleware)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import pytest

from hub.web.headers import SECURITY_HEADERS
from tests.hub.conftest import ResolvedHub
from tests.hub.web.helpers import Api


def test_a_bearer_api_request_takes_two_thread_hops(
    api: Api, sqlite_hub: ResolvedHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token check and the route; the Hub dependency (an attribute read) took a third."""
    gid = sqlite_hub.crosswalk()[("erp", "1001")]
    calls: list[str] = []
    original = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        inner = getattr(func, "func", func)
        calls.append(getattr(inner, "__name__", repr(inner)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    client = api("vera")
    for path in (f"/api/customers/{gid}", "/api/customers?q=anna", "/api/review"):
        calls.clear()
        response = client.get(path)
        assert response.status_code == 200, response.text
        assert len(calls) == 2 and calls[0] == "_token_caller", (path, calls)


@pytest.mark.parametrize(
    ("user", "path", "status"),
    [
        ("vera", "/api/me", 200),  # a route
        ("vera", "/api/customers/G-nobody", 404),  # a StewardError's handler
        (None, "/api/review", 401),  # an HTTPException's handler
        ("vera", "/api/customers?q=", 422),  # the validation handler
        (None, "/login", 200),  # a page
        (None, "/static/app.js", 200),  # a mounted static file
        (None, "/no-such-page", 404),
    ],
)
def test_every_response_carries_the_security_headers_once(
    api: Api, user: str | None, path: str, status: int
) -> None:
    response = api(user).get(path, follow_redirects=False)
    assert response.status_code == status, response.text
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get_list(name) == [value], name


def test_a_response_keeps_a_security_header_it_sets_itself() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from hub.web.headers import SecurityHeaders

    def framed(_request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok", headers={"x-frame-options": "SAMEORIGIN"})

    app = Starlette(routes=[Route("/", framed)])
    app.add_middleware(SecurityHeaders)
    response = TestClient(app).get("/")
    assert response.headers.get_list("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_search_hits_render_as_their_fields(api: Api, sqlite_hub: ResolvedHub) -> None:
    """The hits go to the JSON encoder as dataclasses (no asdict() per hit): same bytes."""
    from dataclasses import asdict

    from pydantic_core import to_json

    from hub.steward import search_page

    response = api("vera").get("/api/customers", params={"q": "anna", "limit": 5})
    assert response.status_code == 200
    with sqlite_hub.store.engine.connect() as conn:
        page = search_page(conn, "anna", limit=5)
    assert page.hits
    expected = to_json([asdict(hit) for hit in page.hits])
    assert to_json(response.json()["hits"]) == expected
    assert response.content.count(b'"golden_id"') == len(page.hits)
