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
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.clock import now
from hub.store.database import JSONText
from hub.store.tables import customer_records, interactions, quarantine, raw_records
from hub.store.upsert import upsert, upsert_columns
from hub.sync.echo import echoes

if TYPE_CHECKING:  # handover imports this module
    from hub.sync.handover import StreamColumns

__all__ = [
    "IncomingRecord",
    "QuarantinedRecord",
    "WriteCounts",
    "mark_deleted",
    "mark_missing_deleted",
    "write_batch",
    "write_streams",
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
    deleted: Iterable[tuple[str, str]] = (),
) -> WriteCounts:
    """Upsert a batch and flag the (stream, source id)s the source deleted; returns the
    counts. All writes use the caller's transaction."""
    return write_streams(
        conn,
        source=source,
        run_id=run_id,
        streams=[list(records)],
        quarantined=quarantined,
        full_table_streams=full_table_streams,
        deleted=deleted,
    )


def write_streams(
    conn: Connection,
    *,
    source: str,
    run_id: int,
    streams: Sequence[StreamColumns | Sequence[IncomingRecord]],
    quarantined: Iterable[QuarantinedRecord] = (),
    full_table_streams: frozenset[str] = frozenset(),
    deleted: Iterable[tuple[str, str]] = (),
) -> WriteCounts:
    """`write_batch` of a batch whose streams come as columns (`hub.sync.handover`, each a
    stream of its own) or as records: the same writes, in the same order."""
    from hub.sync.handover import StreamColumns

    counts = WriteCounts()
    by_stream: dict[str, dict[str, IncomingRecord] | StreamColumns] = {}
    for part in streams:
        if isinstance(part, StreamColumns):
            by_stream[part.stream] = part
            continue
        for rec in part:  # the last version within a batch wins
            found = by_stream.setdefault(rec.stream, {})
            assert isinstance(found, dict), "a stream comes as columns or records, not both"
            found[rec.source_id] = rec
    stamp = now()
    for stream, batch in by_stream.items():
        full = stream in full_table_streams
        if isinstance(batch, StreamColumns):
            counts.add(_write_columns(conn, source, run_id, batch, full, stamp))
        else:
            counts.add(_write_stream(conn, source, stream, run_id, batch, full, stamp))
    counts.quarantined += _write_quarantine(conn, source, run_id, list(quarantined), stamp)
    gone: dict[str, list[str]] = defaultdict(list)
    for stream, source_id in deleted:
        gone[stream].append(source_id)
    for stream, source_ids in gone.items():
        counts.deleted += mark_deleted(conn, source=source, stream=stream, source_ids=source_ids)
    return counts


def mark_deleted(conn: Connection, *, source: str, stream: str, source_ids: Sequence[str]) -> int:
    """Flag these records deleted, as the source says (log-based replication); returns how
    many were live. An id the hub never stored is nothing to delete."""
    t = raw_records.c
    stamp = now()
    count = 0
    for chunk in _chunks(sorted(set(source_ids))):
        ids = list(chunk)
        result = conn.execute(
            raw_records.update()
            .where(
                t.source == source,
                t.stream == stream,
                t.source_id.in_(ids),
                t.deleted.is_(False),
            )
            .values(deleted=True, deleted_at=stamp)
        )
        count += int(result.rowcount or 0)
        _flag_canonical(conn, source, stream, ids, stamp)
    return count


def _flag_canonical(
    conn: Connection, source: str, stream: str, source_ids: Any, stamp: Any
) -> None:
    """Flag the canonical rows of these source ids (a list or a subquery) deleted, stamped
    so that an incremental resolve sees it."""
    for table in _CANONICAL.values():
        conn.execute(
            table.update()
            .where(
                table.c.source == source,
                table.c.stream == stream,
                table.c.deleted.is_(False),
                table.c.source_id.in_(source_ids),
            )
            .values(deleted=True, loaded_at=stamp)
        )


_RAW_KEY = ("source", "stream", "source_id")
_RAW_REWRITTEN = (  # a changed record keeps its id and first_seen_at
    "payload",
    "content_hash",
    "mapping_hash",
    "last_seen_at",
    "last_seen_run_id",
    "changed_run_id",
    "deleted",
    "deleted_at",
)


