"""Interactions the hub records itself (source `hub`): logged calls, visits, notes, outcomes.

Every other interaction reaches its golden record through the crosswalk, by
`(source, customer_source_id)`. The hub holds no customer records of its own, so an
interaction it records names its customer by one *member* of the golden record — a source
record, written `source/source_id` in `customer_source_id` — and reaches the golden record
through that member's crosswalk row. A merge, an unmerge or a re-resolve moves the member,
and the logged call moves with it, exactly as the member's orders and tickets do: no stored
golden id goes stale, and resolve needs to know nothing about logged contacts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.clock import now
from hub.store.database import canonical_json
from hub.store.tables import crosswalk, customer_records, interactions
from schemas.interaction import Interaction

__all__ = [
    "HUB_SOURCE",
    "anchor_member",
    "golden_ids_of",
    "member_key",
    "parse_member_key",
    "write_hub_interaction",
]

HUB_SOURCE = "hub"
"""The `source` of the interactions the hub records itself."""
STREAM = "contacts"
_CHUNK = 500


def member_key(source: str, source_id: str) -> str:
    """A source record as `customer_source_id` of a hub interaction: `erp/1001`."""
    return f"{source}/{source_id}"


def parse_member_key(text: str | None) -> tuple[str, str] | None:
    """`erp/1001` -> ("erp", "1001"); None for anything else (connector names have no `/`;
    a source id may)."""
    source, slash, source_id = (text or "").partition("/")
    return (source, source_id) if slash and source and source_id else None


def anchor_member(conn: Connection, golden_id: str) -> str | None:
    """The member a hub interaction about `golden_id` is filed under: its longest-standing
    live source record (earliest in the crosswalk), the one least likely to be moved out."""
    x, c = crosswalk.c, customer_records.c
    row = conn.execute(
        sa.select(x.source, x.source_id)
        .join(
            customer_records,
            sa.and_(c.source == x.source, c.source_id == x.source_id),
            isouter=True,
        )
        .where(x.golden_id == golden_id)
        .order_by(sa.func.coalesce(c.deleted, False), x.assigned_at, x.source, x.source_id)
        .limit(1)
    ).first()
    return None if row is None else member_key(row.source, row.source_id)


def golden_ids_of(conn: Connection, keys: Iterable[str]) -> dict[str, str]:
    """The golden id each member key (`erp/1001`) is in now; keys of records in no golden
    record are left out. One primary-key search per source and chunk: SQLite reads a
    `(source, source_id) IN (...)` of row values by scanning the whole crosswalk."""
    by_source: dict[str, set[str]] = {}
    for key in set(keys):
        parsed = parse_member_key(key)
        if parsed is not None:
            by_source.setdefault(parsed[0], set()).add(parsed[1])
    found: dict[str, str] = {}
    x = crosswalk.c
    for source, ids in sorted(by_source.items()):
        wanted = sorted(ids)
        for start in range(0, len(wanted), _CHUNK):
            rows = conn.execute(
                sa.select(x.source_id, x.golden_id).where(
                    x.source == source, x.source_id.in_(wanted[start : start + _CHUNK])
                )
            )
            for row in rows:
                found[member_key(source, row.source_id)] = row.golden_id
    return found


def write_hub_interaction(
    conn: Connection,
    *,
    member: str,
    kind: str,
    occurred_at: dt.datetime,
    subject: str,
    status: str | None,
    channel: str | None,
    extra: Mapping[str, Any],
) -> str:
    """Append one interaction of source `hub` (validated by the canonical model) filed under
    `member`; returns its id, `hub/<uuid>`."""
    source_id = str(uuid.uuid4())
    record = Interaction(
        source=HUB_SOURCE,
        source_id=source_id,
        customer_source_id=member,
        type=kind,  # type: ignore[arg-type]  # validated into InteractionType
        occurred_at=occurred_at,
        subject=subject,
        status=status,
        channel=channel,
    )
    values = record.model_dump(mode="python")
    stored_extra = dict(extra)
    digest = hashlib.sha256(canonical_json({**values, "extra": stored_extra})).hexdigest()
    conn.execute(
        interactions.insert().values(
            **values,
            stream=STREAM,
            extra=stored_extra,
            content_hash=digest,
            loaded_at=now(),
            deleted=False,
        )
    )
    return member_key(HUB_SOURCE, source_id)
