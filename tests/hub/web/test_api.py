"""The REST API through FastAPI's test client on a real store: every operation, the
permission matrix (anonymous / viewer / steward / admin), CSRF, conflicts and the audit log."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hub.steward import create_token
from hub.store.tables import api_tokens, audit_log, golden_records
from hub.web import create_app
from tests.hub.conftest import PASSWORD, ResolvedHub


def first_item(api: Callable[[str | None], TestClient]) -> dict[str, Any]:
    items = api("vera").get("/api/review").json()["items"]
    assert items
    return items[0]


def golden_version(hub: ResolvedHub, gid: str) -> int:
    with hub.store.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(golden_records.c.version).where(golden_records.c.golden_id == gid)
            ).scalar_one()
        )


def test_openapi_describes_the_review_paths(api: Callable[[str | None], TestClient]) -> None:
    schema = api(None).get("/openapi.json").json()
    review = [p for p in schema["paths"] if "review" in p]
    assert {"/api/review", "/api/review/{item_id}", "/api/review/{item_id}/decision"} <= set(review)


# (method, path template, body, least role that may do it, status for that role)
OPERATIONS: list[tuple[str, str, dict[str, Any] | None, str, int]] = [
    ("GET", "/api/review", None, "viewer", 200),
    ("GET", "/api/review/{item}", None, "viewer", 200),
    ("GET", "/api/review?group=false", None, "viewer", 200),  # the pairs, one item each
    ("GET", "/api/review/{item}?view=pair", None, "viewer", 200),
    ("GET", "/api/customers?q=kovacs", None, "viewer", 200),
    ("GET", "/api/customers/{anna}", None, "viewer", 200),
    ("GET", "/api/analytics/runs/last", None, "viewer", 200),
    ("GET", "/api/analytics/customers/{anna}", None, "viewer", 200),
    ("GET", "/api/analytics/segmentations", None, "viewer", 200),
    ("GET", "/api/analytics/segments/stage", None, "viewer", 200),
    ("GET", "/api/analytics/segments/stage/new/members", None, "viewer", 200),
    ("GET", "/api/analytics/segments/stage/new/members?format=csv", None, "viewer", 200),
    ("GET", "/api/analytics/funnel", None, "viewer", 200),
    ("GET", "/api/analytics/risk?bins=5", None, "viewer", 200),
    ("GET", "/api/analytics/deciles", None, "viewer", 200),
    ("GET", "/api/analytics/lorenz", None, "viewer", 200),
    ("POST", "/api/review/{item}/decision", {"decision": "unsure"}, "steward", 200),
    (
        "POST",
        "/api/review/{item}/decision",
        {"decision": "skip", "pairs": [1, 2, 3]},
        "steward",
        200,
    ),
    ("POST", "/api/review/bulk-decision", {"decision": "unsure", "source": "x"}, "steward", 200),
    ("PUT", "/api/customers/{anna}/fields/city", {"value": "Szeged", "version": 0}, "steward", 200),
    ("POST", "/api/customers/merge", {"golden_ids": [], "versions": {}}, "steward", 422),
    ("POST", "/api/customers/{anna}/unmerge", {"members": [], "version": 1}, "steward", 422),
    ("POST", "/api/actions/999/undo", None, "steward", 404),
    ("GET", "/api/audit", None, "admin", 200),
    ("GET", "/api/audit/export?format=csv", None, "admin", 200),
    ("GET", "/api/users", None, "admin", 200),
    (
        "POST",
        "/api/users",
        {"username": "neo", "password": PASSWORD, "role": "viewer"},
        "admin",
        201,
    ),
    ("PATCH", "/api/users/vera", {"role": "viewer"}, "admin", 200),
    ("DELETE", "/api/tokens/999", None, "admin", 404),
]
RANK = {"viewer": 0, "steward": 1, "admin": 2}
USERS = {"vera": "viewer", "sam": "steward", "alice": "admin"}


@pytest.mark.parametrize(("method", "path", "body", "least", "ok"), OPERATIONS)
def test_permission_matrix(
    api: Callable[[str | None], TestClient],
    sqlite_hub: ResolvedHub,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    least: str,
    ok: int,
) -> None:
    anna = sqlite_hub.crosswalk()[("erp", "1001")]
    url = path.format(item=first_item(api)["id"], anna=anna)
    if body and body.get("version") == 0:
        body = {**body, "version": golden_version(sqlite_hub, anna)}
    assert api(None).request(method, url, json=body).status_code == 401
    for name, role in USERS.items():  # the allowed ones last, so a change happens once
        if RANK[role] < RANK[least]:
            response = api(name).request(method, url, json=body)
            assert response.status_code == 403, (name, response.text)
            assert f"needs the {least} role" in response.json()["detail"]
    allowed = [n for n, r in USERS.items() if RANK[r] >= RANK[least]]
    response = api(allowed[0]).request(method, url, json=body)
    assert response.status_code == ok, response.text


def test_decision_conflict_has_a_clear_message(api: Callable[[str | None], TestClient]) -> None:
    item = first_item(api)
    first = api("sam").post(f"/api/review/{item['id']}/decision", json={"decision": "match"})
    assert first.status_code == 200 and first.json()["action_id"]
    again = api("alice").post(f"/api/review/{item['id']}/decision", json={"decision": "no_match"})
    assert again.status_code == 409
    assert "already decided" in again.json()["detail"]


def test_merge_unmerge_override_undo_through_the_api(
    api: Callable[[str | None], TestClient], sqlite_hub: ResolvedHub
) -> None:
    xw = sqlite_hub.crosswalk()
    a, b = xw[("erp", "1001")], xw[("erp", "1002")]
    sam = api("sam")
    versions = {g: golden_version(sqlite_hub, g) for g in (a, b)}
    merged = sam.post("/api/customers/merge", json={"golden_ids": [a, b], "versions": versions})
    assert merged.status_code == 200, merged.text
    survivor = next(
        g for g in (a, b) if sam.get(f"/api/customers/{g}").json()["status"] == "active"
    )
    view = sam.get(f"/api/customers/{survivor}").json()
    assert {("erp", "1001"), ("erp", "1002")} <= {
        (s["source"], s["source_id"]) for s in view["sources"]
    }

    stale = sam.post("/api/customers/merge", json={"golden_ids": [a, b], "versions": versions})
    assert stale.status_code == 409

    out = sam.post(
        f"/api/customers/{survivor}/unmerge",
        json={"members": [{"source": "erp", "source_id": "1002"}], "version": view["version"]},
    )
    assert out.status_code == 200, out.text
    moved_to = sqlite_hub.crosswalk()[("erp", "1002")]
    assert moved_to != survivor

    version = golden_version(sqlite_hub, survivor)
    before = sam.get(f"/api/customers/{survivor}").json()
    put = sam.put(
        f"/api/customers/{survivor}/fields/email",
        json={"value": "anna@kovacs.hu", "version": version},
    )
    assert put.status_code == 200
    shown = sam.get(f"/api/customers/{survivor}").json()
    assert shown["record"]["email"] == "anna@kovacs.hu"
    assert shown["provenance"]["email"]["explanation"].startswith("manual, by sam")
    undo = sam.post(f"/api/actions/{put.json()['action_id']}/undo")
    assert undo.status_code == 200
    after = sam.get(f"/api/customers/{survivor}").json()  # as it was before the override
    assert after["record"]["email"] == before["record"]["email"] != "anna@kovacs.hu"
    assert after["provenance"]["email"] == before["provenance"]["email"]


def test_search_is_fuzzy_and_format_tolerant(api: Callable[[str | None], TestClient]) -> None:
    vera = api("vera")

    def top(q: str) -> dict[str, Any]:
        hits = vera.get("/api/customers", params={"q": q}).json()["hits"]
        assert hits, q
        return hits[0]

    anna = top("Anna Kovács")["golden_id"]
    assert top("Ana Kovacz")["golden_id"] == anna  # misspelled, no accents
    assert top("kovács anna")["golden_id"] == anna  # family name first
    assert top("06 30 123 4567")["golden_id"] == anna  # national phone format
    assert top("+36301234567")["golden_id"] == anna
    assert top("1001")["golden_id"] == anna  # a source id


def test_customer_view_has_sources_timeline_newest_first(
    api: Callable[[str | None], TestClient], sqlite_hub: ResolvedHub
) -> None:
    anna = sqlite_hub.crosswalk()[("erp", "1001")]
    view = api("vera").get(f"/api/customers/{anna}").json()
    assert {s["source"] for s in view["sources"]} >= {"erp", "billing", "support"}
    times = [t["occurred_at"] for t in view["timeline"]]
    assert times and times == sorted(times, reverse=True)
    assert {t["source"] for t in view["timeline"]} >= {"erp"}
    assert view["timeline_total"] == len(view["timeline"])
    assert set(view["provenance"]) >= {"given_name", "family_name"}


def test_every_mutation_is_audited_and_exportable(
    api: Callable[[str | None], TestClient], sqlite_hub: ResolvedHub
) -> None:
    item = first_item(api)
    api("sam").post(f"/api/review/{item['id']}/decision", json={"decision": "no_match"})
    api("alice").post(
        "/api/users", json={"username": "neo", "password": PASSWORD, "role": "viewer"}
    )
    entries = api("alice").get("/api/audit").json()["entries"]
    actions = {(e["actor"], e["action"]) for e in entries}
    assert ("sam", "steward.decision") in actions and ("alice", "user.add") in actions
    exported = api("alice").get("/api/audit/export", params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert "attachment" in exported.headers["content-disposition"]
    assert {r["action"] for r in rows} >= {"steward.decision", "user.add"}
    lines = api("alice").get("/api/audit/export", params={"format": "jsonl"}).text.splitlines()
    assert len(lines) == len(rows) and json.loads(lines[0])["id"]
    with sqlite_hub.store.engine.connect() as conn:
        secrets_logged = conn.execute(
            sa.select(sa.func.count()).where(audit_log.c.detail.cast(sa.Text).contains(PASSWORD))
        ).scalar()
    assert secrets_logged == 0


def test_browser_session_needs_the_csrf_token(sqlite_hub: ResolvedHub) -> None:
    client = TestClient(create_app(sqlite_hub.config, sqlite_hub.store))
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    bad = client.post(
        "/login", data={"username": "sam", "password": "wrong-password", "csrf_token": token[1]}
    )
    assert bad.status_code == 401 and "Wrong user name or password" in bad.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', bad.text)
    assert token
    good = client.post(
        "/login",
        data={"username": "sam", "password": PASSWORD, "csrf_token": token[1]},
        follow_redirects=False,
    )
    assert good.status_code == 303 and "crmhub_session" in good.cookies
    item = client.get("/api/review").json()["items"][0]
    url = f"/api/review/{item['id']}/decision"
    refused = client.post(url, json={"decision": "skip"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    queue = client.get("/review")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', queue.text)
    assert csrf
    accepted = client.post(url, json={"decision": "skip"}, headers={"X-CSRF-Token": csrf[1]})
    assert accepted.status_code == 200


def test_pages_redirect_anonymous_users_to_sign_in(sqlite_hub: ResolvedHub) -> None:
    client = TestClient(create_app(sqlite_hub.config, sqlite_hub.store))
    response = client.get("/customers", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert "frame-ancestors 'none'" in client.get("/login").headers["content-security-policy"]


def _sign_in(client: TestClient, username: str, password: str) -> Any:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    data = {"username": username, "password": password, "csrf_token": token[1]}
    return client.post("/login", data=data, follow_redirects=False)


def _age_failures(hub: ResolvedHub, seconds: int) -> None:
    """Move every failed sign-in `seconds` into the past (instead of sleeping)."""
    with hub.store.engine.begin() as conn:
        failures = conn.execute(
            sa.select(audit_log.c.id, audit_log.c.at).where(
                audit_log.c.action == "session.login_failed"
            )
        ).all()
        for row in failures:
            conn.execute(
                audit_log.update()
                .where(audit_log.c.id == row.id)
                .values(at=row.at - dt.timedelta(seconds=seconds))
            )


def test_failed_sign_ins_slow_down_but_never_lock_out_the_right_password(
    sqlite_hub: ResolvedHub,
) -> None:
    client = TestClient(create_app(sqlite_hub.config, sqlite_hub.store))
    assert [_sign_in(client, "sam", "wrong-password").status_code for _ in range(5)] == [401] * 5
    throttled = _sign_in(client, "sam", PASSWORD)  # a stranger's guesses delay sam briefly
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= 30
    assert "try again in" in throttled.text
    # more attempts while throttled are not even checked, so they cannot extend the wait
    assert _sign_in(client, "sam", "wrong-password").status_code == 429
    _age_failures(sqlite_hub, 31)  # the longest wait is 30 s after the last failure
    assert _sign_in(client, "sam", PASSWORD).status_code == 303
    with sqlite_hub.store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.detail).where(audit_log.c.target_id == "sam")
        ).all()
    actions = [r.action for r in rows]
    assert actions.count("session.login_failed") == 5
    assert actions.count("session.login_throttled") == 2  # the burst is in the audit log
    attempts = [r for r in rows if r.action in ("session.login_failed", "session.login_throttled")]
    assert all(r.detail["client"] == "testclient" for r in attempts)


def test_many_names_from_one_address_are_throttled_too(sqlite_hub: ResolvedHub) -> None:
    client = TestClient(create_app(sqlite_hub.config, sqlite_hub.store))
    statuses = [_sign_in(client, f"guess{i}", "wrong-password").status_code for i in range(20)]
    assert statuses == [401] * 20  # no single name reached its own limit
    assert _sign_in(client, "guess99", "wrong-password").status_code == 429
    _age_failures(sqlite_hub, 31)
    assert _sign_in(client, "vera", PASSWORD).status_code == 303


def test_the_audit_export_neutralises_formulas_typed_as_a_user_name(
    api: Callable[[str | None], TestClient], sqlite_hub: ResolvedHub
) -> None:
    client = TestClient(create_app(sqlite_hub.config, sqlite_hub.store))
    attack = '=HYPERLINK("http://evil.example","click")'
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    failed = client.post(
        "/login", data={"username": attack, "password": "x", "csrf_token": token[1]}
    )
    assert failed.status_code == 401
    exported = api("alice").get("/api/audit/export", params={"format": "csv"}).text
    cells = [cell for row in csv.reader(io.StringIO(exported)) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    assert any(attack in cell and cell.startswith("'") for cell in cells)  # kept, made inert
    # JSON Lines is data, not a spreadsheet: the typed text stays as it was.
    lines = api("alice").get("/api/audit/export", params={"format": "jsonl"}).text
    assert json.dumps(attack)[1:-1] in lines


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("kind", "banana", "kind: Input should be 'person' or 'organization'"),
        ("email", "not an email", "email: 'not an email' is not an e-mail address"),
    ],
)
def test_an_invalid_override_is_a_clear_422(
    api: Callable[[str | None], TestClient],
    sqlite_hub: ResolvedHub,
    field: str,
    value: str,
    says: str,
) -> None:
    anna = sqlite_hub.crosswalk()[("erp", "1001")]
    version = api("sam").get(f"/api/customers/{anna}").json()["version"]
    response = api("sam").put(
        f"/api/customers/{anna}/fields/{field}", json={"value": value, "version": version}
    )
    assert response.status_code == 422
    assert says in response.json()["detail"]
    view = api("sam").get(f"/api/customers/{anna}").json()
    assert view["record"][field] != value  # nothing was written


def test_only_the_servers_own_messages_show_as_the_success_banner(
    sqlite_hub: ResolvedHub,
) -> None:
    client = TestClient(create_app(sqlite_hub.config, sqlite_hub.store))
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    forged = "Your account is locked: call +1 555 0100"
    signed_in = client.post(
        "/login",
        data={
            "username": "sam",
            "password": PASSWORD,
            "csrf_token": token[1],
            "next": f"/customers?msg={forged}",
        },
    )
    assert signed_in.status_code == 200 and forged not in signed_in.text
    assert forged not in client.get("/review", params={"msg": forged, "sig": "0" * 32}).text
    # A message the server made itself (after an action) still shows.
    from hub.web.render import flash

    location = flash("/review", "2 decided").headers["location"]
    shown = client.get(location).text
    assert 'class="flash"' in shown and "2 decided" in shown


def test_tokens_are_listed_revoked_one_at_a_time_and_expire(
    api: Callable[[str | None], TestClient], sqlite_hub: ResolvedHub
) -> None:
    admin = api("alice")

    def new_token(name: str, **extra: Any) -> str:
        made = admin.post("/api/users/vera/tokens", json={"name": name, **extra})
        assert made.status_code == 201, made.text
        return str(made.json()["token"])

    def works(token: str) -> bool:
        client = TestClient(create_app(sqlite_hub.config, sqlite_hub.store))
        return client.get("/api/review", headers={"Authorization": f"Bearer {token}"}).is_success

    report, sync = new_token("weekly report"), new_token("sync job", expires_days=30)
    assert works(report) and works(sync)
    listed = {t["name"]: t for t in admin.get("/api/users/vera/tokens").json()["tokens"]}
    assert listed["weekly report"]["last_used_at"] and listed["weekly report"]["expires_at"] is None
    assert listed["sync job"]["expires_at"] and "token" not in listed["sync job"]
    assert api("vera").get("/api/users/sam/tokens").status_code == 403  # not someone else's
    revoked = admin.delete(f"/api/tokens/{listed['weekly report']['id']}")
    assert revoked.status_code == 200 and revoked.json()["username"] == "vera"
    assert not works(report) and works(sync)  # one at a time
    with sqlite_hub.store.engine.begin() as conn:  # the sync job's token runs out
        conn.execute(
            api_tokens.update()
            .where(api_tokens.c.id == listed["sync job"]["id"])
            .values(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        )
    assert not works(sync)
    with sqlite_hub.store.engine.connect() as conn:
        actions = (
            conn.execute(sa.select(audit_log.c.action).where(audit_log.c.target_id == "vera"))
            .scalars()
            .all()
        )
    assert actions.count("token.create") >= 2 and actions.count("token.revoke") == 1


def test_deactivating_a_user_revokes_their_tokens_for_good(
    api: Callable[[str | None], TestClient],
) -> None:
    admin = api("alice")
    token = admin.post("/api/users/vera/tokens", json={"name": "x"}).json()["token"]
    assert admin.patch("/api/users/vera", json={"active": False}).status_code == 200
    assert admin.patch("/api/users/vera", json={"active": True}).status_code == 200
    client = api(None)
    assert (
        client.get("/api/review", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    tokens = admin.get("/api/users/vera/tokens").json()["tokens"]
    assert tokens and all(t["revoked_at"] for t in tokens)


def test_search_pages_carry_the_total(api: Callable[[str | None], TestClient]) -> None:
    client = api("vera")
    whole = client.get("/api/customers", params={"q": "cohen", "limit": 50}).json()
    assert whole["total"] == len(whole["hits"]) >= 2 and whole["total_capped"] is False
    second = client.get("/api/customers", params={"q": "cohen", "limit": 1, "offset": 1}).json()
    assert [h["golden_id"] for h in second["hits"]] == [whole["hits"][1]["golden_id"]]
    assert (second["total"], second["offset"], second["limit"]) == (whole["total"], 1, 1)
    bad = client.get("/api/customers", params={"q": "cohen", "limit": 0})
    assert bad.status_code == 422 and "limit" in bad.json()["detail"]


def test_the_search_index_is_built_at_start_not_by_the_first_request(
    sqlite_hub: ResolvedHub,
) -> None:
    from hub.steward import index_info

    engine = sqlite_hub.store.engine
    with sqlite_hub.store.transaction() as conn:
        token = create_token(conn, "vera", "load", actor="test")
    app = create_app(sqlite_hub.config, sqlite_hub.store)
    before = index_info(engine).builds
    with TestClient(app) as client:  # runs the lifespan
        started = index_info(engine).builds
        client.headers["Authorization"] = f"Bearer {token}"
        for q in ("anna", "erp/1001", "+36 30 123 4567"):
            assert client.get("/api/customers", params={"q": q}).json()["hits"]
    assert started == before + 1
    assert index_info(engine).builds == started  # the requests reused it


def test_token_requests_take_no_write_lock_and_run_no_argon2(
    api: Callable[[str | None], TestClient],
    sqlite_hub: ResolvedHub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why 20 clients were served one at a time: every bearer request opened a
    `BEGIN IMMEDIATE` transaction to write `last_used_at`. Now a token is checked with a
    read (SHA-256 lookup) and its use is written at most once a minute."""
    import argon2

    client = api("vera")
    assert client.get("/api/review").status_code == 200  # first use: recorded
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(str(args[2]))

    def no_argon2(*_args: Any, **_kw: Any) -> bool:
        raise AssertionError("Argon2 verify on an API request")

    monkeypatch.setattr(argon2.PasswordHasher, "verify", no_argon2)
    sa.event.listen(sqlite_hub.store.engine, "before_cursor_execute", seen)
    try:
        for _ in range(5):
            assert client.get("/api/customers", params={"q": "anna"}).status_code == 200
    finally:
        sa.event.remove(sqlite_hub.store.engine, "before_cursor_execute", seen)
    writes = [s for s in statements if s.split()[0].upper() in {"BEGIN", "UPDATE", "INSERT"}]
    assert writes == [], writes
    with sqlite_hub.store.engine.connect() as conn:
        used = conn.execute(sa.select(api_tokens.c.last_used_at)).scalars().all()
    assert any(used)


def test_search_and_review_scores_share_one_scale(
    api: Callable[[str | None], TestClient],
) -> None:
    """Search similarity and match probability are both 0..1 in the API (pages show both
    as percent): a client never has to know that one of them was 0..100."""
    hits = api("vera").get("/api/customers", params={"q": "Anna Kovács"}).json()["hits"]
    items = api("vera").get("/api/review").json()["items"]
    assert hits and items
    assert all(0 < h["score"] <= 1 for h in hits), [h["score"] for h in hits]
    assert all(0 <= i["score"] <= 1 for i in items)
    exact = api("vera").get("/api/customers", params={"q": "erp/1001"}).json()
    assert exact["hits"] and exact["hits"][0]["score"] == 1.0
