"""TapTryton against a live trytond: values, paging, incremental state, bad rows, failures."""

from __future__ import annotations

import time
from typing import Any

import pytest

from connectors import ConnectorFatalError, ConnectorRetriableError
from connectors.tryton import TapTryton
from connectors.tryton.client import TrytonSettings
from connectors.tryton.streams import PartiesStream
from tests.systems.servers import free_port
from tests.systems.tryton.seed import Seeded, client, make_party
from tests.systems.tryton.server import TrytonServer

pytestmark = pytest.mark.filterwarnings("ignore:Stream is assumed to be unsorted")


def by_id(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {record["id"]: record for record in records}


def test_parties_carry_contacts_addresses_and_kind(run_tryton: Any, seeded: Seeded) -> None:
    parties = by_id(run_tryton().records("parties"))
    anna = parties[seeded.persons[0]]
    assert {k: anna[k] for k in ("name", "kind", "person_name", "organization_name")} == {
        "name": "Kovács Anna",
        "kind": "person",
        "person_name": "Kovács Anna",
        "organization_name": None,
    }
    assert (anna["email"], anna["phone"], anna["mobile"]) == (
        "anna.kovacs@example.com",
        "+36 1 234 5678",
        None,
    )
    assert (anna["street"], anna["postal_code"], anna["city"], anna["country"]) == (
        "Fő utca 1.",
        "1011",
        "Budapest",
        "HU",
    )
    assert parties[seeded.persons[1]]["mobile"] == "+48 601 234 567"
    mueller = parties[seeded.organizations[0]]
    assert (mueller["kind"], mueller["organization_name"], mueller["person_name"]) == (
        "organization",
        "Müller GmbH",
        None,
    )
    unknown = parties[seeded.persons[2]]
    assert (unknown["kind"], unknown["person_name"]) == (None, "Szabó Péter")
    assert parties[seeded.archived]["active"] is False  # archived parties are read too


def test_sales_and_invoices_are_read_with_amounts(run_tryton: Any, seeded: Seeded) -> None:
    run = run_tryton()
    sales = by_id(run.records("sales"))
    first = sales[seeded.sales[0]]
    assert (first["party_id"], first["total_amount"], first["currency"]) == (
        seeded.persons[0],
        120.0,
        "EUR",
    )
    assert first["occurred_at"] == "2026-03-01"
    draft = sales[seeded.sales[-1]]
    assert draft["write_date"] is None  # never written: the bookmark falls back to creation
    assert draft["updated_at"] == draft["create_date"] == draft["occurred_at"]
    invoices = by_id(run.records("invoices"))
    assert invoices[seeded.invoices[1]]["total_amount"] == 450.0
    assert invoices[seeded.invoices[1]]["type"] == "out"


def test_pages_of_one_read_every_party_once(run_tryton: Any, tryton: TrytonServer) -> None:
    everything = [r["id"] for r in run_tryton(page_size=1000).records("parties")]
    paged = [r["id"] for r in run_tryton(page_size=2).records("parties")]
    assert len(everything) > 4
    assert paged == everything == sorted(everything)


def test_incremental_run_reads_only_what_changed(
    run_tryton: Any, tryton: TrytonServer, seeded: Seeded
) -> None:
    tryton_client = client(tryton)
    time.sleep(1.1)  # Tryton sends timestamps in whole seconds: the latest is alone in its own
    tryton_client.call("party.party", "write", [seeded.persons[0]], {"name": "Kovács Anna"})
    first = run_tryton()
    bookmark = first.state["bookmarks"]["parties"]["replication_key_value"]
    assert bookmark == by_id(first.records("parties"))[seeded.persons[0]]["updated_at"]
    assert bookmark == max(r["updated_at"] for r in first.records("parties"))

    time.sleep(1.1)
    tryton_client.call("party.party", "write", [seeded.persons[1]], {"name": "Jan Nowak-Kowalski"})
    added = make_party(tryton_client, "Nagy Éva", email="eva@example.com")
    tryton_client.close()
    second = run_tryton(state=first.state)
    # the bookmark's own second is read again (>=), then only what changed since
    assert {r["id"] for r in second.records("parties")} == {
        seeded.persons[0],
        seeded.persons[1],
        added,
    }
    assert by_id(second.records("parties"))[seeded.persons[1]]["name"] == "Jan Nowak-Kowalski"
    assert second.state["bookmarks"]["parties"]["replication_key_value"] > bookmark
    sales_bookmark = first.state["bookmarks"]["sales"]["replication_key_value"]
    assert all(r["updated_at"] == sales_bookmark for r in second.records("sales"))


def test_an_unreadable_row_is_quarantined_not_dropped(tryton: TrytonServer) -> None:
    tap = TapTryton(config=tryton.config)
    stream = tap.streams["parties"]
    assert isinstance(stream, PartiesStream)
    record = stream._record({"id": 42, "name": 7, "contact_mechanisms.": "garbage"})
    assert record["id"] == 42
    error = record["_crmhub_error"]
    assert "unreadable party.party record" in error["reason"]
    assert "garbage" in error["raw"]
    assert "party.party id 42" in error["location"]


def test_a_refused_connection_is_retriable_and_says_where(tryton: TrytonServer) -> None:
    config = {**tryton.config, "url": f"http://127.0.0.1:{free_port()}"}
    with pytest.raises(ConnectorRetriableError, match=r"cannot connect .* is the server running"):
        TapTryton(config=config).sync_all()


def test_a_wrong_password_is_fatal_and_clear(tryton: TrytonServer) -> None:
    with pytest.raises(ConnectorFatalError) as raised:
        TapTryton(config={**tryton.config, "password": "not-the-password"}).sync_all()
    message = str(raised.value)
    assert "wrong user or password" in message
    assert tryton.url in message
    assert "not-the-password" not in message


def test_settings_refuse_credentials_in_the_url() -> None:
    with pytest.raises(ValueError, match="must not hold credentials"):
        TrytonSettings(url="http://admin:pw@erp:8000", database="d", user="u", password="p")
