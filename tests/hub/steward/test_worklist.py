"""The worklist on a real store (SQLite and PostgreSQL): paged per owner, due filters in the
hub's zone (UTC), overdue flagged, assign / snooze / done with optimistic locking, each an
appended event and one audit entry, and a done item's outcome on the customer's timeline."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.steward import Conflict, InvalidInput, NotFound, customer_view
from hub.steward.contacts import ContactIn, log_contact
from hub.steward.worklist import (
    assign_item,
    complete_item,
    due_range,
    hub_today,
    list_worklist,
    open_items_of,
    snooze_item,
)
from hub.store.tables import audit_log, interactions, worklist_events, worklist_items
from tests.hub.conftest import ResolvedHub
from tests.hub.helpers import query_plans

TODAY = hub_today()
DAY = dt.timedelta(days=1)


def call_back(hub: ResolvedHub, source_id: str, due: dt.date, owner: str = "sam") -> int:
    golden_id = hub.crosswalk()[("erp", source_id)]
    contact = ContactIn(topic=f"about {source_id}", call_back_on=due, call_back_owner=owner)
    with hub.store.write_transaction() as conn:
        item = log_contact(conn, "sam", golden_id, contact).worklist_item
    assert item is not None
    return item


def page(hub: ResolvedHub, **filters: Any) -> Any:
    with hub.store.engine.connect() as conn:
        return list_worklist(conn, **filters)


def events(hub: ResolvedHub, item: int) -> list[tuple[str, str]]:
    e = worklist_events.c
    with hub.store.engine.connect() as conn:
        rows = conn.execute(sa.select(e.event, e.actor).where(e.item_id == item).order_by(e.id))
        return [(r.event, r.actor) for r in rows]


def attempt(hub: ResolvedHub, call: Callable[[Connection], object]) -> None:
    """`call` in a write transaction of its own (rolled back if it raises)."""
    with hub.store.write_transaction() as conn:
        call(conn)


def audits(hub: ResolvedHub, action: str) -> list[Any]:
    with hub.store.engine.connect() as conn:
        return conn.execute(sa.select(audit_log).where(audit_log.c.action == action)).all()


def test_due_filters_are_days_in_the_hub_zone() -> None:
    day = dt.date(2026, 12, 5)
    assert due_range("all", day) == (None, None)
    assert due_range("overdue", day) == (None, dt.date(2026, 12, 4))
    assert due_range("today", day) == (day, day)
    assert due_range("tomorrow", day) == (dt.date(2026, 12, 6),) * 2
    assert due_range("week", day) == (day, dt.date(2026, 12, 11))
    assert due_range("2027-01-02", day) == (dt.date(2027, 1, 2),) * 2
    with pytest.raises(InvalidInput, match=r"^due: 'soon' is not a filter; use all, overdue"):
        due_range("soon", day)


def test_the_list_is_per_owner_soonest_first_and_paged(hub: ResolvedHub) -> None:
    later = call_back(hub, "1001", TODAY + 3 * DAY)
    first = call_back(hub, "1002", TODAY)
    second = call_back(hub, "1003", TODAY + DAY)
    alices = call_back(hub, "1004", TODAY + DAY, owner="alice")

    mine = page(hub, owner="sam")
    assert [i.id for i in mine.items] == [first, second, later] and mine.total == 3
    one = page(hub, owner="sam", size=2, page=2)
    assert [i.id for i in one.items] == [later] and (one.total, one.pages) == (3, 2)
    assert [i.id for i in page(hub, owner="alice").items] == [alices]
    everyone = page(hub, owner=None, due="tomorrow")
    assert sorted(i.id for i in everyone.items) == sorted([second, alices])
    assert page(hub, owner="sam", due="week").total == 3
    assert page(hub, owner="sam", due=str(TODAY + 3 * DAY)).items[0].id == later
    assert page(hub, owner="nobody").total == 0


def test_items_past_their_day_are_overdue(hub: ResolvedHub) -> None:
    item = call_back(hub, "1001", TODAY + DAY)
    assert not page(hub, owner="sam").items[0].overdue
    two_days_on = TODAY + 2 * DAY  # the list as it will be the day after the due day
    later = page(hub, owner="sam", today=two_days_on)
    assert [(i.id, i.overdue) for i in later.items] == [(item, True)]
    assert [i.id for i in page(hub, owner="sam", due="overdue", today=two_days_on).items] == [item]
    assert page(hub, owner="sam", due="overdue").total == 0


def test_assign_snooze_done_each_append_an_event_and_one_audit_entry(hub: ResolvedHub) -> None:
    item = call_back(hub, "1001", TODAY + DAY)
    anna = hub.crosswalk()[("erp", "1001")]
    with hub.store.write_transaction() as conn:
        assign_item(conn, "sam", item, "alice", version=1)
    assert page(hub, owner="alice").items[0].id == item and page(hub, owner="sam").total == 0

    with hub.store.write_transaction() as conn:
        snooze_item(conn, "alice", item, TODAY + 5 * DAY, version=2)
    [snoozed] = page(hub, owner="alice").items
    assert (snoozed.due_on, snoozed.first_due_on, snoozed.snoozed_until) == (
        TODAY + 5 * DAY,
        TODAY + DAY,
        TODAY + 5 * DAY,
    )
    assert page(hub, owner="alice", due="tomorrow").total == 0

    with hub.store.write_transaction() as conn:
        contact, summary = complete_item(
            conn, "alice", item, "reached, will order", note="wants the blue one", version=3
        )
    assert summary == f"worklist item {item} (about 1001) done: reached, will order"
    assert page(hub, owner="alice").total == 0
    [done] = page(hub, owner="alice", status="done").items
    assert (done.status, done.outcome, done.done_by, done.done_contact_id) == (
        "done",
        "reached, will order",
        "alice",
        contact,
    )
    assert events(hub, item) == [
        ("created", "sam"),
        ("assigned", "sam"),
        ("snoozed", "alice"),
        ("done", "alice"),
    ]
    for action in ("worklist.assign", "worklist.snooze", "worklist.done"):
        [entry] = audits(hub, action)
        assert entry.target_id == str(item) and entry.detail["golden_id"] == anna

    with hub.store.engine.connect() as conn:  # the outcome is on Anna's timeline
        newest = customer_view(conn, anna)["timeline"][0]
        stored = conn.execute(
            sa.select(interactions.c.extra).where(
                interactions.c.source_id == contact.removeprefix("hub/")
            )
        ).scalar_one()
    assert (newest["source"], newest["type"], newest["subject"], newest["status"]) == (
        "hub",
        "call",
        "Call-back: about 1001",
        "reached, will order",
    )
    assert stored["note"] == "wants the blue one" and stored["worklist_item"] == item


def test_stale_versions_done_items_and_bad_input_are_refused(hub: ResolvedHub) -> None:
    item = call_back(hub, "1001", TODAY + DAY)
    with hub.store.write_transaction() as conn:
        snooze_item(conn, "sam", item, TODAY + 2 * DAY, version=1)
    refusals: list[tuple[type[Exception], str, Callable[[Connection], object]]] = [
        (Conflict, r"changed since you loaded it \(version 1, now 2\)",
         lambda c: complete_item(c, "sam", item, "reached", version=1)),
        (InvalidInput, r"^until: .* is not after today",
         lambda c: snooze_item(c, "sam", item, TODAY)),
        (InvalidInput, r"^outcome: say how it ended",
         lambda c: complete_item(c, "sam", item, "  ")),
        (InvalidInput, r"^kind: 'order' is not one of call, visit, note",
         lambda c: complete_item(c, "sam", item, "reached", kind="order")),
        (InvalidInput, r"^owner: item .* is already sam's",
         lambda c: assign_item(c, "sam", item, "sam")),
        (NotFound, r"no worklist item 999", lambda c: complete_item(c, "sam", 999, "reached")),
    ]  # fmt: skip
    for error, pattern, call in refusals:
        with pytest.raises(error, match=pattern):
            attempt(hub, call)

    attempt(hub, lambda c: complete_item(c, "sam", item, "reached"))
    with pytest.raises(Conflict, match=r"already done by sam \(reached\)"):
        attempt(hub, lambda c: complete_item(c, "alice", item, "reached again"))
    with hub.store.engine.connect() as conn:
        row = conn.execute(sa.select(worklist_items).where(worklist_items.c.id == item)).one()
    assert (row.version, row.outcome) == (3, "reached")  # the refusals wrote nothing
    assert len(audits(hub, "worklist.done")) == 1


def test_the_worklist_and_the_timeline_search_indexes_not_tables(sqlite_hub: ResolvedHub) -> None:
    """A (source, id) IN (...) of row values made SQLite scan the whole crosswalk per
    worklist page (550 ms at a million customers) and every interaction per customer page;
    both are searches by an index now, whatever the page."""
    call_back(sqlite_hub, "1001", TODAY + DAY)
    anna = sqlite_hub.crosswalk()[("erp", "1001")]
    plans = query_plans(sqlite_hub, lambda c: list_worklist(c, owner="sam", page=1))
    plans += query_plans(sqlite_hub, lambda c: list_worklist(c, owner=None, due="tomorrow"))
    plans += query_plans(sqlite_hub, lambda c: customer_view(c, anna))
    plans += query_plans(sqlite_hub, lambda c: open_items_of(c, anna))
    assert any("worklist_items" in s for s, _ in plans)
    big = ("worklist_items", "crosswalk", "interactions", "golden_records", "customer_records")
    scans = [
        (statement, step)
        for statement, step in plans
        if step.startswith("SCAN ") and step.split()[1] in big and "COVERING INDEX" not in step
    ]
    assert not scans, scans


def test_six_stewards_closing_one_item_at_once_close_it_once(hub: ResolvedHub) -> None:
    """Each loaded version 1 and posts done in its own transaction at the same moment:
    one outcome is recorded, the other five are told it is done already or changed."""
    item = call_back(hub, "1001", TODAY + DAY)
    start = threading.Barrier(6)

    def close(n: int) -> str:
        start.wait()
        try:
            attempt(hub, lambda c: complete_item(c, f"s{n}", item, f"outcome {n}", version=1))
        except Conflict as refused:
            return str(refused)
        return "done"

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(close, range(6)))
    assert outcomes.count("done") == 1, outcomes
    assert all("already done" in o or "changed" in o for o in outcomes if o != "done")
    assert len(audits(hub, "worklist.done")) == 1
    assert [e for e, _ in events(hub, item)] == ["created", "done"]
    i = interactions.c
    with hub.store.engine.connect() as conn:
        outcomes_logged = conn.execute(
            sa.select(sa.func.count()).where(i.source == "hub", i.subject.startswith("Call-back"))
        ).scalar()
    assert outcomes_logged == 1


def test_a_customer_lists_its_open_items_under_any_member(hub: ResolvedHub) -> None:
    first = call_back(hub, "1001", TODAY + 2 * DAY)
    second = call_back(hub, "1001", TODAY + DAY, owner="alice")
    call_back(hub, "1002", TODAY + DAY)  # someone else's
    anna = hub.crosswalk()[("erp", "1001")]
    with hub.store.engine.connect() as conn:
        assert [i.id for i in open_items_of(conn, anna)] == [second, first]
        later = open_items_of(conn, anna, today=TODAY + 3 * DAY)
    assert [i.overdue for i in later] == [True, True]
    attempt(hub, lambda c: complete_item(c, "sam", first, "reached"))
    with hub.store.engine.connect() as conn:
        assert [i.id for i in open_items_of(conn, anna)] == [second]
        assert open_items_of(conn, "G0000000000000000") == []
