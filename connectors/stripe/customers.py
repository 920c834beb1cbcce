"""Stripe customers, new and changed: listed by `created`, changes read from Stripe's events.

A Stripe customer carries no modification stamp, so listing customers by `created` finds
new customers only: a customer who changed an e-mail address, or one the hub's push-back
wrote to, would never be read again. Stripe records each change as an event
(`customer.updated`, `customer.deleted`) and keeps events for 30 days, as Airbyte's and
singer-io's Stripe taps rely on. So an incremental run of the `customers` stream:

1. lists the customers created since the bookmark (as every stream does);
2. lists the `customer.updated` and `customer.deleted` events since the last run began
   (less a few minutes: clocks differ and events land late), and for each customer they
   name, not already listed, sends the customer as Stripe has it now (a `retrieve`, so an
   older event's copy never overwrites newer data) — or, when its last event is a deletion,
   the deleted customer with Singer's `_sdc_deleted_at`, so the hub marks it deleted.

The time the events were read up to is kept in the stream's state (`events_since`, epoch
seconds) beside the bookmark. A run without it, or whose last run is older than Stripe keeps
events, lists every customer instead and says why. `updates_from_events: false` turns step 2
off (a restricted key without read access to events).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import stripe
from singer_sdk import typing as th
from singer_sdk.helpers.types import Context, Record

from connectors.errors import ConnectorFatalError, ConnectorRetriableError, quarantine
from connectors.stripe.settings import describe, is_retriable
from connectors.stripe.streams import CREATED, ID, METADATA, StripeStream, to_record

__all__ = ["EVENTS_KEPT", "EVENTS_SINCE", "EVENT_TYPES", "Change", "CustomersStream"]

EVENTS_SINCE = "events_since"  # the stream state's key: epoch seconds events were read from
EVENTS_KEPT = 30 * 24 * 3600  # how long Stripe keeps events (seconds)
EVENT_TYPES = ("customer.updated", "customer.deleted")
_OVERLAP = 300  # seconds read again before the last run began: clock skew, late events
_DELETED_AT = "_sdc_deleted_at"


@dataclass(frozen=True)
class Change:
    """A customer's latest event: when, and the deleted customer if it was a deletion."""

    customer: str
    at: int
    deleted: dict[str, Any] | None = None


class CustomersStream(StripeStream):
    """Customers: contact data and metadata (where the hub's golden id is written back);
    new ones by `created`, changed and deleted ones from Stripe's events."""

    resource = "customers"
    properties = th.PropertiesList(
        ID,
        CREATED,
        th.Property("email", th.StringType),
        th.Property("name", th.StringType),
        th.Property("phone", th.StringType),
        th.Property("description", th.StringType),
        th.Property(
            "address",
            th.ObjectType(
                *(
                    th.Property(part, th.StringType)
                    for part in ("line1", "line2", "postal_code", "city", "state", "country")
                )
            ),
        ),
        th.Property("currency", th.StringType),
        th.Property("delinquent", th.BooleanType),
        th.Property("livemode", th.BooleanType),
        METADATA,
        th.Property(
            _DELETED_AT,
            th.DateTimeType,
            description="Set when Stripe deleted the customer (a customer.deleted event).",
        ),
    )
    refs: ClassVar[frozenset[str]] = frozenset()

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """New customers, then those changed or deleted since the last run (see the module)."""
        state = self.get_context_state(context)
        began = int(time.time())
        since = self.since(context)
        checked = state.get(EVENTS_SINCE)
        events = self._settings.updates_from_events
        incremental = self.get_starting_replication_key_value(context) is not None
        if events and incremental and not _usable(checked, began):
            self.logger.info(
                "stripe customers: %s; listing every customer once to catch changes",
                "no record of when changes were last read"
                if checked is None
                else "the last run is older than the 30 days Stripe keeps events",
            )
            since, incremental = self._settings.start_epoch, False
        listed: set[str] = set()  # on an incremental run: sent already, not again
        for record in self.created_since(since):
            if incremental and isinstance(record.get("id"), str):
                listed.add(record["id"])
            yield record
        if events and incremental:
            assert isinstance(checked, int)
            yield from self._changed(checked, listed)
        if events:
            state[EVENTS_SINCE] = began - _OVERLAP

    def _changed(self, since: int, listed: set[str]) -> Iterator[Record]:
        names = list(self.schema["properties"])
        changes = sorted(self.changes_since(since).values(), key=lambda c: (c.at, c.customer))
        for change in changes:
            if change.customer in listed:
                continue
            obj = change.deleted if change.deleted is not None else self._current(change.customer)
            if obj is None:  # deleted meanwhile: its customer.deleted event is read next run
                continue
            record = to_record(obj, names, refs=self.refs, amount_field=None)
            if record is None:
                yield quarantine(
                    {"id": change.customer},
                    reason="a changed Stripe customer without a string id or an integer created",
                    raw=json.dumps(obj, default=str, sort_keys=True),
                    location=f"{self._settings.api_base}/v1/customers/{change.customer}",
                    logger=self.logger,
                )
                continue
            if change.deleted is not None:
                record[_DELETED_AT] = dt.datetime.fromtimestamp(change.at, dt.UTC).isoformat()
            yield record

    def changes_since(self, since: int) -> dict[str, Change]:
        """Per customer id, its latest customer.updated / customer.deleted event at or after
        `since` (epoch seconds)."""
        found: dict[str, Change] = {}
        for kind in EVENT_TYPES:
            params: dict[str, Any] = {"type": kind, "limit": self._settings.page_size}
            if self._settings.filter_on_server:
                params["created"] = {"gte": since}
            for page in self.list_pages("events", params):
                for event in page:
                    change = _change(event, kind)
                    if change is None or change.at < since:
                        continue
                    known = found.get(change.customer)
                    if known is None or (change.at, change.deleted is not None) > (
                        known.at,
                        known.deleted is not None,
                    ):  # the latest; in one second a deletion wins
                        found[change.customer] = change
        return found

    def _current(self, customer: str) -> dict[str, Any] | None:
        """The customer as Stripe has it now; None if it is gone."""
        try:
            got: dict[str, Any] = self._client.v1.customers.retrieve(customer).to_dict()
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return None
            raise ConnectorFatalError(
                f"stream {self.name!r}: {describe(exc, self._settings.api_base)}"
            ) from None
        except stripe.StripeError as exc:
            message = f"stream {self.name!r}: {describe(exc, self._settings.api_base)}"
            error = ConnectorRetriableError if is_retriable(exc) else ConnectorFatalError
            raise error(message) from None
        return None if got.get("deleted") is True else got


def _usable(checked: Any, now: int) -> bool:
    """Whether events from `checked` on are all still at Stripe."""
    if not isinstance(checked, int) or isinstance(checked, bool):
        return False
    return checked >= now - EVENTS_KEPT + _OVERLAP


def _change(event: dict[str, Any], kind: str) -> Change | None:
    """The customer change one event records, or None if it is not a readable one."""
    created = event.get("created")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if event.get("type") != kind or not isinstance(obj, dict) or not isinstance(created, int):
        return None
    customer = obj.get("id")
    if not isinstance(customer, str) or not customer:
        return None
    return Change(customer, created, obj if kind == "customer.deleted" else None)
