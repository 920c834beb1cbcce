"""Logged contacts and the worklist through the web app on a real store: the permission
matrix (anonymous 401, viewer 403, nothing written), one audit entry per mutation, CSRF on
the forms, bad input as a 422 or 404 naming what is wrong, and the pages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hub.steward.worklist import hub_today
from hub.store.tables import audit_log, interactions, worklist_items
from hub.web import create_app
from tests.hub.conftest import PASSWORD, ResolvedHub
from tests.hub.web.helpers import Api, anna, count

TOMORROW = (hub_today() + dt.timedelta(days=1)).isoformat()
LATER = (hub_today() + dt.timedelta(days=4)).isoformat()


def audit_count(hub: ResolvedHub) -> int:
    return count(hub, audit_log)


def open_item(api: Api, hub: ResolvedHub) -> int:
    body = {"topic": "Wants a quote", "call_back_on": TOMORROW}
    response = api("sam").post(f"/api/customers/{anna(hub)}/contacts", json=body)
    assert response.status_code == 201, response.text
    item = response.json()["worklist_item"]
    assert isinstance(item, int)
    return item


# (method, path template, body, least role, status for that role)
OPERATIONS: list[tuple[str, str, dict[str, Any] | None, str, int]] = [
    ("GET", "/api/worklist", None, "viewer", 200),
    ("GET", "/api/worklist?owner=all&due=tomorrow&page=1", None, "viewer", 200),
    ("POST", "/api/customers/{anna}/contacts", {"topic": "Hello"}, "steward", 201),
    ("POST", "/api/worklist/{item}/assign", {"owner": "alice"}, "steward", 200),
    ("POST", "/api/worklist/{item}/snooze", {"until": LATER}, "steward", 200),
    ("POST", "/api/worklist/{item}/done", {"outcome": "reached"}, "steward", 200),
]
RANK = {"viewer": 0, "steward": 1, "admin": 2}
USERS = {"vera": "viewer", "sam": "steward", "alice": "admin"}


@pytest.mark.parametrize(("method", "path", "body", "least", "ok"), OPERATIONS)
def test_permission_matrix_and_one_audit_entry_per_mutation(
    api: Api,
    sqlite_hub: ResolvedHub,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    least: str,
    ok: int,
) -> None:
    url = path.format(anna=anna(sqlite_hub), item=open_item(api, sqlite_hub))
    before = audit_count(sqlite_hub), count(sqlite_hub, interactions)
    anonymous = api(None).request(method, url, json=body)
    assert anonymous.status_code == 401 and "sign in first" in anonymous.json()["detail"]
    for name, role in USERS.items():
        if RANK[role] < RANK[least]:
            response = api(name).request(method, url, json=body)
            assert response.status_code == 403, (name, response.text)
            assert f"needs the {least} role" in response.json()["detail"]
    assert (audit_count(sqlite_hub), count(sqlite_hub, interactions)) == before  # nothing
    allowed = [n for n, r in USERS.items() if RANK[r] >= RANK[least]]
    response = api(allowed[0]).request(method, url, json=body)
    assert response.status_code == ok, response.text
    assert audit_count(sqlite_hub) == before[0] + (0 if method == "GET" else 1)


def test_log_a_call_back_find_it_tomorrow_and_mark_it_done(
    api: Api, sqlite_hub: ResolvedHub
) -> None:
    gid = anna(sqlite_hub)
    body = {"kind": "call", "topic": "Boiler noise", "outcome": "booked a visit",
            "call_back_on": TOMORROW, "call_back_owner": "alice"}  # fmt: skip
    logged = api("sam").post(f"/api/customers/{gid}/contacts", json=body).json()
    assert re.fullmatch(r"hub/[0-9a-f-]{36}", logged["interaction_id"])

    alices = api("alice").get("/api/worklist", params={"due": "tomorrow"}).json()
    assert [i["id"] for i in alices["items"]] == [logged["worklist_item"]]
    assert (alices["today"], alices["timezone"]) == (hub_today().isoformat(), "UTC")
    [item] = alices["items"]
    assert (item["golden_id"], item["due_on"], item["overdue"], item["owner"]) == (
        gid,
        TOMORROW,
        False,
        "alice",
    )
    assert api("sam").get("/api/worklist").json()["total"] == 0  # default: the caller's own
    assert api("sam").get("/api/worklist?owner=alice").json()["total"] == 1

    url = f"/api/worklist/{item['id']}/done"
    stale = api("alice").post(url, json={"outcome": "reached", "version": 7})
    assert stale.status_code == 409 and "changed since you loaded it" in stale.json()["detail"]
    done = api("alice").post(url, json={"outcome": "reached", "version": item["version"]})
    assert done.status_code == 200, done.text
    again = api("sam").post(url, json={"outcome": "reached"})
    assert again.status_code == 409 and "already done by alice" in again.json()["detail"]

    timeline = api("vera").get(f"/api/customers/{gid}").json()["timeline"]
    assert (timeline[0]["source"], timeline[0]["subject"], timeline[0]["status"]) == (
        "hub",
        "Call-back: Boiler noise",
        "reached",
    )
    assert {"Boiler noise", "Call-back: Boiler noise"} <= {t["subject"] for t in timeline}
    finished = api("alice").get("/api/worklist?status=done").json()["items"]
    assert [(i["outcome"], i["done_contact_id"]) for i in finished] == [
        ("reached", done.json()["interaction_id"])
    ]


# (path, body, status, words the detail must contain)
BAD: list[tuple[str, dict[str, Any], int, tuple[str, ...]]] = [
    ("/api/customers/G0000000000000000/contacts", {"topic": "x"}, 404,
     ("no customer G0000000000000000",)),
    ("/api/customers/{anna}/contacts", {"topic": ""}, 422, ("topic", "at least 1 character")),
    ("/api/customers/{anna}/contacts", {}, 422, ("topic", "Field required")),
    ("/api/customers/{anna}/contacts", {"topic": "x", "call_back_on": "2020-01-01"}, 422,
     ("call_back_on", "in the past")),
    ("/api/customers/{anna}/contacts", {"topic": "x", "call_back_on": "soonish"}, 422,
     ("call_back_on", "valid date")),
    ("/api/customers/{anna}/contacts",
     {"topic": "x", "call_back_on": TOMORROW, "call_back_owner": "vera"}, 422,
     ("call_back_owner", "vera is viewer")),
    ("/api/worklist/{item}/assign", {"owner": "nobody"}, 422, ("owner: no active user",)),
    ("/api/worklist/{item}/snooze", {"until": "2020-01-01"}, 422, ("until:", "not after today")),
    ("/api/worklist/{item}/snooze", {"until": "someday"}, 422, ("until", "valid date")),
    ("/api/worklist/{item}/done", {"outcome": ""}, 422, ("outcome", "at least 1 character")),
    ("/api/worklist/999/done", {"outcome": "x"}, 404, ("no worklist item 999",)),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "status", "words"), BAD)
def test_bad_input_is_refused_naming_what(
    api: Api,
    sqlite_hub: ResolvedHub,
    path: str,
    body: dict[str, Any],
    status: int,
    words: tuple[str, ...],
) -> None:
    url = path.format(anna=anna(sqlite_hub), item=open_item(api, sqlite_hub))
    before = audit_count(sqlite_hub)
    response = api("sam").post(url, json=body)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert all(word in detail for word in words), detail
    assert audit_count(sqlite_hub) == before


def test_an_unknown_due_filter_is_a_422_naming_it(api: Api) -> None:
    response = api("vera").get("/api/worklist?due=soon")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("due: 'soon' is not a filter")


def _signed_in(hub: ResolvedHub, username: str) -> tuple[TestClient, str]:
    """A browser-like client signed in through the form, and the session's CSRF token."""
    client = TestClient(create_app(hub.config, hub.store))
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    form = {"username": username, "password": PASSWORD, "csrf_token": token[1]}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    worklist = client.get("/worklist")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', worklist.text)
    assert csrf
    return client, csrf[1]


