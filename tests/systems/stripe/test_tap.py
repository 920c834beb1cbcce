"""TapStripe against localstripe: records, incremental state, pagination, failures, quarantine."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
import stripe
from singer_sdk.exceptions import ConfigValidationError

from connectors.errors import ERROR_PROPERTY, ConnectorFatalError, ConnectorRetriableError
from connectors.stripe import StripeSettings, TapStripe
from connectors.stripe.customers import CustomersStream
from connectors.stripe.settings import describe, major_units, retry_after
from tests.systems.servers import free_port
from tests.systems.stripe.conftest import CapturingWriter, LocalStripe, Seeder, next_second, run_tap


def test_customers_and_interactions_as_stripe_has_them(
    localstripe: LocalStripe, seeder: Seeder
) -> None:
    anna = seeder.customer(1, name="Anna Kovács")
    charge = seeder.charge(anna, 1250)
    intent = seeder.payment_intent(anna, 999)
    invoice = seeder.invoice(anna, 2500)
    run = run_tap(localstripe.config())

    [customer] = run.records("customers")
    assert customer == {
        "id": anna,
        "created": customer["created"],
        "email": "customer1@example.com",
        "name": "Anna Kovács",
        "phone": "+36300000001",
        "description": None,
        "address": {
            "line1": "Fő utca 1",
            "postal_code": "1011",
            "city": "Budapest",
            "country": "HU",
        },
        "currency": customer["currency"],
        "delinquent": False,
        "livemode": False,
        "metadata": {"erp_id": "E-1"},
    }
    assert isinstance(customer["created"], int)
    charges = {c["id"]: c for c in run.records("charges")}
    assert charges[charge]["customer"] == anna
    assert (charges[charge]["amount"], charges[charge]["amount_major"]) == (1250, 12.5)
    # the payment intent and the invoice were paid by charges of their own
    assert sorted(c["amount"] for c in charges.values()) == [999, 1250, 2500]
    intents = {p["id"]: p for p in run.records("payment_intents")}  # the invoice made one too
    pi = intents[intent]
    assert (pi["customer"], pi["status"], pi["amount_major"]) == (anna, "succeeded", 9.99)
    assert len(intents) == 2
    [inv] = run.records("invoices")
    # localstripe expands `charge`; the record keeps the id as real Stripe sends it
    assert (inv["id"], inv["customer"], inv["total"], inv["amount_major"]) == (
        invoice,
        anna,
        2500,
        25.0,
    )
    assert isinstance(inv["charge"], str)
    assert inv["charge"].startswith("ch_")


def test_second_run_with_state_reads_only_newer_records(
    localstripe: LocalStripe, seeder: Seeder
) -> None:
    older = [seeder.customer(n) for n in (1, 2)]
    next_second()
    boundary = seeder.customer(3)
    first = run_tap(localstripe.config(page_size=2))
    assert [c["id"] for c in first.records("customers")] == [*older, boundary]
    bookmark = first.state["bookmarks"]["customers"]["replication_key_value"]
    assert bookmark == first.records("customers")[-1]["created"]

    next_second()
    new = [seeder.customer(n) for n in (4, 5)]
    second = run_tap(localstripe.config(page_size=2), state=first.state)
    # The bookmark is inclusive (Singer's convention; `created` has whole seconds), so the
    # customer created in the bookmark's second comes again; older ones do not.
    assert [c["id"] for c in second.records("customers")] == [boundary, *new]
    assert second.state["bookmarks"]["customers"]["replication_key_value"] > bookmark


def test_start_date_skips_older_objects(localstripe: LocalStripe, seeder: Seeder) -> None:
    seeder.customer(1)
    next_second()
    later = seeder.customer(2)
    created = localstripe.client().v1.customers.retrieve(later).created
    start = dt.datetime.fromtimestamp(created, dt.UTC).isoformat()
    run = run_tap(localstripe.config(start_date=start, streams=["customers"]))
    assert [c["id"] for c in run.records("customers")] == [later]


def test_server_side_created_filter(localstripe: LocalStripe, seeder: Seeder) -> None:
    """The production path (`created[gt]` sent to the server), on the endpoint where
    localstripe implements it: charges."""
    anna = seeder.customer(1)
    seeder.charge(anna, 100)
    next_second()
    boundary = seeder.charge(anna, 200)
    config = localstripe.config(streams=["charges"], filter_on_server=True)
    first = run_tap(config)
    assert len(first.records("charges")) == 2
    next_second()
    newer = seeder.charge(anna, 300)
    second = run_tap(config, state=first.state)
    assert [c["id"] for c in second.records("charges")] == [boundary, newer]
    # only this test sends the filter (every other config sets filter_on_server false)
    assert localstripe.logged("created%5Bgt%5D=") == 1


def test_pagination_follows_has_more_across_pages(localstripe: LocalStripe, seeder: Seeder) -> None:
    ids = [seeder.customer(n) for n in range(1, 8)]
    run = run_tap(localstripe.config(page_size=3, streams=["customers"]))
    assert [c["id"] for c in run.records("customers")] == ids  # each once, in order
    assert localstripe.logged("GET /v1/customers?limit=3") == 3  # 3 + 3 + 1


def test_refused_connection_is_retriable_and_writes_nothing(localstripe: LocalStripe) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    writer = CapturingWriter()
    with pytest.raises(ConnectorRetriableError) as caught:
        run_tap(localstripe.config(api_base=closed), writer=writer)
    message = str(caught.value)
    assert message.startswith("stream 'charges': stripe: cannot reach http://127.0.0.1:")
    assert "Connection refused" in message
    assert "\n" not in message
    assert not [m for m in writer.messages if m["type"] in ("RECORD", "STATE")]


def test_bad_api_key_is_fatal_with_what_to_do(localstripe: LocalStripe, seeder: Seeder) -> None:
    seeder.customer(1)
    writer = CapturingWriter()
    with pytest.raises(ConnectorFatalError) as caught:
        run_tap(localstripe.config(api_key="not-a-stripe-key"), writer=writer)
    message = str(caught.value)
    assert f"401 from {localstripe.base_url}: the API key was refused" in message
    assert "check the connector's api_key" in message
    assert "not-a-stripe-key" not in message
    assert not [m for m in writer.messages if m["type"] in ("RECORD", "STATE")]


def test_a_key_without_access_names_what_it_needs_and_the_events_switch() -> None:
    refused = stripe.PermissionError("The provided key does not have access", http_status=403)
    message = describe(refused, "http://127.0.0.1:8420")
    assert message.startswith("stripe: 403 from http://127.0.0.1:8420: the API key may not do this")
    assert "read access to customers, events" in message
    assert "updates_from_events: false" in message


def test_settings_schema_and_model_name_the_same_keys() -> None:
    builtin: dict[str, Any] = {"type": "object", "properties": {}}
    TapStripe.append_builtin_config(builtin)  # what singer-sdk adds (stream maps, ...)
    ours = set(TapStripe.config_jsonschema["properties"]) - set(builtin["properties"])
    assert ours == set(StripeSettings.model_fields)
    assert TapStripe.config_jsonschema["properties"]["api_key"]["secret"] is True


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigValidationError, match="api_base: Value error, must be an http"):
        _ = TapStripe(config={"api_key": "sk_test_x", "api_base": "ftp://x"}).streams


def test_unreadable_object_is_quarantined_not_dropped(caplog: pytest.LogCaptureFixture) -> None:
    tap = TapStripe(config={"api_key": "sk_test_x", "api_base": "http://127.0.0.1:9"})
    stream = tap.streams["customers"]
    assert isinstance(stream, CustomersStream)
    good = {"id": "cus_1", "created": 1700000000, "email": "a@example.com"}
    bad = {"id": "cus_2", "created": "yesterday", "email": "b@example.com"}

    def pages(since: int | None) -> Any:
        yield [good, bad]

    stream.pages = pages  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING):
        records = list(stream.get_records(None))
    assert [r["id"] for r in records] == ["cus_1", "cus_2"]
    assert ERROR_PROPERTY not in records[0]
    error = records[1][ERROR_PROPERTY]
    assert error["reason"] == "a Stripe object without a string id or an integer created"
    assert '"created": "yesterday"' in error["raw"]
    assert error["location"] == "http://127.0.0.1:9/v1/customers page 1"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (1250, "eur", 12.5),
        (1999, "usd", 19.99),
        (500, "jpy", 500.0),
        (1234, "KWD", 1.234),
        (0, "huf", 0.0),
        (None, "eur", None),
        (100, None, None),
    ],
)
def test_major_units(amount: Any, currency: Any, expected: float | None) -> None:
    assert major_units(amount, currency) == expected


def test_rate_limit_is_retriable_with_retry_after() -> None:
    error = stripe.RateLimitError(
        "Too many requests", http_status=429, headers={"Retry-After": "3"}
    )
    assert retry_after(error) == 3.0
    assert describe(error, "https://api.stripe.com").startswith(
        "stripe: 429 rate limited by https://api.stripe.com"
    )
