"""Segment messages as hub records: pure functions from stored events to Singer records.

* :func:`classify` — what a track/page/screen event means for the hub: its ``kind``
  (``web_visit``, ``signup``, ``purchase``, ``web_event``) and the canonical interaction
  ``type`` it maps onto (``order`` for purchases, ``web_event`` otherwise).
* :func:`interaction_record` — one event as an ``events`` record.
* :func:`user_record` — a user's identify calls, traits merged oldest to newest, as one
  ``users`` record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "PURCHASE_EVENTS",
    "SIGNUP_EVENTS",
    "classify",
    "event_key",
    "interaction_record",
    "merge_traits",
    "number",
    "user_record",
]

SIGNUP_EVENTS = frozenset({"signedup", "signup", "accountcreated", "registered"})
PURCHASE_EVENTS = frozenset({"ordercompleted", "purchase", "purchased"})


def event_key(name: str | None) -> str:
    """An event name reduced to lower-case letters and digits: "Signed Up" -> "signedup"."""
    return re.sub(r"[^a-z0-9]", "", (name or "").lower())


def classify(message_type: str, event: str | None) -> tuple[str, str]:
    """(kind, canonical interaction type) of one track/page/screen event."""
    if message_type in ("page", "screen"):
        return "web_visit", "web_event"
    key = event_key(event)
    if key in SIGNUP_EVENTS:
        return "signup", "web_event"
    if key in PURCHASE_EVENTS:
        return "purchase", "order"
    return "web_event", "web_event"


def number(value: Any) -> float | None:
    """A JSON number or numeric text as a float; anything else None (kept in properties)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def interaction_record(
    row: Mapping[Any, Any], message: Mapping[str, Any], *, customer: str | None, cursor: int
) -> dict[str, Any]:
    """One stored track/page/screen event as an ``events`` record.

    ``customer`` is the userId the event belongs to (its own, or stitched through its
    anonymousId); ``cursor`` the event-store position it is emitted for.
    """
    properties = message.get("properties")
    props: dict[str, Any] = dict(properties) if isinstance(properties, Mapping) else {}
    context = message.get("context")
    page = context.get("page") if isinstance(context, Mapping) else None
    page_info: Mapping[str, Any] = page if isinstance(page, Mapping) else {}
    kind, interaction_type = classify(str(row["type"]), row["event"])
    revenue = number(props.get("revenue"))
    if revenue is None:
        revenue = number(props.get("total"))
    currency = _text(props.get("currency"))
    return {
        "message_id": row["message_id"],
        "seq": row["seq"],
        "cursor": cursor,
        "event_type": row["type"],
        "event": row["event"],
        "kind": kind,
        "interaction_type": interaction_type,
        "user_id": row["user_id"],
        "anonymous_id": row["anonymous_id"],
        "customer_source_id": customer,
        "stitched": customer is not None and row["user_id"] is None,
        "timestamp": row["timestamp"],
        "revenue": revenue,
        "currency": currency.upper() if currency else None,
        "url": _text(props.get("url")) or _text(page_info.get("url")),
        "path": _text(props.get("path")) or _text(page_info.get("path")),
        "title": _text(props.get("title")) or _text(page_info.get("title")),
        "referrer": _text(props.get("referrer")) or _text(page_info.get("referrer")),
        "properties": props,
    }


def merge_traits(traits: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Traits of successive identify calls, later values winning; nulls do not erase."""
    merged: dict[str, Any] = {}
    for one in traits:
        merged.update({key: value for key, value in one.items() if value is not None})
    return merged


def _first(traits: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = _text(traits.get(name))
        if value is not None:
            return value
    return None


def user_record(
    user_id: str, seq: int, updated_at: str, traits: Mapping[str, Any]
) -> dict[str, Any]:
    """One ``users`` record from a user's merged identify traits (Segment's reserved names)."""
    address = traits.get("address")
    addr: Mapping[str, Any] = address if isinstance(address, Mapping) else {}
    street = _text(address) if isinstance(address, str) else _first(addr, "street", "line1")
    return {
        "user_id": user_id,
        "seq": seq,
        "updated_at": updated_at,
        "email": _first(traits, "email"),
        "name": _first(traits, "name"),
        "first_name": _first(traits, "firstName", "first_name"),
        "last_name": _first(traits, "lastName", "last_name"),
        "phone": _first(traits, "phone"),
        "street": street,
        "city": _first(addr, "city"),
        "postal_code": _first(addr, "postalCode", "postal_code", "zip"),
        "state": _first(addr, "state"),
        "country": _first(addr, "country"),
        "created_at": _first(traits, "createdAt", "created_at"),
        "traits": dict(traits),
    }
