"""Writing one batch of synced records into the store, inside the caller's transaction.

Raw records are upserted on (source, stream, source_id); a record whose content hash and
mapping are unchanged is not written again. Changed records refresh their canonical row
(customer or interaction). Bad records land in quarantine, de-duplicated by their raw text.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.clock import now
from hub.store.tables import customer_records, interactions, quarantine, raw_records
from hub.sync.echo import echoes

__all__ = [
    "IncomingRecord",
    "QuarantinedRecord",
    "WriteCounts",
    "insert_many",
    "mark_missing_deleted",
    "write_batch",
]

_CHUNK = 500
_CANONICAL = {"customer": customer_records, "interaction": interactions}


@dataclass(frozen=True, slots=True)
class IncomingRecord:
    """A record that passed parsing and schema checks, ready to store."""

    stream: str
    source_id: str
    payload: dict[str, Any] | str  # a dict, or JSONText serialised once for hashing
    content_hash: str
    mapping_hash: str
    entity: str  # customer | interaction | raw
    canonical: dict[str, Any] | None  # the canonical row's columns; None for raw streams


@dataclass(frozen=True, slots=True)
class QuarantinedRecord:
    """A record that could not be taken, with the reason and its raw text."""

    stream: str
    source_id: str | None
    stage: str  # parse | schema | identity | mapping | protocol
    reason: str
    location: str | None
    raw: str


@dataclass(slots=True)
class WriteCounts:
    """What a sync did to the store."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    echoed: int = 0  # changed only by the hub's own push-back (see hub.sync.echo)
    quarantined: int = 0
    deleted: int = 0

    def add(self, other: WriteCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def insert_many(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """`executemany` an INSERT with bind processors resolved once, not once per row.

    The hot path of an initial load: SQLAlchemy's generic per-row parameter processing
    costs more than the database's own work. Every row must carry the same keys.
    """
    if not rows:
        return
    dialect = conn.dialect
    compiled = table.insert().compile(dialect=dialect, column_keys=list(rows[0]))
    names: list[str] = list(compiled.positiontup or []) if compiled.positional else []
    if not compiled.positional:
        names = [key for key in compiled.binds if key in table.c]
    specs = []
    for name in names:
        column = table.c[name]
        processor = column.type.dialect_impl(dialect).bind_processor(dialect)
        default = column.default.arg if isinstance(column.default, sa.ColumnDefault) else None
        specs.append((name, processor, default))
    params: list[Any] = []
    for row in rows:
        values = []
        for name, processor, default in specs:
            value = row.get(name, default)
            values.append(
                processor(value) if processor is not None and value is not None else value
            )
        params.append(
            tuple(values) if compiled.positional else dict(zip(names, values, strict=True))
        )
    conn.exec_driver_sql(compiled.string, params)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def write_batch(
    conn: Connection,
    *,
    source: str,
    run_id: int,
    records: Iterable[IncomingRecord],
    quarantined: Iterable[QuarantinedRecord] = (),
    full_table_streams: frozenset[str] = frozenset(),
) -> WriteCounts:
    """Upsert a batch; returns the counts. All writes use the caller's transaction."""
    counts = WriteCounts()
    by_stream: dict[str, dict[str, IncomingRecord]] = defaultdict(dict)
    for rec in records:
        by_stream[rec.stream][rec.source_id] = rec  # the last version within a batch wins
    stamp = now()
    for stream, batch in by_stream.items():
        counts.add(
            _write_stream(conn, source, stream, run_id, batch, stream in full_table_streams, stamp)
        )
    counts.quarantined += _write_quarantine(conn, source, run_id, list(quarantined), stamp)
    return counts


def _write_stream(
    conn: Connection,
    source: str,
    stream: str,
    run_id: int,
    batch: dict[str, IncomingRecord],
    full_table: bool,
    stamp: Any,
) -> WriteCounts:
    t = raw_records.c
    existing: dict[str, tuple[int, str, str, bool]] = {}
    last_seen: dict[str, Any] = {}
    for ids in _chunks(list(batch)):
        query = sa.select(
            t.source_id, t.id, t.content_hash, t.mapping_hash, t.deleted, t.last_seen_at
        ).where(t.source == source, t.stream == stream, t.source_id.in_(ids))
        for sid, pk, chash, mhash, deleted, seen in conn.execute(query):
            existing[sid] = (pk, chash, mhash, deleted)
            last_seen[sid] = seen

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    seen_pks: list[dict[str, Any]] = []
    changed: list[IncomingRecord] = []
    for sid, rec in batch.items():
        old = existing.get(sid)
        if old is None:
            inserts.append(
                {
                    "source": source,
                    "stream": stream,
                    "source_id": sid,
                    "payload": rec.payload,
                    "content_hash": rec.content_hash,
                    "mapping_hash": rec.mapping_hash,
                    "first_seen_at": stamp,
                    "last_seen_at": stamp,
                    "last_seen_run_id": run_id,
                    "changed_run_id": run_id,
                    "deleted": False,
                }
            )
            changed.append(rec)
        elif old[1] != rec.content_hash or old[2] != rec.mapping_hash or old[3]:
            updates.append(
                {
                    "pk": old[0],
                    "payload": rec.payload,
                    "content_hash": rec.content_hash,
                    "mapping_hash": rec.mapping_hash,
                    "last_seen_at": stamp,
                    "last_seen_run_id": run_id,
                    "changed_run_id": run_id,
                }
            )
            changed.append(rec)
        elif full_table:
            seen_pks.append({"pk": old[0], "last_seen_at": stamp, "last_seen_run_id": run_id})

    updated_ids = {r.source_id for r in changed if r.source_id in existing}
    echoed = echoes(  # before the raw rows are overwritten: it compares old and new
        conn,
        source,
        {
            r.source_id: r.canonical
            for r in changed
            if r.entity == "customer" and r.canonical is not None and r.source_id in updated_ids
        },
        last_seen,
        {
            r.source_id: (existing[r.source_id][0], r.payload)
            for r in changed
            if r.entity != "customer" and r.source_id in updated_ids
        },
    )
    for rec in changed:
        if rec.source_id in echoed and rec.canonical is not None:
            rec.canonical.update(echoed[rec.source_id])
    insert_many(conn, raw_records, inserts)
    if updates:
        conn.execute(
            raw_records.update()
            .where(t.id == sa.bindparam("pk"))
            .values(
                payload=sa.bindparam("payload"),
                content_hash=sa.bindparam("content_hash"),
                mapping_hash=sa.bindparam("mapping_hash"),
                last_seen_at=sa.bindparam("last_seen_at"),
                last_seen_run_id=sa.bindparam("last_seen_run_id"),
                changed_run_id=sa.bindparam("changed_run_id"),
                deleted=False,
                deleted_at=None,
            ),
            updates,
        )
    if seen_pks:  # full-table streams: remember what is still there, for delete detection
        conn.execute(
            raw_records.update()
            .where(t.id == sa.bindparam("pk"))
            .values(
                last_seen_at=sa.bindparam("last_seen_at"),
                last_seen_run_id=sa.bindparam("last_seen_run_id"),
            ),
            seen_pks,
        )
    _write_canonical(conn, source, changed, stamp)
    taken = [r.source_id for r in changed if r.entity == "raw" or r.canonical is not None]
    _resolve_quarantine(conn, source, stream, taken, stamp)
    return WriteCounts(
        inserted=len(inserts),
        updated=len(updates) - len(echoed),
        unchanged=len(batch) - len(changed),
        echoed=len(echoed),
    )


def _write_canonical(
    conn: Connection, source: str, changed: list[IncomingRecord], stamp: Any
) -> None:
    for entity, table in _CANONICAL.items():
        rows = {
            r.canonical["source_id"]: r
            for r in changed
            if r.entity == entity and r.canonical is not None
        }
        if not rows:
            continue
        present: set[str] = set()
        for ids in _chunks(list(rows)):
            present.update(
                conn.execute(
                    sa.select(table.c.source_id).where(
                        table.c.source == source, table.c.source_id.in_(ids)
                    )
                ).scalars()
            )
        values = [
            {
                **(r.canonical or {}),
                "source": source,
                "source_id": sid,
                "stream": r.stream,
                "content_hash": r.content_hash,
                "loaded_at": stamp,
                "deleted": False,
            }
            for sid, r in rows.items()
        ]
        new = [v for v in values if v["source_id"] not in present]
        old = [{**v, "key_source_id": v["source_id"]} for v in values if v["source_id"] in present]
        insert_many(conn, table, new)
        if old:
            columns = [c for c in old[0] if c not in ("source", "source_id", "key_source_id")]
            conn.execute(
                table.update()
                .where(table.c.source == source, table.c.source_id == sa.bindparam("key_source_id"))
                .values({c: sa.bindparam(c) for c in columns}),
                old,
            )


def _resolve_quarantine(
    conn: Connection, source: str, stream: str, source_ids: list[str], stamp: Any
) -> None:
    q = quarantine.c
    for ids in _chunks(source_ids):
        conn.execute(
            quarantine.update()
            .where(
                q.source == source,
                q.stream == stream,
                q.resolved_at.is_(None),
                q.source_id.in_(ids),
            )
            .values(resolved_at=stamp)
        )


def _write_quarantine(
    conn: Connection, source: str, run_id: int, items: list[QuarantinedRecord], stamp: Any
) -> int:
    if not items:
        return 0
    q = quarantine.c
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        raw_hash = hashlib.sha256(f"{item.stage}\0{item.raw}".encode()).hexdigest()
        rows[(item.stream, raw_hash)] = {
            "source": source,
            "stream": item.stream,
            "source_id": item.source_id,
            "stage": item.stage,
            "reason": item.reason,
            "location": item.location,
            "raw": item.raw,
            "raw_hash": raw_hash,
            "first_run_id": run_id,
            "last_run_id": run_id,
            "created_at": stamp,
            "resolved_at": None,
        }
    known: set[tuple[str, str]] = set()
    hashes = [h for _, h in rows]
    for chunk in _chunks(hashes):
        known.update(
            (s, h)
            for s, h in conn.execute(
                sa.select(q.stream, q.raw_hash).where(q.source == source, q.raw_hash.in_(chunk))
            )
        )
    fresh = [row for key, row in rows.items() if key not in known]
    if fresh:
        conn.execute(quarantine.insert(), fresh)
    again = [{"k_stream": s, "k_hash": h} for (s, h) in rows if (s, h) in known]
    if again:  # the same bad record seen again: keep one row, note the run, reopen it
        conn.execute(
            quarantine.update()
            .where(
                q.source == source,
                q.stream == sa.bindparam("k_stream"),
                q.raw_hash == sa.bindparam("k_hash"),
            )
            .values(last_run_id=run_id, resolved_at=None),
            again,
        )
    return len(rows)


def mark_missing_deleted(conn: Connection, *, source: str, stream: str, run_id: int) -> int:
    """After a complete full-table read: flag records the source no longer has."""
    t = raw_records.c
    gone = sa.and_(
        t.source == source, t.stream == stream, t.last_seen_run_id < run_id, t.deleted.is_(False)
    )
    stamp = now()
    count = conn.execute(raw_records.update().where(gone).values(deleted=True, deleted_at=stamp))
    deleted_ids = sa.select(t.source_id).where(
        t.source == source, t.stream == stream, t.deleted.is_(True)
    )
    for table in _CANONICAL.values():
        conn.execute(
            table.update()
            .where(
                table.c.source == source,
                table.c.stream == stream,
                table.c.deleted.is_(False),
                table.c.source_id.in_(deleted_ids),
            )
            .values(deleted=True)
        )
    return int(count.rowcount or 0)
