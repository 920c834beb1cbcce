"""What every request pays besides its route: the worker-thread hops and the security
headers (a plain ASGI middleware, not Starlette's task-group BaseHTTPMiddleware)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio.to_thread
import pytest
import sqlalchemy as sa

from hub.store.tables import api_tokens
from hub.web.headers import SECURITY_HEADERS
from tests.hub.conftest import ResolvedHub
from tests.hub.web.helpers import Api


def _count_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        inner = getattr(func, "func", func)
        calls.append(getattr(inner, "__name__", repr(inner)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return calls


def test_a_bearer_api_request_on_sqlite_takes_one_thread_hop(
    api: Api, sqlite_hub: ResolvedHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The route's. The token is read on the event loop (a SQLite file in WAL mode); its
    once-a-minute use stamp is written in a thread; the Hub dependency took one too."""
    gid = sqlite_hub.crosswalk()[("erp", "1001")]
    calls = _count_hops(monkeypatch)
    client = api("vera")
    assert client.get("/api/me").status_code == 200
    assert calls == ["_token_used", "me"], "a new token's first use is stamped in a thread"
    with sqlite_hub.store.engine.connect() as conn:
        stamped = conn.execute(
            sa.select(api_tokens.c.last_used_at).where(api_tokens.c.last_used_at.is_not(None))
        ).all()
    assert len(stamped) == 1
    for path, route in (
        (f"/api/customers/{gid}", "customer"),
        ("/api/customers?q=anna", "customers_search"),
        ("/api/review", "review_queue"),
    ):
        calls.clear()
        response = client.get(path)
        assert response.status_code == 200, response.text
        assert calls == [route], (path, calls)


def test_a_server_database_token_is_read_in_a_thread(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.web import security

    monkeypatch.setattr(security, "_reads_inline", lambda _hub: False)
    calls = _count_hops(monkeypatch)
    assert api("vera").get("/api/me").status_code == 200
    assert calls == ["_token_caller", "me"]
    assert api("vera").get("/api/me").status_code == 200
    stranger = api(None)
    stranger.headers["Authorization"] = "Bearer not-a-token"
    assert stranger.get("/api/me").status_code == 401


def test_an_unknown_or_revoked_token_is_refused_on_the_loop(
    api: Api, sqlite_hub: ResolvedHub
) -> None:
    client = api("vera")
    assert client.get("/api/me").status_code == 200
    with sqlite_hub.store.transaction() as conn:
        conn.execute(api_tokens.update().values(revoked_at=sa.func.current_timestamp()))
    assert client.get("/api/me").status_code == 401
    client.headers["Authorization"] = "Bearer not-a-token"
    assert client.get("/api/me").status_code == 401


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


def _echo_app(requests: int) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from hub.web.connections import RecycleConnections

    def hello(_request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok", headers={"connection": "keep-alive"})

    app = Starlette(routes=[Route("/", hello)])
    app.add_middleware(RecycleConnections, requests=requests)
    return app


async def _get(app: Any, client: tuple[str, int]) -> dict[str, str]:
    """One GET through the ASGI app from `client`: the response start's headers."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": client,
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    names = [name.decode() for name, _ in start["headers"]]
    assert names.count("connection") == 1, names
    return {name.decode(): value.decode() for name, value in start["headers"]}


def test_a_connection_is_asked_to_reconnect_after_its_nth_request() -> None:
    """So the workers of `crmhub serve --workers N` share long-lived clients."""
    app = _echo_app(3)

    async def run() -> list[tuple[str, str]]:
        seen = []
        for _ in range(7):
            for client in (("10.0.0.1", 5000), ("10.0.0.1", 5001)):
                seen.append((f"{client[1]}", (await _get(app, client))["connection"]))
        return seen

    # in a thread of its own: an earlier test of the session may leave this thread's event
    # loop marked running (Playwright's sync API does), and anyio.run refuses to nest
    with ThreadPoolExecutor(1) as pool:
        seen = pool.submit(anyio.run, run).result()
    for port in ("5000", "5001"):
        answers = [value for p, value in seen if p == port]
        assert answers == ["keep-alive", "keep-alive", "close"] * 2 + ["keep-alive"], answers


def test_the_app_recycles_connections(api: Api) -> None:
    from hub.web.connections import KEEPALIVE_REQUESTS

    client = api("vera")
    answers = [client.get("/api/me").headers.get("connection") for _ in range(KEEPALIVE_REQUESTS)]
    assert answers.count("close") == 1 and answers[-1] == "close"
