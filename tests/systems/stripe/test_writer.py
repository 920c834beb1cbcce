"""StripeWriter against localstripe: golden id and contact fields written, refusals recorded."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.stripe import StripeWriter
from connectors.stripe.writer import customer_params
from connectors.writers import PushItem, WriteError, load_writer
from tests.systems.servers import free_port
from tests.systems.stripe.conftest import LocalStripe, Seeder


def stored(localstripe: LocalStripe, customer: str) -> dict[str, Any]:
    """The customer as the server has it now."""
    return localstripe.client().v1.customers.retrieve(customer).to_dict()


def item(source_id: str | None, golden: str, **values: Any) -> PushItem:
    return PushItem(
        source_id=source_id,
        stream="customers",
        golden_id=golden,
        golden_id_field="crmhub_golden_id",
        values=values,
    )


def test_registered_under_the_connector_type() -> None:
    assert load_writer("stripe") is StripeWriter
    assert StripeWriter.can_create
    assert {"email", "phone", "full_name", "street", "city", "country"} <= (
        StripeWriter.writable_fields
    )


def test_update_writes_golden_id_and_contact_fields(
    localstripe: LocalStripe, seeder: Seeder
) -> None:
    customer = seeder.customer(1)
    writer = StripeWriter(localstripe.config())
    writer.update(
        item(
            customer,
            "G-000042",
            email="anna.kovacs@example.com",
            full_name="Kovács Anna",
            street="Piac utca",
            house_number="12",
            postal_code="4024",
            city="Debrecen",
            country="hu",
        )
    )
    writer.close()
    now = stored(localstripe, customer)
    assert now["metadata"] == {"erp_id": "E-1", "crmhub_golden_id": "G-000042"}
    assert (now["email"], now["name"], now["phone"]) == (
        "anna.kovacs@example.com",
        "Kovács Anna",
        "+36300000001",  # not sent, so unchanged
    )
    assert now["address"] == {
        "line1": "Piac utca 12",
        "postal_code": "4024",
        "city": "Debrecen",
        "country": "HU",
    }


def test_rejected_record_is_not_retriable_and_the_others_are_written(
    localstripe: LocalStripe, seeder: Seeder
) -> None:
    first, second = seeder.customer(1), seeder.customer(2)
    writer = StripeWriter(localstripe.config())
    failures: dict[str, WriteError] = {}
    for pushed in (
        item(first, "G-1", email="one@example.com"),
        item("cus_doesnotexist", "G-2", email="ghost@example.com"),
        item(second, "G-3", phone="+36 1 234 5678"),
    ):
        try:
            writer.update(pushed)
        except WriteError as error:
            failures[str(pushed.source_id)] = error
    [(failed, refusal)] = failures.items()
    assert failed == "cus_doesnotexist"
    assert not refusal.retriable
    assert str(refusal) == (
        f"stripe: customer cus_doesnotexist: 404 from {localstripe.base_url}: Not Found"
    )
    one, two = stored(localstripe, first), stored(localstripe, second)
    assert (one["email"], one["metadata"]["crmhub_golden_id"]) == ("one@example.com", "G-1")
    assert (two["phone"], two["metadata"]["crmhub_golden_id"]) == ("+36 1 234 5678", "G-3")


def test_create_returns_the_new_customer_id(localstripe: LocalStripe) -> None:
    writer = StripeWriter(localstripe.config())
    new_id = writer.create(
        item(None, "G-7", email="new@example.com", given_name="Új", family_name="Ügyfél")
    )
    new = stored(localstripe, new_id)
    assert new_id.startswith("cus_")
    assert (new["email"], new["name"]) == ("new@example.com", "Új Ügyfél")
    assert new["metadata"]["crmhub_golden_id"] == "G-7"


def test_unreachable_server_is_retriable(localstripe: LocalStripe) -> None:
    writer = StripeWriter(localstripe.config(api_base=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(WriteError) as caught:
        writer.update(item("cus_x", "G-1", email="a@example.com"))
    assert caught.value.retriable
    assert "stripe: customer cus_x: cannot reach http://127.0.0.1:" in str(caught.value)
    assert "Connection refused" in str(caught.value)


def test_bad_api_key_is_refused_with_what_to_do(localstripe: LocalStripe, seeder: Seeder) -> None:
    customer = seeder.customer(1)
    writer = StripeWriter(localstripe.config(api_key="wrong"))
    with pytest.raises(WriteError, match="the API key was refused") as caught:
        writer.update(item(customer, "G-1", email="a@example.com"))
    assert not caught.value.retriable
    assert stored(localstripe, customer)["email"] == "customer1@example.com"


def test_only_customers_take_push_back(localstripe: LocalStripe) -> None:
    writer = StripeWriter(localstripe.config())
    charge = PushItem("ch_1", "charges", "G-1", "crmhub_golden_id", {"email": "a@example.com"})
    with pytest.raises(WriteError, match="only customers take push-back, not 'charges'"):
        writer.update(charge)


PARAMS_CASES = [
    pytest.param({}, {}, {}, id="golden-id-only"),
    pytest.param({"email": None}, {}, {"email": ""}, id="none-clears"),
    pytest.param(
        {"given_name": "Anna"},
        {"family_name": "Kovács"},
        {"name": "Anna Kovács"},
        id="name-part-completed-from-before",
    ),
    pytest.param(
        {"city": "Szeged"},
        {"street": "Fő utca", "house_number": "1", "postal_code": "6720", "country": "HU"},
        {
            "address": {
                "line1": "Fő utca 1",
                "postal_code": "6720",
                "city": "Szeged",
                "country": "HU",
            }
        },
        id="address-sent-whole",
    ),
]


@pytest.mark.parametrize(("values", "before", "expected"), PARAMS_CASES)
def test_customer_params(
    values: dict[str, Any], before: dict[str, Any], expected: dict[str, Any]
) -> None:
    pushed = PushItem("cus_1", "customers", "G-9", "golden", values, before)
    assert customer_params(pushed) == {"metadata": {"golden": "G-9"}, **expected}