def test_the_forms_need_the_csrf_token(sqlite_hub: ResolvedHub) -> None:
    client, csrf = _signed_in(sqlite_hub, "sam")
    gid = anna(sqlite_hub)
    form = {"topic": "Asked for a brochure", "call_back_on": TOMORROW, "call_back_owner": ""}
    refused = client.post(f"/customers/{gid}/contacts", data=form, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    api_refused = client.post(f"/api/customers/{gid}/contacts", json={"topic": "x"})
    assert api_refused.status_code == 403 and "CSRF" in api_refused.json()["detail"]
    assert count(sqlite_hub, interactions, interactions.c.source == "hub") == 0

    logged = client.post(
        f"/customers/{gid}/contacts", data={**form, "csrf_token": csrf}, follow_redirects=False
    )
    assert logged.status_code == 303 and logged.headers["location"].startswith(f"/customers/{gid}")
    page = client.get(logged.headers["location"])
    assert "logged a call with" in page.text and "Asked for a brochure" in page.text
    assert 'id="log-contact"' in page.text
    assert "Call-backs due" in page.text and "Call back: Asked for a brochure" in page.text
    with sqlite_hub.store.engine.connect() as conn:
        item = conn.execute(sa.select(worklist_items)).one()
    assert (item.owner, item.due_on.isoformat()) == ("sam", TOMORROW)  # blank owner: you

    bad = client.post(
        f"/customers/{gid}/contacts",
        data={"topic": "x", "call_back_on": "2020-01-01", "csrf_token": csrf},
    )
    assert bad.status_code == 422 and "call_back_on: 2020-01-01 is in the past" in bad.text

    back = "/worklist?owner=sam&due=tomorrow"
    for action, data, flash in [
        ("snooze", {"until": LATER}, "snoozed worklist item"),
        ("assign", {"owner": "alice"}, "to alice"),
        ("done", {"outcome": "sent it", "kind": "note"}, "done: sent it"),
    ]:
        url = f"/worklist/{item.id}/{action}"
        with sqlite_hub.store.engine.connect() as conn:
            version = conn.execute(sa.select(worklist_items.c.version)).scalar_one()
        fields = {**data, "version": str(version), "back": back}
        assert client.post(url, data=fields, follow_redirects=False).status_code == 403
        done = client.post(url, data={**fields, "csrf_token": csrf}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"].startswith(back)
        assert flash in client.get(done.headers["location"]).text
    assert count(sqlite_hub, audit_log, audit_log.c.action.startswith("worklist.")) == 3


def test_the_worklist_page_shows_due_overdue_and_the_zone(
    api: Api, sqlite_hub: ResolvedHub
) -> None:
    item = open_item(api, sqlite_hub)
    with sqlite_hub.store.write_transaction() as conn:
        conn.execute(  # as if due two days ago: the list must flag it
            worklist_items.update().values(due_on=hub_today() - dt.timedelta(days=2))
        )
    client, _ = _signed_in(sqlite_hub, "sam")
    page = client.get("/worklist").text
    assert f'id="item-{item}" class="item overdue"' in page and "overdue</span>" in page
    assert "Days are in UTC" in page and "Anna Kovács" in page
    assert f'action="/worklist/{item}/done"' in page
    viewer, _ = _signed_in(sqlite_hub, "vera")
    seen = viewer.get("/worklist?owner=sam&due=overdue").text
    assert f'id="item-{item}"' in seen and f'action="/worklist/{item}/done"' not in seen
    customer = viewer.get(f"/customers/{anna(sqlite_hub)}").text
    assert 'id="log-contact"' not in customer  # viewers cannot log contacts
