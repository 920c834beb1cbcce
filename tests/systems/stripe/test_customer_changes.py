"""Changed and deleted Stripe customers reach the hub on incremental runs (from Stripe's
events, against a real localstripe): a customer has no modification stamp, so listing by
`created` alone would never read an old customer's new e-mail address again."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.stripe.customers import EVENTS_KEPT, EVENTS_SINCE
from hub.store.tables import customer_records
from hub.sync.run import sync
from tests.systems.stripe.conftest import LocalStripe, Seeder, next_second, run_tap
from tests.systems.stripe.test_sync import NO_RETRY, project, rows

ONLY_CUSTOMERS = {"streams": ["customers"]}


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        assert record["id"] not in found, f"{record['id']} sent twice"
        found[record["id"]] = record
    return found


def test_changed_and_deleted_customers_come_from_events(
    localstripe: LocalStripe, seeder: Seeder
) -> None:
    old, gone, boundary = (seeder.customer(n) for n in (1, 2, 3))
    first = run_tap(localstripe.config(**ONLY_CUSTOMERS))
    assert set(by_id(first.records("customers"))) == {old, gone, boundary}
    assert "_sdc_deleted_at" not in first.records("customers")[0]  # only on deletions
    checked = first.state["bookmarks"]["customers"][EVENTS_SINCE]
    assert time.time() - 600 < checked < time.time()

    next_second()
    client = localstripe.client()
    client.v1.customers.update(old, params={"email": "new.address@example.com"})
    client.v1.customers.update(gone, params={"name": "Renamed First"})
    client.v1.customers.delete(gone)  # its last event is the deletion
    new = seeder.customer(4)

    second = run_tap(localstripe.config(**ONLY_CUSTOMERS), state=first.state)
    got = by_id(second.records("customers"))
    # new by `created` (the bookmark's second again, inclusive), changed ones from events
    assert set(got) == {boundary, new, old, gone}
    assert got[old]["email"] == "new.address@example.com"
    assert got[old].get("_sdc_deleted_at") is None
    assert got[gone]["_sdc_deleted_at"] is not None
    assert got[new].get("_sdc_deleted_at") is None
    assert second.state["bookmarks"]["customers"][EVENTS_SINCE] >= checked

    third = run_tap(localstripe.config(**ONLY_CUSTOMERS), state=second.state)
    # the overlap reads the same events again (harmless: the hub keeps what is unchanged),
    # but a customer is sent once per run
    assert set(by_id(third.records("customers"))) <= {new, old, gone}


@pytest.mark.parametrize(
    ("events_since", "why"),
    [
        (None, "no record of when changes were last read"),
        (int(time.time()) - EVENTS_KEPT - 3600, "older than the 30 days Stripe keeps events"),
    ],
    ids=["state without events_since", "events older than Stripe keeps"],
)
def test_without_usable_events_every_customer_is_listed_once(
    localstripe: LocalStripe,
    seeder: Seeder,
    caplog: pytest.LogCaptureFixture,
    events_since: int | None,
    why: str,
) -> None:
    ids = [seeder.customer(n) for n in (1, 2)]
    first = run_tap(localstripe.config(**ONLY_CUSTOMERS))
    state = first.state
    customers = state["bookmarks"]["customers"]
    customers.pop(EVENTS_SINCE)
    if events_since is not None:
        customers[EVENTS_SINCE] = events_since
    next_second()
    later = seeder.customer(3)
    with caplog.at_level("INFO"):
        again = run_tap(localstripe.config(**ONLY_CUSTOMERS), state=state)
    assert set(by_id(again.records("customers"))) == {*ids, later}
    assert why in caplog.text and "listing every customer once" in caplog.text
    assert again.state["bookmarks"]["customers"][EVENTS_SINCE] > time.time() - 600


def test_updates_from_events_off_reads_only_new_customers(
    localstripe: LocalStripe, seeder: Seeder
) -> None:
    config = localstripe.config(updates_from_events=False, **ONLY_CUSTOMERS)
    old = seeder.customer(1)
    next_second()
    boundary = seeder.customer(2)  # the bookmark's second, listed again (inclusive)
    first = run_tap(config)
    assert EVENTS_SINCE not in first.state["bookmarks"]["customers"]
    next_second()
    localstripe.client().v1.customers.update(old, params={"email": "changed@example.com"})
    new = seeder.customer(3)
    asked = localstripe.logged("GET /v1/events", timeout=0.5)  # the log is the session's
    second = run_tap(config, state=first.state)
    assert [c["id"] for c in second.records("customers")] == [boundary, new]  # not `old`
    assert localstripe.logged("GET /v1/events", timeout=0.5) == asked


def test_hub_sync_updates_the_changed_customer_and_marks_the_deleted_one(
    tmp_path: Path, localstripe: LocalStripe, seeder: Seeder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", localstripe.api_key)
    anna, bela, cecil = (seeder.customer(n) for n in (1, 2, 3))
    config, store = project(tmp_path, localstripe, "STRIPE_API_KEY")
    [first] = sync(config, store, retry=NO_RETRY)
    assert first.ok, first.error

    next_second()
    client = localstripe.client()
    client.v1.customers.update(anna, params={"email": "anna.kovacs@example.org"})
    client.v1.customers.delete(bela)
    [second] = sync(config, store, retry=NO_RETRY)
    assert second.ok, second.error
    assert (second.counts.updated, second.counts.deleted) == (1, 1)

    stored = {r.source_id: r for r in rows(store, customer_records)}
    assert stored[anna].email == "anna.kovacs@example.org"
    assert stored[bela].deleted is True
    assert stored[cecil].deleted is False
    with store.engine.connect() as conn:
        live = conn.execute(
            sa.select(sa.func.count()).where(customer_records.c.deleted.is_(False))
        ).scalar_one()
    assert live == 2
