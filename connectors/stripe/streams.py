"""Stripe list endpoints as singer-sdk streams: customers and the interactions of customers.

Each stream reads one list endpoint page by page (`limit` = `page_size`, `starting_after` =
the last id of the previous page, until `has_more` is false), incrementally by `created`
(epoch seconds; the bookmark is inclusive, as Singer's are). Records keep Stripe's field
names; references that a server returns expanded (an object instead of an id) become the
id; money streams add `amount_major`, the main amount in the currency's major unit.
An object without a string `id` or an integer `created` is quarantined (`_crmhub_error`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import stripe
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers.types import Context, Record

from connectors.errors import (
    ERROR_PROPERTY,
    ConnectorFatalError,
    ConnectorRetriableError,
    error_property_schema,
    quarantine,
)
from connectors.stripe.settings import StripeSettings, describe, is_retriable, major_units

__all__ = [
    "CREATED",
    "ID",
    "METADATA",
    "ChargesStream",
    "InvoicesStream",
    "PaymentIntentsStream",
    "StripeStream",
    "to_record",
]

ID = th.Property("id", th.StringType, required=True)
CREATED = th.Property("created", th.IntegerType, description="Epoch seconds.")
METADATA = th.Property("metadata", th.ObjectType(additional_properties=th.StringType))
_CUSTOMER_REF = th.Property("customer", th.StringType, description="Customer id (cus_...).")
_AMOUNT_MAJOR = th.Property(
    "amount_major", th.NumberType, description="Main amount in major units (12.5 EUR)."
)


def _ref(value: Any) -> Any:
    """An expanded object's id, or the value as it is."""
    return value.get("id") if isinstance(value, dict) else value


def to_record(
    obj: dict[str, Any],
    properties: Iterable[str],
    *,
    refs: frozenset[str],
    amount_field: str | None,
) -> dict[str, Any] | None:
    """The declared `properties` of one Stripe object, or None if it lacks id or created."""
    if not isinstance(obj.get("id"), str) or not obj["id"]:
        return None
    created = obj.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        return None
    record = {  # not the quarantine's property, nor Singer's own (`_sdc_deleted_at`)
        name: obj.get(name)
        for name in properties
        if name != ERROR_PROPERTY and not name.startswith("_sdc_")
    }
    for name in refs & record.keys():
        record[name] = _ref(record[name])
    if amount_field is not None:
        record["amount_major"] = major_units(obj.get(amount_field), obj.get("currency"))
    return record


