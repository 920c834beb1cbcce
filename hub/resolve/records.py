"""What a store resolution reads: the live customer records, the stewards' pair decisions
and field overrides, and a digest of each record's identifying data."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.states import Decision
from hub.store.database import canonical_json
from hub.store.tables import customer_records, golden_overrides, steward_decisions
from identity.resolve import Key
from identity.survivorship import Override
from schemas.customer import CUSTOMER_FIELDS

__all__ = [
    "CONSTRAINING",
    "Pair",
    "identifying_hash",
    "latest_decisions",
    "load_customer_records",
    "load_overrides",
    "records_by_id",
    "stream_customer_records",
]

CONSTRAINING = (Decision.MATCH, Decision.NO_MATCH, Decision.RESET)
"""Decisions that set or withdraw a pair's constraint; the latest per pair wins. (`unsure`
and `skip` are recorded too but leave the constraint as it was.)"""
_NOT_IDENTIFYING = frozenset({"source", "source_id", "updated_at"})
_CHUNK = 500

Pair = tuple[Key, Key]


def _as_record(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    """A customer_records row as a CustomerRecord dict (extras included)."""
    record = dict(mapping)
    extra = record.pop("extra") or {}
    if record["updated_at"] is not None:
        record["updated_at"] = record["updated_at"].isoformat()
    return {**extra, **record}


def load_customer_records(
    conn: Connection, keys: Collection[Key] | None = None
) -> list[dict[str, Any]]:
    """The live canonical customer records as CustomerRecord dicts (extras included);
    all of them, or those with the given (source, source_id) keys."""
    c = customer_records.c
    columns = [c[name] for name in CUSTOMER_FIELDS]
    query = sa.select(*columns, c.extra).where(c.deleted.is_(False))
    if keys is not None:
        # the plain INs let SQLite use the (source, source_id) index: a row-value IN alone
        # scanned every record (90 ms of a review page at 1M golden records)
        wanted = list(keys)
        query = query.where(
            c.source.in_(sorted({k[0] for k in wanted})),
            c.source_id.in_(sorted({k[1] for k in wanted})),
            sa.tuple_(c.source, c.source_id).in_(wanted),
        )
    rows = conn.execute(query.order_by(c.source, c.source_id))
    # plain str keys, not SQLAlchemy's quoted_name: orjson (the Spark engine's records
    # stage and its checkpoints' fingerprint) refuses str subclasses as keys
    names = [str(name) for name in rows.keys()]  # noqa: SIM118 — a Result, not a dict
    return [_as_record(dict(zip(names, row, strict=True))) for row in rows]


def stream_customer_records(
    conn: Connection, batch_rows: int = 50_000
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """The live records of `load_customer_records`, in its order, as batches of
    (customer_records.id, record): at most `batch_rows` records are held at a time."""
    c = customer_records.c
    columns = [c[name] for name in CUSTOMER_FIELDS]
    query = sa.select(c.id, *columns, c.extra).where(c.deleted.is_(False))
    result = conn.execute(
        query.order_by(c.source, c.source_id).execution_options(yield_per=batch_rows)
    )
    names = [str(name) for name in result.keys()]  # noqa: SIM118 — a Result, not a dict
    for rows in result.partitions():
        batch = []
        for row in rows:
            values = dict(zip(names, row, strict=True))
            batch.append((int(values.pop("id")), _as_record(values)))
        yield batch


def records_by_id(conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The live customer records with these `customer_records.id`s, by id."""
    c = customer_records.c
    columns = [c[name] for name in CUSTOMER_FIELDS]
    wanted = sorted({int(i) for i in ids})
    out: dict[int, dict[str, Any]] = {}
    for at in range(0, len(wanted), _CHUNK):
        query = sa.select(c.id, *columns, c.extra).where(
            c.id.in_(wanted[at : at + _CHUNK]), c.deleted.is_(False)
        )
        result = conn.execute(query)
        names = list(result.keys())
        for row in result:
            values = dict(zip(names, row, strict=True))
            out[int(values.pop("id"))] = _as_record(values)
    return out


def latest_decisions(conn: Connection) -> dict[Pair, str]:
    """The latest constraining decision per pair (keys sorted): match, no_match or reset."""
    d = steward_decisions.c
    latest: dict[Pair, str] = {}
    for row in conn.execute(
        sa.select(d.left_source, d.left_source_id, d.right_source, d.right_source_id, d.decision)
        .where(d.decision.in_(CONSTRAINING))
        .order_by(d.id)
    ):
        a, b = sorted(
            [(row.left_source, row.left_source_id), (row.right_source, row.right_source_id)]
        )
        latest[(a, b)] = str(row.decision)
    return latest


def identifying_hash(record: Mapping[str, Any]) -> str:
    """Digest of a record's identifying data: a decided pair is asked again when it changes."""
    values = {f: record.get(f) for f in CUSTOMER_FIELDS if f not in _NOT_IDENTIFYING}
    return hashlib.sha256(canonical_json(values)).hexdigest()


def load_overrides(
    conn: Connection, golden_ids: Collection[str] | None = None
) -> dict[str, dict[str, Override]]:
    """Stewards' field overrides in force: the latest row per golden id and field (of all
    golden records, or of these)."""
    o = golden_overrides.c
    found: dict[str, dict[str, Override]] = {}
    queries = [sa.select(golden_overrides).order_by(o.id)]
    if golden_ids is not None:
        wanted = sorted(set(golden_ids))
        queries = [
            sa.select(golden_overrides)
            .where(o.golden_id.in_(wanted[at : at + _CHUNK]))
            .order_by(o.id)
            for at in range(0, len(wanted), _CHUNK)
        ]
    for query in queries:
        for row in conn.execute(query):
            fields = found.setdefault(row.golden_id, {})
            if row.cleared:
                fields.pop(row.field, None)
            else:
                fields[row.field] = (row.value, row.by, row.at)
    return {gid: fields for gid, fields in found.items() if fields}
