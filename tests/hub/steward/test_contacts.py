"""Logged contacts on a real store (SQLite and PostgreSQL): a call, visit, note or complaint
is an interaction of source `hub` on the customer's timeline, filed under a member record so
it follows merges and re-resolves, feeds the analytics traits unchanged, opens a call-back
item when asked, is audited once — and bad input is refused naming the field."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import sqlalchemy as sa

from hub.analyse.queries import profile
from hub.analyse.run import analyse_store
from hub.core.clock import now
from hub.resolve.run import resolve_store
from hub.steward import (
    Conflict,
    InvalidInput,
    NotFound,
    customer_view,
    merge_golden,
    unmerge_golden,
)
from hub.steward.contacts import ContactIn, contact_from_form, log_contact
from hub.steward.worklist import hub_today, list_worklist
from hub.store.hub_source import HUB_SOURCE, member_key
from hub.store.tables import audit_log, golden_records, interactions, worklist_items
from tests.hub.conftest import ResolvedHub

TOMORROW = hub_today() + dt.timedelta(days=1)


def log(hub: ResolvedHub, golden_id: str, actor: str = "sam", **fields: Any) -> Any:
    with hub.store.write_transaction() as conn:
        return log_contact(conn, actor, golden_id, ContactIn(**fields))


def members(hub: ResolvedHub, golden_id: str) -> set[str]:
    return {member_key(*k) for k, g in hub.crosswalk().items() if g == golden_id}


def hub_rows(hub: ResolvedHub) -> list[Any]:
    i = interactions.c
    with hub.store.engine.connect() as conn:
        return list(conn.execute(sa.select(interactions).where(i.source == HUB_SOURCE)))


def timeline_subjects(hub: ResolvedHub, golden_id: str) -> list[str]:
    with hub.store.engine.connect() as conn:
        view = customer_view(conn, golden_id)
    return [t["subject"] for t in view["timeline"] if t["source"] == HUB_SOURCE]


def test_a_logged_call_is_a_hub_interaction_on_the_timeline(hub: ResolvedHub) -> None:
    anna = hub.crosswalk()[("erp", "1001")]
    logged = log(hub, anna, topic="Asked about the invoice", outcome="explained, happy")

    assert re.fullmatch(r"hub/[0-9a-f-]{36}", logged.interaction_id)
    assert logged.worklist_item is None
    [row] = hub_rows(hub)
    assert f"hub/{row.source_id}" == logged.interaction_id
    assert row.customer_source_id in members(hub, anna)  # filed under one of Anna's records
    assert (row.type, row.subject, row.status, row.channel) == (
        "call",
        "Asked about the invoice",
        "explained, happy",
        "phone",
    )
    assert row.extra["logged_by"] == "sam" and row.extra["golden_id"] == anna
    assert not row.deleted

    with hub.store.engine.connect() as conn:
        view = customer_view(conn, anna)
        audits = conn.execute(
            sa.select(audit_log).where(audit_log.c.action == "contact.logged")
        ).all()
    newest = view["timeline"][0]  # the newest interaction: logged just now
    assert (newest["source"], newest["type"], newest["subject"]) == (
        "hub",
        "call",
        "Asked about the invoice",
    )
    assert len(audits) == 1 and audits[0].target_id == anna and audits[0].actor == "sam"
    assert audits[0].detail["interaction_id"] == logged.interaction_id
    assert any(h["action"] == "contact.logged" for h in view["history"])  # customer history


def test_a_call_back_day_opens_a_worklist_item_for_its_owner(hub: ResolvedHub) -> None:
    anna = hub.crosswalk()[("erp", "1001")]
    logged = log(hub, anna, topic="Wants a quote", call_back_on=TOMORROW)
    other = log(hub, anna, actor="sam", kind="visit", topic="Boiler", call_back_on=TOMORROW,
                call_back_owner="alice")  # fmt: skip

    with hub.store.engine.connect() as conn:
        mine = list_worklist(conn, owner="sam", due="tomorrow")
        alices = list_worklist(conn, owner="alice", due="tomorrow")
        today = list_worklist(conn, owner="sam", due="today")
    assert [i.id for i in mine.items] == [logged.worklist_item]
    [item] = mine.items
    assert (item.golden_id, item.topic, item.reason, item.owner) == (
        anna,
        "Wants a quote",
        "Call back: Wants a quote",
        "sam",
    )
    assert (item.due_on, item.status, item.overdue, item.contact_id) == (
        TOMORROW,
        "open",
        False,
        logged.interaction_id,
    )
    assert item.customer == "Anna Kovács"
    assert [i.id for i in alices.items] == [other.worklist_item]
    assert alices.items[0].channel == "in person"
    assert today.total == 0
    with hub.store.engine.connect() as conn:
        logged_audits = conn.execute(
            sa.select(sa.func.count()).where(audit_log.c.action == "contact.logged")
        ).scalar()
    assert logged_audits == 2  # one entry per logged contact, item included


def test_logged_contacts_feed_last_contact_and_complaints(hub: ResolvedHub) -> None:
    anna = hub.crosswalk()[("erp", "1001")]
    as_of = hub_today() + dt.timedelta(days=1)
    before = analyse_store(hub.config, hub.store, as_of=as_of, actor="test")
    with hub.store.engine.connect() as conn:
        old = profile(conn, anna)
    assert old is not None

    log(hub, anna, kind="complaint", topic="Late delivery", outcome="open")
    log(hub, anna, topic="Follow-up on the delivery")
    after = analyse_store(hub.config, hub.store, as_of=as_of, actor="test")
    with hub.store.engine.connect() as conn:
        new = profile(conn, anna)
    assert new is not None

    assert after.unmapped == before.unmapped  # both reached Anna through her member record
    assert after.interactions == before.interactions + 2
    assert str(new["traits"]["last_contact"]).startswith(hub_today().isoformat())
    assert new["traits"]["last_contact_topic"] == "Follow-up on the delivery"
    assert new["traits"]["complaints_90d"] == (old["traits"].get("complaints_90d") or 0) + 1
    assert new["traits"]["open_tickets"] == (old["traits"].get("open_tickets") or 0) + 1


def test_the_contact_follows_its_member_through_a_merge_and_a_resolve(hub: ResolvedHub) -> None:
    xw = hub.crosswalk()
    anna, other = xw[("erp", "1001")], xw[("erp", "1002")]
    log(hub, anna, topic="Moving house", call_back_on=TOMORROW)
    g = golden_records.c
    with hub.store.engine.connect() as conn:
        versions = {
            r.golden_id: r.version
            for r in conn.execute(
                sa.select(g.golden_id, g.version).where(g.golden_id.in_([anna, other]))
            )
        }
    with hub.store.write_transaction() as conn:
        merge_golden(conn, hub.settings, "sam", [other, anna], versions)
    with hub.store.engine.connect() as conn:
        survivor = conn.execute(
            sa.select(g.golden_id).where(g.golden_id.in_([anna, other]), g.status == "active")
        ).scalar_one()
    assert timeline_subjects(hub, survivor) == ["Moving house"]
    with hub.store.engine.connect() as conn:
        [item] = list_worklist(conn, owner="sam").items
    assert item.golden_id == survivor  # shown under the record the member is in now

    resolve_store(hub.config, hub.store, actor="test")
    assert timeline_subjects(hub, survivor) == ["Moving house"]


def test_complaints_and_notes_keep_their_kind_and_a_past_moment(hub: ResolvedHub) -> None:
    anna = hub.crosswalk()[("erp", "1001")]
    when = now() - dt.timedelta(days=2)
    log(hub, anna, kind="note", topic="Prefers e-mail", occurred_at=when, channel="e-mail")
    [row] = hub_rows(hub)
    assert (row.type, row.channel) == ("note", "e-mail")
    assert abs((row.occurred_at.replace(tzinfo=dt.UTC) - when).total_seconds()) < 1


# (form fields, the field the error must name, a phrase it must contain)
BAD_FORMS: list[tuple[dict[str, str], str, str]] = [
    ({"topic": ""}, "topic", "at least 1 character"),
    ({"topic": "   "}, "topic", "at least 1 character"),
    ({}, "topic", "Field required"),
    ({"topic": "x", "call_back_on": "2020-01-01"}, "call_back_on", "in the past"),
    ({"topic": "x", "call_back_on": "next tuesday"}, "call_back_on", "valid date"),
    ({"topic": "x", "call_back_on": "2026-02-30"}, "call_back_on", "date"),
    ({"topic": "x", "kind": "order"}, "kind", "'call'"),
    ({"topic": "x", "channel": "pigeon"}, "channel", "'phone'"),
    ({"topic": "x", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at", "in the future"),
    ({"topic": "x", "outcome": "y" * 101}, "outcome", "at most 100"),
    ({"topic": "x", "golden_id": "G1"}, "golden_id", "Extra inputs"),
]


@pytest.mark.parametrize(("fields", "field", "phrase"), BAD_FORMS)
def test_bad_input_names_the_field(fields: dict[str, str], field: str, phrase: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        contact_from_form(fields)
    message = str(caught.value)
    assert message.startswith(f"{field}: ") and phrase in message, message
    assert caught.value.status == 422


def test_today_is_a_valid_call_back_day() -> None:
    assert contact_from_form({"topic": "x", "call_back_on": str(hub_today())}).call_back_on


@pytest.mark.parametrize(
    ("owner", "phrase"),
    [("nobody", "no active user 'nobody'"), ("vera", "vera is viewer")],
)
def test_a_call_back_owner_must_be_able_to_work_the_worklist(
    hub: ResolvedHub, owner: str, phrase: str
) -> None:
    anna = hub.crosswalk()[("erp", "1001")]
    with pytest.raises(InvalidInput, match=f"call_back_owner: {phrase}"):
        log(hub, anna, topic="x", call_back_on=TOMORROW, call_back_owner=owner)
    with pytest.raises(InvalidInput, match="call_back_owner: give a call_back_on day"):
        log(hub, anna, topic="x", call_back_owner="sam")
    assert hub_rows(hub) == []  # refused: nothing written


def test_unknown_and_merged_customers_are_refused_by_name(hub: ResolvedHub) -> None:
    with pytest.raises(NotFound, match="no customer G0000000000000000"):
        log(hub, "G0000000000000000", topic="x")
    xw = hub.crosswalk()
    anna, other = xw[("erp", "1001")], xw[("erp", "1002")]
    g = golden_records.c
    with hub.store.engine.connect() as conn:
        versions = {
            r.golden_id: r.version
            for r in conn.execute(
                sa.select(g.golden_id, g.version).where(g.golden_id.in_([anna, other]))
            )
        }
    with hub.store.write_transaction() as conn:
        merge_golden(conn, hub.settings, "sam", [other, anna], versions)
    with hub.store.engine.connect() as conn:
        survivor = conn.execute(
            sa.select(g.golden_id).where(g.golden_id.in_([anna, other]), g.status == "active")
        ).scalar_one()
    absorbed = other if survivor == anna else anna
    with pytest.raises(Conflict, match=f"was merged into {survivor}; log it there"):
        log(hub, absorbed, topic="x")
    with hub.store.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(worklist_items)).scalar()
    assert count == 0 and hub_rows(hub) == []


def test_an_unmerge_leaves_the_contact_with_its_member_record(hub: ResolvedHub) -> None:
    """Filed under a member record, a contact stays with whichever golden record holds that
    record: moving another record out leaves it; moving that record out takes it along
    (as that record's orders and tickets go)."""
    anna = hub.crosswalk()[("erp", "1001")]
    log(hub, anna, topic="Address change")
    [row] = hub_rows(hub)
    filed = tuple(row.customer_source_id.split("/", 1))
    others = sorted(k for k, g in hub.crosswalk().items() if g == anna and k != filed)
    assert len(others) == 2  # Anna has three source records in the demo

    def unmerge(key: tuple[str, str]) -> str:
        with hub.store.engine.connect() as conn:
            version = conn.execute(
                sa.select(golden_records.c.version).where(golden_records.c.golden_id == anna)
            ).scalar_one()
        with hub.store.write_transaction() as conn:
            unmerge_golden(conn, hub.settings, "sam", anna, [key], version)
        return hub.crosswalk()[key]

    moved_away = unmerge(others[0])
    assert timeline_subjects(hub, anna) == ["Address change"]
    assert timeline_subjects(hub, moved_away) == []
    taken = unmerge(filed)  # others[1] stays with Anna
    assert timeline_subjects(hub, taken) == ["Address change"]
    assert timeline_subjects(hub, anna) == []