class StripeStream(Stream):
    """One Stripe list endpoint, read with the SDK's `client.v1.<resource>.list`."""

    primary_keys: ClassVar[list[str]] = ["id"]  # type: ignore[misc]
    replication_key: ClassVar[str] = "created"  # type: ignore[misc]
    resource: ClassVar[str]
    """Attribute of `StripeClient.v1` with the `list` method (e.g. ``customers``)."""
    properties: ClassVar[th.PropertiesList]
    refs: ClassVar[frozenset[str]] = frozenset()
    """Fields holding another object's id, which some servers return expanded."""
    amount_field: ClassVar[str | None] = None
    """Field whose value `amount_major` gives in major units (None: no money)."""

    def __init__(self, tap: Tap, *, client: stripe.StripeClient, settings: StripeSettings) -> None:
        schema = self.properties.to_dict()
        schema["properties"][ERROR_PROPERTY] = error_property_schema()
        super().__init__(tap=tap, schema=schema, name=self.resource)
        self._client = client
        self._settings = settings

    def since(self, context: Context | None) -> int | None:
        """The inclusive lower bound of `created`: the bookmark, else `start_date`."""
        bookmark = self.get_starting_replication_key_value(context)
        if isinstance(bookmark, int | float) and not isinstance(bookmark, bool):
            return int(bookmark)
        return self._settings.start_epoch

    def pages(self, since: int | None) -> Iterator[list[dict[str, Any]]]:
        """Each page's objects as plain dicts, following `has_more`/`starting_after`."""
        params: dict[str, Any] = {"limit": self._settings.page_size}
        if since is not None and self._settings.filter_on_server:
            params["created"] = {"gt": since - 1}  # = gte for whole seconds
        yield from self.list_pages(self.resource, params)

    def list_pages(self, resource: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """The pages of `client.v1.<resource>.list(params)` as lists of plain dicts."""
        params = dict(params)
        service = getattr(self._client.v1, resource)
        while True:
            try:
                page = service.list(params=params)
            except stripe.StripeError as exc:
                message = f"stream {self.name!r}: {describe(exc, self._settings.api_base)}"
                error = ConnectorRetriableError if is_retriable(exc) else ConnectorFatalError
                raise error(message) from None
            objects = [item.to_dict() for item in page.data]
            yield objects
            if not page.has_more or not objects:
                return
            last = objects[-1].get("id")
            if not isinstance(last, str):
                msg = f"stream {self.name!r}: page ends in an object without an id; cannot go on"
                raise ConnectorFatalError(msg)
            params["starting_after"] = last

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Every object created at or after `since`, in the server's order."""
        return self.created_since(self.since(context))

    def created_since(self, since: int | None) -> Iterator[Record]:
        """The objects created at or after `since` (None: all), quarantined where unreadable."""
        names = list(self.schema["properties"])
        for number, objects in enumerate(self.pages(since), start=1):
            for obj in objects:
                record = to_record(obj, names, refs=self.refs, amount_field=self.amount_field)
                if record is None:
                    yield self._quarantined(obj, number)
                elif since is None or record["created"] >= since:
                    yield record

    def _quarantined(self, obj: dict[str, Any], page: int) -> Record:
        recovered = {"id": obj["id"]} if isinstance(obj.get("id"), str) else {}
        return quarantine(
            recovered,
            reason="a Stripe object without a string id or an integer created",
            raw=json.dumps(obj, default=str, sort_keys=True),
            location=f"{self._settings.api_base}/v1/{self.resource} page {page}",
            logger=self.logger,
        )


class InvoicesStream(StripeStream):
    """Invoices; `amount_major` is the invoice total."""

    resource = "invoices"
    refs = frozenset({"customer", "subscription", "charge", "payment_intent"})
    amount_field = "total"
    properties = th.PropertiesList(
        ID,
        CREATED,
        _CUSTOMER_REF,
        th.Property("customer_email", th.StringType),
        th.Property("number", th.StringType),
        th.Property("status", th.StringType),
        th.Property("currency", th.StringType),
        th.Property("total", th.IntegerType, description="Smallest currency unit."),
        th.Property("subtotal", th.IntegerType),
        th.Property("amount_due", th.IntegerType),
        th.Property("amount_paid", th.IntegerType),
        _AMOUNT_MAJOR,
        th.Property("description", th.StringType),
        th.Property("subscription", th.StringType),
        th.Property("charge", th.StringType),
        th.Property("payment_intent", th.StringType),
        th.Property("livemode", th.BooleanType),
        METADATA,
    )


class ChargesStream(StripeStream):
    """Charges (payments, with or without a payment intent); `amount_major` is `amount`."""

    resource = "charges"
    refs = frozenset({"customer", "invoice", "payment_intent", "payment_method"})
    amount_field = "amount"
    properties = th.PropertiesList(
        ID,
        CREATED,
        _CUSTOMER_REF,
        th.Property("amount", th.IntegerType, description="Smallest currency unit."),
        th.Property("amount_refunded", th.IntegerType),
        _AMOUNT_MAJOR,
        th.Property("currency", th.StringType),
        th.Property("status", th.StringType),
        th.Property("paid", th.BooleanType),
        th.Property("refunded", th.BooleanType),
        th.Property("captured", th.BooleanType),
        th.Property("description", th.StringType),
        th.Property("receipt_email", th.StringType),
        th.Property("failure_code", th.StringType),
        th.Property("failure_message", th.StringType),
        th.Property("invoice", th.StringType),
        th.Property("payment_intent", th.StringType),
        th.Property("payment_method", th.StringType),
        th.Property("livemode", th.BooleanType),
        METADATA,
    )


class PaymentIntentsStream(StripeStream):
    """Payment intents (each successful one also appears as a charge)."""

    resource = "payment_intents"
    refs = frozenset({"customer", "invoice", "payment_method", "latest_charge"})
    amount_field = "amount"
    properties = th.PropertiesList(
        ID,
        CREATED,
        _CUSTOMER_REF,
        th.Property("amount", th.IntegerType, description="Smallest currency unit."),
        _AMOUNT_MAJOR,
        th.Property("currency", th.StringType),
        th.Property("status", th.StringType),
        th.Property("capture_method", th.StringType),
        th.Property("description", th.StringType),
        th.Property("invoice", th.StringType),
        th.Property("payment_method", th.StringType),
        th.Property("latest_charge", th.StringType),
        th.Property("livemode", th.BooleanType),
        METADATA,
    )