def _stored(conn: Connection, source: str, stream: str, source_ids: list[str]) -> dict[str, Any]:
    """The stored raw rows of these records (id, hashes, deleted, last seen), by source id."""
    t = raw_records.c
    columns = (t.source_id, t.id, t.content_hash, t.mapping_hash, t.deleted, t.last_seen_at)
    found: dict[str, Any] = {}
    if conn.dialect.name == "sqlite":  # the whole id list as one JSON parameter
        ids = sa.func.json_each(sa.bindparam("ids", type_=sa.String)).table_valued("value")
        query = sa.select(*columns).where(
            t.source == source, t.stream == stream, t.source_id.in_(sa.select(ids.c.value))
        )
        rows = conn.execute(query, {"ids": orjson.dumps(source_ids).decode()})
        found.update((row.source_id, row) for row in rows)
        return found
    query = sa.select(*columns).where(  # one statement, its id list bound as a parameter
        t.source == source, t.stream == stream, t.source_id.in_(sa.bindparam("ids", expanding=True))
    )
    for chunk in _chunks(source_ids):
        found.update((row.source_id, row) for row in conn.execute(query, {"ids": list(chunk)}))
    return found


def _is_new_or_changed(old: Any, rec: IncomingRecord) -> bool:
    return (
        old is None
        or old.content_hash != rec.content_hash
        or old.mapping_hash != rec.mapping_hash
        or bool(old.deleted)
    )


def _write_stream(
    conn: Connection,
    source: str,
    stream: str,
    run_id: int,
    batch: dict[str, IncomingRecord],
    full_table: bool,
    stamp: Any,
) -> WriteCounts:
    stored = _stored(conn, source, stream, list(batch))
    changed = [rec for sid, rec in batch.items() if _is_new_or_changed(stored.get(sid), rec)]
    updated = [rec for rec in changed if rec.source_id in stored]
    echoed = echoes(  # before the raw rows are overwritten: it compares old and new
        conn,
        source,
        {
            r.source_id: r.canonical
            for r in updated
            if r.entity == "customer" and r.canonical is not None
        },
        {sid: row.last_seen_at for sid, row in stored.items()},
        {
            r.source_id: (stored[r.source_id].id, r.payload)
            for r in updated
            if r.entity != "customer"
        },
        {  # audience marks of a `system` destination
            r.source_id: (stored[r.source_id].id, r.payload)
            for r in updated
            if r.entity == "customer" and r.canonical is not None
        },
    )
    for rec in changed:
        if rec.source_id in echoed and rec.canonical is not None:
            rec.canonical.update(echoed[rec.source_id])
    upsert(
        conn,
        raw_records,
        [
            {
                "source_id": rec.source_id,
                "payload": rec.payload,
                "content_hash": rec.content_hash,
                "mapping_hash": rec.mapping_hash,
            }
            for rec in changed
        ],
        key=_RAW_KEY,
        update=_RAW_REWRITTEN,
        constants=_raw_constants(source, stream, run_id, stamp),
    )
    if full_table:  # remember what is still there, for delete detection
        rewritten = {r.source_id for r in changed}
        _mark_seen(
            conn, [row.id for sid, row in stored.items() if sid not in rewritten], run_id, stamp
        )
    _write_canonical(conn, source, changed, stamp)
    taken = [r.source_id for r in changed if r.entity == "raw" or r.canonical is not None]
    _close_quarantine(conn, source, stream, taken, stamp)
    return WriteCounts(
        inserted=len(changed) - len(updated),
        updated=len(updated) - len(echoed),
        unchanged=len(batch) - len(changed),
        echoed=len(echoed),
    )


def _raw_constants(source: str, stream: str, run_id: int, stamp: Any) -> dict[str, Any]:
    """The raw-record columns every row a run writes shares: new, seen and changed now."""
    return {
        "source": source,
        "stream": stream,
        "first_seen_at": stamp,
        "last_seen_at": stamp,
        "last_seen_run_id": run_id,
        "changed_run_id": run_id,
        "deleted": False,
        "deleted_at": None,
    }


