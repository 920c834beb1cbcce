"""Tryton rows as Singer records: pure functions from what ``search_read`` returns.

Related records come from dotted field names (``contact_mechanisms.value``), which Tryton
answers as a list of dicts under ``contact_mechanisms.``; a many-to-one as a dict (or None)
under ``country.``. Timestamps become ISO 8601 UTC, amounts floats, dates ``YYYY-MM-DD``.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.tryton.client import TrytonSettings, iso_utc

__all__ = [
    "INVOICE_FIELDS",
    "PARTY_FIELDS",
    "SALE_FIELDS",
    "golden_id",
    "invoice_record",
    "party_kind",
    "party_record",
    "sale_record",
    "updated_at",
]

_STAMPS = ("create_date", "write_date")
PARTY_FIELDS: tuple[str, ...] = (
    "name",
    "code",
    "active",
    *_STAMPS,
    "categories.name",
    "contact_mechanisms.type",
    "contact_mechanisms.value",
    "contact_mechanisms.name",
    "contact_mechanisms.active",
    "addresses.street",
    "addresses.postal_code",
    "addresses.city",
    "addresses.country.code",
    "addresses.active",
    "identifiers.type",
    "identifiers.code",
    "tax_identifier.code",
)
_DOCUMENT_FIELDS: tuple[str, ...] = (
    "number",
    "reference",
    "description",
    "state",
    "party",
    "currency.code",
    "untaxed_amount",
    "tax_amount",
    "total_amount",
    *_STAMPS,
)
SALE_FIELDS: tuple[str, ...] = (*_DOCUMENT_FIELDS, "sale_date")
INVOICE_FIELDS: tuple[str, ...] = (*_DOCUMENT_FIELDS, "type", "invoice_date")


def _related(row: Mapping[str, Any], field: str) -> list[dict[str, Any]]:
    value = row.get(f"{field}.")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TypeError(f"{field}: expected a list of records, got {value!r}")
    return value


def _code(value: Any) -> str | None:
    """The ``code`` of a many-to-one read as ``field.code`` (None when unset)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"expected a related record, got {value!r}")
    code = value.get("code")
    return None if code is None else str(code)


def _text(value: Any) -> str | None:
    if value is None or value is False:
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r}")
    return value


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, decimal.Decimal | int | float) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"expected an amount, got {value!r}")


def _date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"expected a date, got {value!r}")


def updated_at(row: Mapping[str, Any]) -> str | None:
    """The replication value: ``write_date``, or ``create_date`` if never written."""
    return iso_utc(row.get("write_date") or row.get("create_date"))


def _stamps(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "create_date": iso_utc(row.get("create_date")),
        "write_date": iso_utc(row.get("write_date")),
        "updated_at": updated_at(row),
    }


def golden_id(identifiers: Sequence[Mapping[str, Any]], settings: TrytonSettings) -> str | None:
    """The crm-hub golden id among a party's identifiers (type and prefix as configured)."""
    prefix = settings.golden_id_prefix
    for identifier in identifiers:
        code = identifier.get("code") or ""
        if identifier.get("type") == settings.golden_id_type and code.startswith(prefix):
            return str(code[len(prefix) :]) or None
    return None


def party_kind(categories: Sequence[str], settings: TrytonSettings) -> str | None:
    """'person' or 'organization' from the party's categories, None if they do not say.

    Tryton's party module has no person/company flag; sites that tell them apart do it
    with categories, whose names are configurable.
    """
    names = {name.casefold() for name in categories}
    if names & {name.casefold() for name in settings.organization_categories}:
        return "organization"
    if names & {name.casefold() for name in settings.person_categories}:
        return "person"
    return None


def _first(items: Sequence[Mapping[str, Any]], key: str, *values: str) -> Any:
    for item in items:
        if item.get(key) in values and item.get("active", True):
            return item
    return None


def party_record(row: Mapping[str, Any], settings: TrytonSettings) -> dict[str, Any]:
    """One party: names, kind, contact mechanisms, addresses, identifiers, golden id."""
    mechanisms = [
        {
            "id": int(item["id"]),
            "type": _text(item.get("type")),
            "value": _text(item.get("value")),
            "name": _text(item.get("name")),
            "active": bool(item.get("active", True)),
        }
        for item in _related(row, "contact_mechanisms")
    ]
    addresses = [
        {
            "id": int(item["id"]),
            "street": _text(item.get("street")),
            "postal_code": _text(item.get("postal_code")),
            "city": _text(item.get("city")),
            "country": _code(item.get("country.")),
            "active": bool(item.get("active", True)),
        }
        for item in _related(row, "addresses")
    ]
    identifiers = [
        {"id": int(item["id"]), "type": _text(item.get("type")), "code": _text(item.get("code"))}
        for item in _related(row, "identifiers")
    ]
    categories = [str(item.get("name")) for item in _related(row, "categories")]
    name = _text(row.get("name"))
    kind = party_kind(categories, settings)
    address = next((a for a in addresses if a["active"]), None) or {}

    def first_value(*types: str) -> str | None:
        found = _first(mechanisms, "type", *types)
        return None if found is None else found["value"]

    return {
        **_stamps(row),
        "name": name,
        "code": _text(row.get("code")),
        "active": bool(row.get("active", True)),
        "kind": kind,
        "person_name": name if kind != "organization" else None,
        "organization_name": name if kind == "organization" else None,
        "email": first_value("email"),
        "phone": first_value("phone"),
        "mobile": first_value("mobile"),
        "street": address.get("street"),
        "postal_code": address.get("postal_code"),
        "city": address.get("city"),
        "country": address.get("country"),
        "tax_id": _code(row.get("tax_identifier.")),
        "crmhub_golden_id": golden_id(identifiers, settings),
        "categories": categories,
        "contact_mechanisms": mechanisms,
        "addresses": addresses,
        "identifiers": identifiers,
    }


def _document(row: Mapping[str, Any], model: str, date_field: str) -> dict[str, Any]:
    party = row.get("party")
    if party is not None and (isinstance(party, bool) or not isinstance(party, int)):
        raise TypeError(f"party: expected a record id, got {party!r}")
    record = {
        **_stamps(row),
        "record_ref": f"{model},{int(row['id'])}",
        "number": _text(row.get("number")),
        "reference": _text(row.get("reference")),
        "description": _text(row.get("description")),
        "state": _text(row.get("state")),
        "party_id": party,
        "currency": _code(row.get("currency.")),
        "untaxed_amount": _number(row.get("untaxed_amount")),
        "tax_amount": _number(row.get("tax_amount")),
        "total_amount": _number(row.get("total_amount")),
        date_field: _date(row.get(date_field)),
    }
    record["occurred_at"] = record[date_field] or record["create_date"]
    return record


def sale_record(row: Mapping[str, Any], settings: TrytonSettings) -> dict[str, Any]:
    """One sale order; ``occurred_at`` is the sale date, or its creation while a draft."""
    return _document(row, "sale.sale", "sale_date")


def invoice_record(row: Mapping[str, Any], settings: TrytonSettings) -> dict[str, Any]:
    """One invoice (``type`` out: customer, in: supplier); ``occurred_at`` as for sales."""
    return {**_document(row, "account.invoice", "invoice_date"), "type": _text(row.get("type"))}
