"""The home page, quarantine page, customers list, audit display and token admin through
FastAPI's test client on the demo store: the new JSON routes' permission matrix, the pages'
figures against the store, paging, and the token admin's create / list / revoke with CSRF."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hub.core.states import GoldenStatus
from hub.steward import create_token
from hub.store.tables import api_tokens, audit_log, golden_records, quarantine
from hub.web import create_app
from hub.web.formatting import details
from tests.hub.conftest import PASSWORD, ResolvedHub

USERS = {"vera": "viewer", "sam": "steward", "alice": "admin"}
RANK = {"viewer": 0, "steward": 1, "admin": 2}


@pytest.fixture
def app_client(sqlite_hub: ResolvedHub) -> Iterator[Callable[[str | None], TestClient]]:
    """`client("sam")` signs in through the form (a browser session); `client(None)` not."""
    app = create_app(sqlite_hub.config, sqlite_hub.store)

    def client(user: str | None) -> TestClient:
        c = TestClient(app)
        if user:
            page = c.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token
            data = {"username": user, "password": PASSWORD, "csrf_token": token[1]}
            assert c.post("/login", data=data, follow_redirects=False).status_code == 303
        return c

    yield client


def csrf(client: TestClient, page: str = "/") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).text)
    assert found
    return found[1]


# JSON routes: (path, least role)
ROUTES = [
    ("/api/dashboard", "viewer"),
    ("/api/quarantine", "viewer"),
    ("/api/quarantine?source=erp&text=x&limit=5", "viewer"),
    ("/api/customers/browse", "viewer"),
    ("/api/customers/browse?sort=city&order=desc&limit=3&offset=3", "viewer"),
]
PAGES = [("/", "viewer"), ("/quarantine", "viewer"), ("/customers", "viewer"), ("/users", "admin")]


@pytest.mark.parametrize(("path", "least"), ROUTES)
def test_new_json_routes_need_a_viewer_token(
    sqlite_hub: ResolvedHub, path: str, least: str
) -> None:
    app = create_app(sqlite_hub.config, sqlite_hub.store)
    assert TestClient(app).get(path).status_code == 401
    with sqlite_hub.store.transaction() as conn:
        tokens = {name: create_token(conn, name, "t", actor="test") for name in USERS}
    for name, role in USERS.items():
        response = TestClient(app).get(path, headers={"Authorization": f"Bearer {tokens[name]}"})
        assert response.status_code == (200 if RANK[role] >= RANK[least] else 403), name


@pytest.mark.parametrize(("path", "least"), PAGES)
def test_new_pages_by_role(
    app_client: Callable[[str | None], TestClient], path: str, least: str
) -> None:
    anonymous = app_client(None).get(path, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    for name, role in USERS.items():
        response = app_client(name).get(path)
        assert response.status_code == (200 if RANK[role] >= RANK[least] else 403), name


def test_token_admin_routes_refuse_stewards_and_viewers(
    app_client: Callable[[str | None], TestClient], sqlite_hub: ResolvedHub
) -> None:
    with sqlite_hub.store.transaction() as conn:
        create_token(conn, "vera", "script", actor="test")
        token_id = conn.execute(sa.select(sa.func.max(api_tokens.c.id))).scalar_one()
    for name in ("vera", "sam"):
        client = app_client(name)
        token = csrf(client)
        made = client.post("/users/vera/tokens", data={"name": "x", "csrf_token": token})
        revoked = client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": token})
        assert (made.status_code, revoked.status_code) == (403, 403), name
    with sqlite_hub.store.engine.connect() as conn:
        assert (
            conn.execute(
                sa.select(api_tokens.c.revoked_at).where(api_tokens.c.id == token_id)
            ).scalar_one()
            is None
        )


def test_an_admin_creates_sees_and_revokes_a_token_with_csrf(
    app_client: Callable[[str | None], TestClient], sqlite_hub: ResolvedHub
) -> None:
    alice = app_client("alice")
    no_csrf = alice.post("/users/sam/tokens", data={"name": "nightly", "expires_days": "30"})
    assert no_csrf.status_code == 403
    made = alice.post(
        "/users/sam/tokens",
        data={"name": "nightly", "expires_days": "30", "csrf_token": csrf(alice, "/users")},
    )
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    secret = re.search(r'id="new-token-secret">(chub_[^<]+)<', made.text)
    assert secret, "the secret is shown once"
    assert "chub_" not in alice.get("/users").text  # ... and never again
    me = TestClient(alice.app).get("/api/me", headers={"Authorization": f"Bearer {secret[1]}"})
    assert me.json()["username"] == "sam"
    with sqlite_hub.store.engine.connect() as conn:
        row = conn.execute(
            sa.select(api_tokens.c.id, api_tokens.c.expires_at).where(
                api_tokens.c.name == "nightly"
            )
        ).one()
    section = alice.get("/users").text.split('id="tokens-sam"')[1].split("</section>")[0]
    assert "nightly" in section and "active" in section
    assert (row.expires_at.date() - dt.date.today()).days in (29, 30)
    bad = alice.post(
        "/users/sam/tokens",
        data={"name": "x", "expires_days": "soon", "csrf_token": csrf(alice, "/users")},
    )
    assert bad.status_code == 422 and "a whole number of days" in bad.text
    gone = alice.post(f"/tokens/{row.id}/revoke", data={"csrf_token": csrf(alice, "/users")})
    assert gone.status_code == 200 and "token &#39;nightly&#39; of sam revoked" in gone.text
    again = TestClient(alice.app).get("/api/me", headers={"Authorization": f"Bearer {secret[1]}"})
    assert again.status_code == 401
    with sqlite_hub.store.engine.connect() as conn:
        actions = conn.execute(
            sa.select(audit_log.c.actor, audit_log.c.action).where(
                audit_log.c.action.startswith("token.")
            )
        ).all()
    assert ("alice", "token.create") in actions and ("alice", "token.revoke") in actions


def test_home_figures_are_the_stores_counts(
    app_client: Callable[[str | None], TestClient], sqlite_hub: ResolvedHub
) -> None:
    client = app_client("vera")
    board = client.get("/api/dashboard").json()
    with sqlite_hub.store.engine.connect() as conn:
        golden = conn.execute(
            sa.select(sa.func.count()).where(golden_records.c.status == GoldenStatus.ACTIVE)
        ).scalar_one()
        open_q = conn.execute(
            sa.select(sa.func.count()).where(quarantine.c.resolved_at.is_(None))
        ).scalar_one()
    assert board["golden_active"] == golden and board["quarantined"] == open_q
    html = client.get("/").text
    assert re.search(rf'id="fig-golden" href="/customers"><strong>{golden:,}</strong>', html)
    assert f'href="/review"><strong>{board["review_open"]:,}</strong>' in html
    for source in board["sources"]:
        row = html.split(f'id="source-{source["source"]}"')[1].split("</tr>")[0]
        assert f">{source['records']:,}</a>" in row
        assert f'href="/customers?source={source["source"]}"' in row


def test_customers_list_pages_without_a_query_and_search_pages_with_one(
    app_client: Callable[[str | None], TestClient],
) -> None:
    client = app_client("vera")
    browse = client.get("/api/customers/browse", params={"limit": 200}).json()
    total = browse["total"]
    assert total > 5, "the demo has more golden records than one page of 5"
    seen: list[str] = []
    for page in range(1, -(-total // 5) + 1):
        html = client.get("/customers", params={"size": 5, "page": page}).text
        assert f"{total:,} golden records" in html and f"page {page} of {-(-total // 5)}" in html
        seen += re.findall(r'href="/customers/(G[0-9a-f]+)" class="hit"', html)
    assert seen == [row["golden_id"] for row in browse["rows"]]  # same order, each once
    first = client.get("/customers", params={"q": "cohen", "size": 1}).text
    second = client.get("/customers", params={"q": "cohen", "size": 1, "page": 2}).text
    assert 'id="total">3 match' in first and "page 2 of 3" in second
    one = re.findall(r'class="hit">([^<]+)</a>', first)
    two = re.findall(r'class="hit">([^<]+)</a>', second)
    assert len(one) == len(two) == 1
    assert re.search(r'class="score" title="[^"]+">90 % name match', first)
    assert "score-legend" in first
    refused = client.get("/api/customers/browse", params={"sort": "email"})
    assert refused.status_code == 422


def test_a_failed_sign_in_is_an_attempt_for_the_typed_text_in_the_audit(
    app_client: Callable[[str | None], TestClient],
) -> None:
    stranger = app_client(None)
    page = stranger.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    typed = "=cmd|' /C calc'!A0"
    data = {"username": typed, "password": "nope", "csrf_token": token[1]}
    assert stranger.post("/login", data=data).status_code == 401
    html = app_client("alice").get("/audit", params={"action": "session.login_failed"}).text
    assert '<td class="who attempt">attempt for &#39;=cmd|&#39; /C calc&#39;!A0&#39;</td>' in html
    assert "{}" not in html and "&#34;client&#34;" not in html
    assert "<dt>client</dt><dd>testclient</dd>" in html


def test_details_are_readable_pairs() -> None:
    assert details({}) == []
    assert details({"client": "1.2.3.4", "summary": "merged A into B", "n": None}) == [
        ("summary", "merged A into B"),
        ("client", "1.2.3.4"),
        ("n", "—"),
    ]
    assert details({"members": [["erp", "1"], ["web", "7"]], "ok": True}) == [
        ("members", "erp/1, web/7"),
        ("ok", "yes"),
    ]
    assert details({"text": "x" * 500})[0][1].endswith("…")