def _write_columns(
    conn: Connection,
    source: str,
    run_id: int,
    columns: StreamColumns,
    full_table: bool,
    stamp: Any,
) -> WriteCounts:
    """`_write_stream` of a stream's rows given as columns: new records and unchanged ones
    are written column by column; a batch that changes a stored record (echo detection
    compares it with what is stored) takes `_write_stream`, as records."""
    from hub.sync.handover import records_of

    stream, sids, hashes = columns.stream, columns.source_ids, columns.content_hashes
    stored = _stored(conn, source, stream, sids)
    changed = range(len(sids))
    if stored:
        fingerprint = columns.mapping_hash
        changed = [  # type: ignore[assignment]
            i
            for i, (sid, content_hash) in enumerate(zip(sids, hashes, strict=True))
            if (old := stored.get(sid)) is None
            or old.content_hash != content_hash
            or old.mapping_hash != fingerprint
            or bool(old.deleted)
        ]
        if any(sids[i] in stored for i in changed):
            batch = {r.source_id: r for r in records_of(columns)}
            return _write_stream(conn, source, stream, run_id, batch, full_table, stamp)
    whole = len(changed) == len(sids)

    def taken(values: list[Any]) -> list[Any]:
        return values if whole else [values[i] for i in changed]

    changed_ids = taken(sids)
    changed_hashes = taken(hashes)
    upsert_columns(
        conn,
        raw_records,
        {
            "source_id": changed_ids,
            "payload": list(map(JSONText, taken(columns.payloads))),
            "content_hash": changed_hashes,
            "mapping_hash": [columns.mapping_hash] * len(changed_ids),
        },
        key=_RAW_KEY,
        update=_RAW_REWRITTEN,
        constants=_raw_constants(source, stream, run_id, stamp),
    )
    if full_table:  # what is stored and unchanged: none of it rewritten
        _mark_seen(conn, [row.id for row in stored.values()], run_id, stamp)
    table = _CANONICAL.get(columns.entity)
    if table is not None and columns.names and changed_ids:
        canonical = {
            name: taken(values)
            for name, values in zip(columns.names, columns.canonical, strict=True)
        }
        canonical["content_hash"] = changed_hashes
        upsert_columns(
            conn,
            table,
            canonical,
            key=("source", "source_id"),
            constants={"source": source, "stream": stream, "loaded_at": stamp, "deleted": False},
        )
    _close_quarantine(conn, source, stream, changed_ids, stamp)
    return WriteCounts(inserted=len(changed_ids), unchanged=len(sids) - len(changed_ids))


def _mark_seen(conn: Connection, pks: list[int], run_id: int, stamp: Any) -> None:
    """Stamp the unchanged records of a full-table read as seen in this run."""
    if pks:
        conn.execute(
            raw_records.update()
            .where(raw_records.c.id == sa.bindparam("pk"))
            .values(
                last_seen_at=sa.bindparam("last_seen_at"),
                last_seen_run_id=sa.bindparam("last_seen_run_id"),
            ),
            [{"pk": pk, "last_seen_at": stamp, "last_seen_run_id": run_id} for pk in pks],
        )


def _write_canonical(
    conn: Connection, source: str, changed: list[IncomingRecord], stamp: Any
) -> None:
    for entity, table in _CANONICAL.items():
        by_stream: dict[str, list[dict[str, Any]]] = {}
        for r in changed:
            if r.entity == entity and r.canonical is not None:
                row = r.canonical  # the mapper's own dict, made for this write
                row["content_hash"] = r.content_hash
                by_stream.setdefault(r.stream, []).append(row)
        for stream, rows in by_stream.items():
            upsert(
                conn,
                table,
                rows,
                key=("source", "source_id"),
                constants={
                    "source": source,
                    "stream": stream,
                    "loaded_at": stamp,
                    "deleted": False,
                },
            )


def _close_quarantine(
    conn: Connection, source: str, stream: str, source_ids: list[str], stamp: Any
) -> None:
    """Close the open quarantine entries of records that have now been taken."""
    q = quarantine.c
    open_here = sa.select(q.id).where(
        q.source == source, q.stream == stream, q.resolved_at.is_(None)
    )
    if not source_ids or conn.execute(open_here.limit(1)).first() is None:
        return  # the usual case: nothing of this stream waits in quarantine
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
    upsert(  # the same bad record seen again: keep one row, note the run, reopen it
        conn,
        quarantine,
        rows.values(),
        key=("source", "stream", "raw_hash"),
        update=("last_run_id", "resolved_at"),
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
    _flag_canonical(conn, source, stream, deleted_ids, stamp)
    return int(count.rowcount or 0)
