"""The field-service brief and its visit report through the web app on a real store: what
the brief holds (contact, equipment and contracts, open tickets, last contacts with their
notes, risk and value), the permission matrix of the report (anonymous 401, viewer 403,
nothing written), one audit entry per report, CSRF on the form, a bad field named, an item's
visit settling the item with one interaction, and the worklist's kind filter."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from hub.analyse.worklists import generate_worklists
from hub.steward.worklist import hub_today
from hub.store.hub_source import anchor_member, write_hub_interaction
from hub.store.tables import audit_log, interactions, worklist_items
from hub.web import create_app
from schemas.worklists import Worklists
from tests.hub.conftest import PASSWORD, ResolvedHub
from tests.hub.helpers import DEMO_AS_OF
from tests.hub.web.helpers import Api, anna, count

TOMORROW = (hub_today() + dt.timedelta(days=1)).isoformat()


def holdings(hub: ResolvedHub, golden_id: str) -> None:
    """A boiler, its service contract (renewal 20 March) and an open ticket, as a source
    would record them (here filed by the hub under Anna's member record)."""
    with hub.store.transaction() as conn:
        member = anchor_member(conn, golden_id)
        assert member is not None
        when = dt.datetime(2026, 1, 10, 9, tzinfo=dt.UTC)
        for kind, subject, status, extra in [
            ("equipment", "Boiler X200", None, {}),
            (
                "contract",
                "Service plan Gold",
                "active",
                {"renewal_at": "2026-03-20T00:00:00+00:00"},
            ),
            ("ticket", "Boiler makes a noise", "open", {}),
            ("ticket", "Invoice question", "closed", {}),
        ]:
            write_hub_interaction(
                conn,
                member=member,
                kind=kind,
                occurred_at=when,
                subject=subject,
                status=status,
                channel=None,
                extra=extra,
            )


def test_the_brief_holds_what_the_technician_needs(api: Api, sqlite_hub: ResolvedHub) -> None:
    gid = anna(sqlite_hub)
    holdings(sqlite_hub, gid)
    note = "Prefers mornings.\nDog in the garden."
    body = {"kind": "call", "topic": "Booked the service", "outcome": "booked", "note": note}
    assert api("sam").post(f"/api/customers/{gid}/contacts", json=body).status_code == 201

    brief = api("vera").get(f"/api/customers/{gid}/brief").json()  # a viewer may read it
    assert brief["name"] == "Anna Kovács" and brief["golden_id"] == gid
    assert brief["phone"] and brief["email"] and brief["address"]
    assert {(h["type"], h["subject"]) for h in brief["holdings"]} == {
        ("equipment", "Boiler X200"),
        ("contract", "Service plan Gold"),
    }
    contract = next(h for h in brief["holdings"] if h["type"] == "contract")
    assert contract["renewal_at"].startswith("2026-03-20")
    assert [t["subject"] for t in brief["open_tickets"]] == ["Boiler makes a noise"]
    [call] = [c for c in brief["contacts"] if c["subject"] == "Booked the service"]
    assert call["note"] == note and call["logged_by"] == "sam"  # the logged note is shown
    assert (
        brief["risk_value"].startswith("Churn risk ")
        and "value (clv 12 months)" in brief["risk_value"]
    )
    assert brief["as_of"] == DEMO_AS_OF.isoformat()

    client, _ = signed_in(sqlite_hub, "vera")
    page = client.get(f"/customers/{gid}/brief").text
    for section in (
        "brief-risk",
        "brief-contact",
        "brief-holdings",
        "brief-tickets",
        "brief-contacts",
    ):
        assert f'id="{section}"' in page
    assert "Dog in the garden." in page and 'href="/static/brief.css"' in page
    assert 'id="visit-form"' not in page  # viewers cannot report a visit
    assert 'id="brief-link"' in client.get(f"/customers/{gid}").text


def test_reporting_a_visit_permission_matrix_and_one_audit_entry(
    api: Api, sqlite_hub: ResolvedHub
) -> None:
    gid = anna(sqlite_hub)
    url = f"/api/customers/{gid}/visits"
    body = {"found": "Nozzle clogged", "done": "Replaced the nozzle", "outcome": "fixed"}
    before = count(sqlite_hub, audit_log)
    assert api(None).post(url, json=body).status_code == 401
    viewer = api("vera").post(url, json=body)
    assert viewer.status_code == 403 and "needs the steward role" in viewer.json()["detail"]
    assert count(sqlite_hub, interactions, interactions.c.source == "hub") == 0

    done = api("sam").post(url, json={**body, "follow_up_on": TOMORROW})
    assert done.status_code == 201, done.text
    answer = done.json()
    assert answer["summary"].startswith(f"logged a visit with {gid}: Nozzle clogged")
    assert answer["worklist_item"] is not None  # the follow-up call
    i = interactions.c
    with sqlite_hub.store.engine.connect() as conn:
        row = conn.execute(
            sa.select(i.type, i.subject, i.status, i.channel, i.extra).where(i.source == "hub")
        ).one()
    assert (row.type, row.subject, row.status, row.channel) == (
        "visit",
        "Nozzle clogged",
        "fixed",
        "in person",
    )
    assert row.extra["note"] == "Replaced the nozzle"
    assert count(sqlite_hub, audit_log) == before + 1

    for bad, named in [
        ({"found": ""}, "found"),
        ({"found": "x", "follow_up_on": "2020-01-01"}, "follow_up_on: 2020-01-01 is in the past"),
        ({"found": "x", "extra": 1}, "extra"),
    ]:
        refused = api("sam").post(url, json=bad)
        assert refused.status_code == 422 and named in refused.text, refused.text
    assert api("sam").post("/api/customers/G0000000000000000/visits", json=body).status_code == 404
    assert count(sqlite_hub, audit_log) == before + 1


def test_an_items_visit_settles_the_item_with_one_interaction(
    api: Api, sqlite_hub: ResolvedHub
) -> None:
    gid = anna(sqlite_hub)
    body = {"topic": "Boiler check", "call_back_on": TOMORROW}
    item = api("sam").post(f"/api/customers/{gid}/contacts", json=body).json()["worklist_item"]
    brief = api("sam").get(f"/api/worklist/{item}/brief").json()
    assert brief["item"]["id"] == item and brief["golden_id"] == gid
    hub_rows = count(sqlite_hub, interactions, interactions.c.source == "hub")

    stale = api("sam").post(
        f"/api/worklist/{item}/visit", json={"found": "ok", "settles_item": True, "version": 99}
    )
    assert stale.status_code == 409 and "changed since you loaded it" in stale.text
    visit = {"found": "All fine", "outcome": "checked", "settles_item": True, "version": 1}
    answer = api("sam").post(f"/api/worklist/{item}/visit", json=visit).json()
    with sqlite_hub.store.engine.connect() as conn:
        row = conn.execute(sa.select(worklist_items).where(worklist_items.c.id == item)).one()
    assert (row.status, row.outcome, row.done_contact_id) == (
        "done",
        "checked",
        answer["interaction_id"],
    )
    assert count(sqlite_hub, interactions, interactions.c.source == "hub") == hub_rows + 1
    assert "done: checked" in answer["summary"]
    again = api("sam").post(f"/api/worklist/{item}/visit", json={**visit, "version": None})
    assert again.status_code == 409 and "already done" in again.text
    misplaced = api("sam").post(
        f"/api/customers/{gid}/visits", json={"found": "x", "settles_item": True}
    )
    assert misplaced.status_code == 409 and "/api/worklist/{item}/visit" in misplaced.text


def signed_in(hub: ResolvedHub, username: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(hub.config, hub.store))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    form = {"username": username, "password": PASSWORD, "csrf_token": token[1]}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/worklist").text)
    assert csrf
    return client, csrf[1]


def test_the_visit_form_needs_the_csrf_token_and_names_a_bad_field(sqlite_hub: ResolvedHub) -> None:
    client, csrf = signed_in(sqlite_hub, "sam")
    gid = anna(sqlite_hub)
    form = {"found": "Valve leaking", "done": "Tightened it", "outcome": "fixed"}
    refused = client.post(f"/customers/{gid}/visits", data=form, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert count(sqlite_hub, interactions, interactions.c.source == "hub") == 0
    bad = client.post(f"/customers/{gid}/visits", data={"found": "", "csrf_token": csrf})
    assert bad.status_code == 422 and "found:" in bad.text
    done = client.post(
        f"/customers/{gid}/visits", data={**form, "csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"].startswith(
        f"/customers/{gid}/brief"
    )
    page = client.get(done.headers["location"]).text
    assert "logged a visit with" in page and "Tightened it" in page


def test_rule_items_carry_their_kind_filter_and_brief_link(
    api: Api, sqlite_hub: ResolvedHub
) -> None:
    rules = Worklists.model_validate(
        {"rules": [{"name": "bd", "kind": "birthday", "days": 60, "owner": "sam"}]}
    )
    with sqlite_hub.store.transaction() as conn:
        generate_worklists(conn, rules, DEMO_AS_OF)
    body = {"topic": "Brochure", "call_back_on": TOMORROW}
    assert (
        api("sam").post(f"/api/customers/{anna(sqlite_hub)}/contacts", json=body).status_code == 201
    )
    everything = api("sam").get("/api/worklist").json()
    birthdays = api("sam").get("/api/worklist", params={"kind": "birthday"}).json()
    assert {i["kind"] for i in everything["items"]} == {"birthday", "call_back"}
    assert {i["kind"] for i in birthdays["items"]} == {"birthday"} and birthdays["total"] >= 2
    assert all(i["no_longer_applies"] is False and i["rule"] == "bd" for i in birthdays["items"])
    bad = api("sam").get("/api/worklist", params={"kind": "party"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith(
        "kind: 'party' is not one of call_back"
    )

    client, _ = signed_in(sqlite_hub, "sam")
    page = client.get("/worklist?kind=birthday&owner=all").text
    first = birthdays["items"][0]["id"]
    assert f'href="/worklist/{first}/brief"' in page and ">birthday</span>" in page
    brief = client.get(f"/worklist/{first}/brief").text
    assert 'id="brief-item"' in brief and "Birthday on" in brief and 'name="settles_item"' in brief
