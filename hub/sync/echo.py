"""Recognising the hub's own writes when a sync reads them back (no ping-pong).

After a push, the next sync of that system reads the values the hub wrote. Such a record
is an *echo*: it is stored (the store mirrors the system) but counted as echoed, not as
updated, because nothing new happened in the system — the hub caused it.

The same holds for audience membership written by a `system` destination: a customer whose
contact data is unchanged and whose raw record differs only in the hub's audience marks
(keys `crmhub_audience_<audience>` / `crmhub_<audience>_<field>`, or a list such as Tryton's
party categories gaining or losing an audience's name) and modification stamps is an echo.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.clock import as_utc
from hub.store.tables import audience_cursors, audiences, customer_records, push_state, raw_records
from identity.contact import normalise_email
from identity.phones import normalise_phone
from schemas.customer import CUSTOMER_FIELDS

__all__ = ["echoes", "empty", "same_value"]

_COMPARED = tuple(f for f in CUSTOMER_FIELDS if f not in ("source", "source_id", "updated_at"))


def empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def same_value(name: str, a: Any, b: Any, country: str | None = None) -> bool:
    """Equal for a system's purposes: e-mails by normalised form, phones as E.164."""
    if empty(a) or empty(b):
        return empty(a) and empty(b)
    if name == "email":
        return normalise_email(str(a)) == normalise_email(str(b))
    if name == "phone":
        pa, pb = normalise_phone(str(a), country), normalise_phone(str(b), country)
        if pa and pb:
            return pa == pb
    return str(a).strip().casefold() == str(b).strip().casefold()


_VOLATILE = frozenset(
    {"modified", "updated", "updated_at", "modified_at", "write_date", "last_modified", "_sdc_"}
)


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def _payload_echo(
    old: Any, new: Any, golden_ids: Collection[str], names: Collection[str] = ()
) -> bool:
    """Only golden ids or audience marks the hub wrote (and the system's own modification
    stamps) differ."""
    a = _flat(json.loads(old) if isinstance(old, str) else old)
    b = _flat(json.loads(new) if isinstance(new, str) else new)
    differs = [k for k in a.keys() | b.keys() if a.get(k) != b.get(k)]
    ours = [
        k
        for k in differs
        if b.get(k) in golden_ids or (names and _audience_mark(k, a.get(k), b.get(k), names))
    ]
    stamps = [k for k in differs if k.rsplit(".", 1)[-1] in _VOLATILE]
    return bool(ours) and len(ours) + len(stamps) == len(differs)


