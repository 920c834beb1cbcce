"""StripeWriter: the hub's golden id and contact corrections onto Stripe customers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar

import stripe

from connectors.stripe.settings import (
    StripeSettings,
    describe,
    is_retriable,
    make_client,
    parse_settings,
    retry_after,
)
from connectors.writers import PushItem, WriteError, Writer

__all__ = ["StripeWriter", "audience_metadata", "customer_params"]

_NAME_PARTS = ("given_name", "family_name")
_ADDRESS = {"postal_code": "postal_code", "city": "city", "country": "country"}
_LINE1 = ("street", "house_number")


def _text(value: Any) -> str:
    """A value as Stripe takes it: text, with None as "" (which clears the field)."""
    return "" if value is None else str(value).strip()


def _joined(parts: list[Any]) -> str:
    return " ".join(text for text in (_text(p) for p in parts) if text)


def customer_params(item: PushItem) -> dict[str, Any]:
    """The `customers.update`/`create` parameters for one item.

    ``metadata`` gets the golden id (other metadata keys are kept by Stripe); ``name`` is
    ``full_name``, else given and family name (the missing one from ``before``);
    ``address`` is sent whole (Stripe replaces it), changed parts over ``before``, with
    ``line1`` = street and house number.
    """
    values, before = item.values, item.before

    def current(field: str) -> Any:
        return values[field] if field in values else before.get(field)

    params: dict[str, Any] = {"metadata": {item.golden_id_field: item.golden_id}}
    for field in ("email", "phone"):
        if field in values:
            params[field] = _text(values[field])
    if "full_name" in values:
        params["name"] = _text(values["full_name"])
    elif any(part in values for part in _NAME_PARTS):
        params["name"] = _joined([current(part) for part in _NAME_PARTS])
    if any(field in values for field in (*_LINE1, *_ADDRESS)):
        address = {"line1": _joined([current(part) for part in _LINE1])}
        for field, key in _ADDRESS.items():
            address[key] = _text(current(field))
        if address["country"]:
            address["country"] = address["country"].upper()
        params["address"] = {key: value for key, value in address.items() if value}
    return params


def audience_metadata(audience: str, member: bool, fields: Mapping[str, Any]) -> dict[str, str]:
    """The customer metadata of one membership: `crmhub_audience_<audience>` = "1" (or ""
    on exit, which removes the key) and each carried field as `crmhub_<audience>_<field>`
    (text, lists and objects as JSON; all removed on exit). Stripe keeps other keys."""
    metadata = {f"crmhub_audience_{audience}": "1" if member else ""}
    for name, value in fields.items():
        if member and value is not None:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        else:
            text = ""
        metadata[f"crmhub_{audience}_{name}"] = text[:500]  # Stripe's limit per value
    return metadata


def _customers_only(item: PushItem) -> None:
    if item.stream != "customers":
        msg = f"stripe: only customers take push-back, not {item.stream!r} records"
        raise WriteError(msg)


class StripeWriter(Writer):
    """Writes golden ids (customer metadata) and contact fields into Stripe customers."""

    writable_fields: ClassVar[frozenset[str]] = frozenset(
        {"email", "phone", "full_name", *_NAME_PARTS, *_LINE1, *_ADDRESS}
    )
    can_create: ClassVar[bool] = True
    max_requests_per_second: ClassVar[float | None] = 25.0  # Stripe's test-mode limit

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.settings: StripeSettings = parse_settings("stripe writer", dict(config))

    @cached_property
    def client(self) -> stripe.StripeClient:
        return make_client(self.settings)

    def update(self, item: PushItem) -> None:
        """Modify customer `item.source_id` (Stripe's `Customer.modify`)."""
        _customers_only(item)
        if not item.source_id:
            raise WriteError("stripe: no customer id to update; use create (mode upsert)")
        try:
            self.client.v1.customers.update(item.source_id, params=customer_params(item))  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise self._error(exc, f"customer {item.source_id}") from None

    def create(self, item: PushItem) -> str:
        """Create a customer with the golden id and values; return its `cus_...` id."""
        _customers_only(item)
        try:
            created = self.client.v1.customers.create(params=customer_params(item))  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise self._error(exc, f"new customer for {item.golden_id}") from None
        return str(created.id)

    def apply_audience(
        self,
        golden_id: str,
        source_id: str,
        audience: str,
        member: bool,
        fields: Mapping[str, Any],
    ) -> None:
        """Set the audience's metadata keys on customer `source_id` (one `Customer.modify`)."""
        params = {"metadata": audience_metadata(audience, member, fields)}
        try:
            self.client.v1.customers.update(source_id, params=params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise self._error(exc, f"customer {source_id}") from None

    def _error(self, exc: stripe.StripeError, what: str) -> WriteError:
        message = describe(exc, self.settings.api_base).replace("stripe: ", f"stripe: {what}: ", 1)
        if is_retriable(exc):
            return WriteError(message, retriable=True, retry_after=retry_after(exc))
        return WriteError(message)
