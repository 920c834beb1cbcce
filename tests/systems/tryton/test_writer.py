"""TrytonWriter against a live trytond: golden id identifiers, contacts, refusals."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.tryton import TrytonWriter
from connectors.writers import PushItem, WriteError, load_writer
from tests.systems.servers import free_port
from tests.systems.tryton.seed import client, make_party
from tests.systems.tryton.server import TrytonServer


def item(source_id: int | str | None, golden_id: str, **values: Any) -> PushItem:
    return PushItem(
        source_id=None if source_id is None else str(source_id),
        stream="parties",
        golden_id=golden_id,
        golden_id_field="crmhub_golden_id",
        values=values,
    )


def party(tryton: TrytonServer, party_id: int) -> dict[str, Any]:
    reader = client(tryton)
    fields = ["name", "identifiers.type", "identifiers.code", "contact_mechanisms.type"]
    fields += ["contact_mechanisms.value", "addresses.city", "addresses.country.code"]
    row: dict[str, Any] = reader.call("party.party", "read", [party_id], fields)[0]
    reader.close()
    return row


def contacts(row: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((m["type"], m["value"]) for m in row["contact_mechanisms."])


def test_registered_as_the_tryton_writer() -> None:
    assert load_writer("tryton") is TrytonWriter


def test_one_refused_party_does_not_stop_the_other(tryton: TrytonServer) -> None:
    seeder = client(tryton)
    kept = make_party(seeder, "Writer Kept", email="old@example.com")
    gone = make_party(seeder, "Writer Gone")
    seeder.call("party.party", "delete", [gone])
    seeder.close()

    writer = TrytonWriter(tryton.config)
    with pytest.raises(WriteError) as refused:
        writer.update(item(gone, "G-GONE", email="gone@example.com"))
    writer.update(item(kept, "G-KEPT", email="kept@example.com"))
    writer.close()

    assert not refused.value.retriable
    assert "Tryton refused" in str(refused.value)
    assert "don't exist" in str(refused.value)  # Tryton's own message
    row = party(tryton, kept)
    assert [(i["type"], i["code"]) for i in row["identifiers."]] == [(None, "crmhub:G-KEPT")]
    assert contacts(row) == [("email", "kept@example.com")]  # replaced, not added


def test_a_refused_value_writes_nothing_of_that_party(tryton: TrytonServer) -> None:
    seeder = client(tryton)
    target = make_party(seeder, "Writer Phone")
    seeder.close()
    writer = TrytonWriter(tryton.config)
    with pytest.raises(WriteError, match="phone") as refused:
        writer.update(item(target, "G-PHONE", phone="12", email="phone@example.com"))
    writer.close()
    assert not refused.value.retriable
    row = party(tryton, target)  # one write per party: all or nothing
    assert row["identifiers."] == []
    assert contacts(row) == []


def test_fills_name_phone_address_and_updates_the_golden_id(tryton: TrytonServer) -> None:
    seeder = client(tryton)
    target = make_party(seeder, "writer fill", mobile="+36 30 123 4567", city="Pécs")
    seeder.close()
    writer = TrytonWriter(tryton.config)
    writer.update(item(target, "G-1", full_name="Writer Fill", city="Szeged", country="HU"))
    writer.update(item(target, "G-2", phone="+36 30 765 4321", email="fill@example.com"))
    writer.close()
    row = party(tryton, target)
    assert row["name"] == "Writer Fill"
    assert [i["code"] for i in row["identifiers."]] == ["crmhub:G-2"]  # rewritten, not added
    assert contacts(row) == [("email", "fill@example.com"), ("mobile", "+36 30 765 4321")]
    (address,) = row["addresses."]
    assert (address["city"], address["country."]["code"]) == ("Szeged", "HU")


def test_creates_a_party(tryton: TrytonServer) -> None:
    writer = TrytonWriter(tryton.config)
    new_id = writer.create(
        item(None, "G-NEW", organization_name="New Org Kft.", email="new@example.com")
    )
    writer.close()
    row = party(tryton, int(new_id))
    assert row["name"] == "New Org Kft."
    assert [i["code"] for i in row["identifiers."]] == ["crmhub:G-NEW"]
    assert contacts(row) == [("email", "new@example.com")]


def test_an_unknown_country_is_refused_clearly(tryton: TrytonServer) -> None:
    seeder = client(tryton)
    target = make_party(seeder, "Writer Country")
    seeder.close()
    writer = TrytonWriter(tryton.config)
    with pytest.raises(WriteError, match="country 'FR' is not in Tryton"):
        writer.update(item(target, "G-FR", country="FR"))


def test_connection_failures_are_retriable(tryton: TrytonServer) -> None:
    writer = TrytonWriter({**tryton.config, "url": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(WriteError, match="cannot connect") as refused:
        writer.update(item(1, "G-X", email="x@example.com"))
    assert refused.value.retriable


def test_a_wrong_password_is_not_retriable(tryton: TrytonServer) -> None:
    writer = TrytonWriter({**tryton.config, "password": "nope-nope"})
    with pytest.raises(WriteError, match="wrong user or password") as refused:
        writer.update(item(1, "G-X", email="x@example.com"))
    assert not refused.value.retriable
    assert "nope-nope" not in str(refused.value)