def echoes(
    conn: Connection,
    source: str,
    changed: Mapping[str, Mapping[str, Any]],
    last_seen: Mapping[str, dt.datetime],
    payloads: Mapping[str, tuple[int, Any]] | None = None,
    customer_payloads: Mapping[str, tuple[int, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The source ids among the changed records whose change is only what the hub pushed to
    this system since the record was last read.

    `changed`: customer records, source id -> new canonical values (a change of contact
    data must equal what the hub wrote to that record). `payloads`: other records (e.g.
    support tickets carrying a contact's golden id), source id -> (raw row id, new payload):
    only golden ids the hub wrote and modification stamps may differ.

    `customer_payloads`: the changed customers' (raw row id, new payload), for audience
    marks written by a `system` destination.

    Returns source id -> canonical values to keep as they were: an echoed customer keeps
    its previous `updated_at`, so the hub's own write does not count as news downstream.
    """
    found = _audience_echoes(conn, source, changed, last_seen, customer_payloads or {})
    p = push_state.c
    last_push = conn.execute(
        sa.select(sa.func.max(p.written_at)).where(p.connector == source)
    ).scalar()
    if last_push is not None:
        found.update(_customer_echoes(conn, source, changed, last_seen))
    last_delivery = conn.execute(sa.select(sa.func.max(audience_cursors.c.delivered_at))).scalar()
    written = [as_utc(t) for t in (last_push, last_delivery) if t is not None]
    if not written:
        return found
    last_write = max(written)
    recent = {
        sid: item
        for sid, item in (payloads or {}).items()
        if sid in last_seen and last_write >= as_utc(last_seen[sid])
    }
    if recent:
        names = set(conn.execute(sa.select(audiences.c.name)).scalars())
        golden_ids = set(
            conn.execute(sa.select(p.golden_id).where(p.connector == source).distinct()).scalars()
        )
        t = raw_records.c
        old = dict(
            conn.execute(
                sa.select(t.id, t.payload).where(t.id.in_([pk for pk, _ in recent.values()]))
            ).all()
        )
        found.update(
            (sid, {})
            for sid, (pk, payload) in recent.items()
            if pk in old and _payload_echo(old[pk], payload, golden_ids, names)
        )
    return found


def _customer_echoes(
    conn: Connection,
    source: str,
    changed: Mapping[str, Mapping[str, Any]],
    last_seen: Mapping[str, dt.datetime],
) -> dict[str, dict[str, Any]]:
    if not changed:
        return {}
    p, c = push_state.c, customer_records.c
    ids = list(changed)
    written = {
        r.source_id: (r.written or {}, r.written_at)
        for r in conn.execute(
            sa.select(p.source_id, p.written, p.written_at).where(
                p.connector == source, p.source_id.in_(ids)
            )
        )
    }
    if not written:
        return {}
    old = {
        r.source_id: r
        for r in conn.execute(
            sa.select(customer_records).where(c.source == source, c.source_id.in_(list(written)))
        )
    }
    found: dict[str, dict[str, Any]] = {}
    for sid, (values, at) in written.items():
        seen = last_seen.get(sid)
        if sid not in old or seen is None or as_utc(at) < as_utc(seen):
            continue  # not written since the last read: a real change
        new, before = changed[sid], old[sid]
        country = new.get("country") or before.country
        differs = [
            f for f in _COMPARED if not same_value(f, new.get(f), getattr(before, f), country)
        ]
        if all(f in values and same_value(f, values[f], new.get(f), country) for f in differs):
            found[sid] = {"updated_at": before.updated_at}
    return found


def _audience_mark(key: str, old: Any, new: Any, names: Collection[str]) -> bool:
    """The difference at `key` is an audience mark of the hub: a metadata key named for an
    audience, or a list whose added and removed items are audience names."""
    last = key.rsplit(".", 1)[-1]
    if any(last == f"crmhub_audience_{n}" or last.startswith(f"crmhub_{n}_") for n in names):
        return True
    if last.endswith("crmhub_audiences"):  # a list of names in one text field (helpdesk)
        old = [v for v in str(old or "").split(",") if v and v != "-"]  # "-": none
        new = [v for v in str(new or "").split(",") if v and v != "-"]
    if isinstance(old, list | None) and isinstance(new, list | None):
        a, b = {str(v) for v in old or []}, {str(v) for v in new or []}
        return bool(a ^ b) and (a ^ b) <= set(names)
    return False


def _audience_echoes(
    conn: Connection,
    source: str,
    changed: Mapping[str, Mapping[str, Any]],
    last_seen: Mapping[str, dt.datetime],
    payloads: Mapping[str, tuple[int, Any]],
) -> dict[str, dict[str, Any]]:
    """Changed customers whose only change is audience marks the hub wrote since they were
    last read (a `system` destination delivered after that)."""
    last_delivery = conn.execute(sa.select(sa.func.max(audience_cursors.c.delivered_at))).scalar()
    if last_delivery is None or not payloads:
        return {}
    recent = {
        sid: item
        for sid, item in payloads.items()
        if sid in changed and sid in last_seen and as_utc(last_delivery) >= as_utc(last_seen[sid])
    }
    if not recent:
        return {}
    names = set(conn.execute(sa.select(audiences.c.name)).scalars())
    t, c = raw_records.c, customer_records.c
    pks = [pk for pk, _ in recent.values()]
    old_payloads = {
        pk: payload
        for pk, payload in conn.execute(sa.select(t.id, t.payload).where(t.id.in_(pks))).all()
    }
    before = {
        r.source_id: r
        for r in conn.execute(
            sa.select(customer_records).where(c.source == source, c.source_id.in_(list(recent)))
        )
    }
    found: dict[str, dict[str, Any]] = {}
    for sid, (pk, payload) in recent.items():
        if pk not in old_payloads or sid not in before:
            continue
        new, old = changed[sid], before[sid]
        country = new.get("country") or old.country
        if any(not same_value(f, new.get(f), getattr(old, f), country) for f in _COMPARED):
            continue  # contact data changed: news, whoever else wrote
        a = _flat(
            json.loads(old_payloads[pk]) if isinstance(old_payloads[pk], str) else old_payloads[pk]
        )
        b = _flat(json.loads(payload) if isinstance(payload, str) else payload)
        differs = [k for k in a.keys() | b.keys() if a.get(k) != b.get(k)]
        ours = [k for k in differs if _audience_mark(k, a.get(k), b.get(k), names)]
        stamps = [k for k in differs if k.rsplit(".", 1)[-1] in _VOLATILE]
        if ours and len(set(ours) | set(stamps)) == len(differs):
            found[sid] = {"updated_at": old.updated_at}
    return found
