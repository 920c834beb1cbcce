"""A prepared batch as it crosses from the sync's process to its writer: columns, not rows.

The sync's process prepares each batch and hands the writer what it stores, one stream at
a time, as a few long lists — source ids, content hashes, payload texts and each canonical
column — instead of a record object and a dict per row. A clean stream (every record valid,
keyed by one property, once in the batch, mapped column by column) is prepared straight
into those lists (`hub.sync.prepare.keyed_columns`, `Mapper.map_columns`); each list of
texts is pickled as one text joined by newlines, so the hand-over costs little more than
copying memory, and the writer binds the columns to its upserts with `zip`
(`hub.sync.writes`). Any other stream is prepared record by record (`hub.sync.prepare`)
and crosses as columns when its rows fit them, as its `IncomingRecord`s when they do not (a
payload kept as a dict, a record that did not map, an id twice in the batch, two SCHEMAs of
one stream in a batch); `records_of` turns columns back into the same records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

from hub.store.database import JSONText
from hub.sync.prepare import Prepared, StreamInfo, keyed_columns, prepare
from hub.sync.writes import IncomingRecord, QuarantinedRecord

__all__ = ["Handover", "StreamColumns", "prepare_handover", "records_of"]


@dataclass(frozen=True)
class StreamColumns:
    """One stream's prepared rows of a batch, column by column (one value per row in each
    list; every source id distinct, every payload JSON text, every row mapped)."""

    stream: str
    entity: str  # customer | interaction | raw
    mapping_hash: str
    source_ids: list[str]
    content_hashes: list[str]
    payloads: list[str]  # each record's JSON text, as hashed and stored
    names: tuple[str, ...]  # the canonical row's columns; () for a raw stream
    canonical: list[list[Any]]  # one list per name

    def __len__(self) -> int:
        return len(self.source_ids)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled with each column of texts joined into one text (see `_packed`)."""
        state = dict(self.__dict__)
        for name in ("source_ids", "content_hashes", "payloads"):
            state[name] = _packed(state[name])
        state["canonical"] = list(map(_packed, self.canonical))
        state["rows"] = len(self)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        rows = state.pop("rows")
        for name in ("source_ids", "content_hashes", "payloads"):
            state[name] = _unpacked(state[name], rows)
        state["canonical"] = [_unpacked(column, rows) for column in state["canonical"]]
        for name, value in state.items():
            object.__setattr__(self, name, value)


@dataclass
class Handover:
    """A prepared batch: each stream's rows (as columns where they fit), the records
    refused, the deletions, the STATE covering the batch and why some records were taken
    unvalidated."""

    streams: list[StreamColumns | list[IncomingRecord]]
    quarantined: list[QuarantinedRecord]
    deleted: list[tuple[str, str]]
    state: dict[str, Any] | None
    full_table: frozenset[str]
    problems: list[tuple[str, str]] = field(default_factory=list)

    def records(self) -> list[IncomingRecord]:
        """Every row as an `IncomingRecord`, in order."""
        out: list[IncomingRecord] = []
        for part in self.streams:
            out.extend(records_of(part) if isinstance(part, StreamColumns) else part)
        return out


_SEPARATOR = "\n"


def _packed(column: list[Any]) -> Any:
    """A column as it is pickled: texts joined by newlines when none holds one (a long
    text pickles at memory speed, a list of texts one by one), a column of nulls as None,
    any other column as it is."""
    if not column:
        return column
    kinds = set(map(type, column))
    if kinds == {str}:
        joined = _SEPARATOR.join(column)
        if joined.count(_SEPARATOR) == len(column) - 1:
            return joined
    elif kinds == {type(None)}:
        return None
    return column


def _unpacked(packed: Any, rows: int) -> list[Any]:
    if packed is None:
        return [None] * rows
    if isinstance(packed, str):
        return packed.split(_SEPARATOR)
    return list(packed)


_SOURCE_ID = attrgetter("source_id")
_HASH = attrgetter("content_hash")
_PAYLOAD = attrgetter("payload")
_CANONICAL = attrgetter("canonical")


def prepare_handover(
    groups: Sequence[tuple[str, int, Sequence[dict[str, Any]]]],
    infos: dict[int, StreamInfo],
    *,
    quarantined: Sequence[QuarantinedRecord],
    state: dict[str, Any] | None,
    full_table: frozenset[str],
) -> Handover:
    """Prepare a batch's groups of records (stream, SCHEMA serial, records) straight into
    columns where they fit (see the module docstring), through `hub.sync.prepare` and
    `_columns` otherwise: the same rows, refusals and problems either way."""
    into = Prepared()
    streams: list[StreamColumns | list[IncomingRecord]] = []
    seen = [stream for stream, _, _ in groups]
    for stream, serial, records in groups:
        info = infos[serial]
        columns = None
        if seen.count(stream) == 1 and records:
            columns = _prepared_columns(stream, info, records, into)
        if columns is not None:
            streams.append(columns)
            continue
        start = len(into.incoming)
        prepare(stream, info, records, into)
        rows = into.incoming[start:]
        if not rows:
            continue
        if seen.count(stream) == 1:
            streams.append(_columns(rows))
            continue
        for part in streams:  # a stream under two SCHEMAs in a batch: its records together
            if isinstance(part, list) and part[0].stream == stream:
                part.extend(rows)
                break
        else:
            streams.append(rows)
    return Handover(
        streams=streams,
        quarantined=[*quarantined, *into.quarantined],
        deleted=into.deleted,
        state=state,
        full_table=full_table,
        problems=into.problems,
    )


def _prepared_columns(
    stream: str, info: StreamInfo, records: Sequence[dict[str, Any]], into: Prepared
) -> StreamColumns | None:
    """`prepare` of a stream's records as columns, when every record is valid, keyed by one
    property, new to the batch and mapped column by column; None otherwise (nothing is
    added to `into` then)."""
    keys = info.key_properties
    if len(keys) != 1 or info.metadata_keys:  # `_sdc_*` columns (deletions among them)
        return None
    reasons = info.validator.reasons(records)
    if reasons.count(None) != len(reasons):
        return None
    keyed = keyed_columns(keys[0], records)
    if keyed is None:
        return None
    source_ids, payloads, hashes = keyed
    if len(set(source_ids)) != len(source_ids):  # the last version wins: the writer's rule
        return None
    mapper = info.mapper
    names: tuple[str, ...] = ()
    canonical: list[list[Any]] = []
    if mapper.entity != "raw" or mapper.maps:
        mapped = mapper.map_columns(records, source_ids)
        if mapped is None:
            return None
        names, canonical = mapped
    if info.validator.problem is not None:
        into.problems.append((stream, info.validator.problem))
    return StreamColumns(
        stream=stream,
        entity=mapper.entity,
        mapping_hash=mapper.fingerprint,
        source_ids=source_ids,
        content_hashes=hashes,
        payloads=payloads,
        names=names,
        canonical=canonical,
    )


def _columns(records: list[IncomingRecord]) -> StreamColumns | list[IncomingRecord]:
    """One stream's records as columns, or as they are when they do not fit (see the
    module docstring)."""
    first = records[0]
    entity, mapping_hash = first.entity, first.mapping_hash
    if any(r.entity != entity or r.mapping_hash != mapping_hash for r in records):
        return records
    payloads = list(map(_PAYLOAD, records))
    if set(map(type, payloads)) != {JSONText}:
        return records
    source_ids = list(map(_SOURCE_ID, records))
    if len(set(source_ids)) != len(source_ids):  # the last version wins: the writer's rule
        return records
    rows = list(map(_CANONICAL, records))
    names: tuple[str, ...] = ()
    canonical: list[list[Any]] = []
    if entity != "raw":
        if None in rows:  # a record that did not map is stored raw only
            return records
        shapes = set(map(tuple, rows))
        if len(shapes) != 1:
            return records
        [names] = shapes
        canonical = [list(map(itemgetter(name), rows)) for name in names]
    elif any(row is not None for row in rows):
        return records
    return StreamColumns(
        stream=first.stream,
        entity=entity,
        mapping_hash=mapping_hash,
        source_ids=source_ids,
        content_hashes=list(map(_HASH, records)),
        payloads=list(map(str, payloads)),
        names=names,
        canonical=canonical,
    )


def records_of(columns: StreamColumns) -> list[IncomingRecord]:
    """The `IncomingRecord`s the columns were made of (a fresh canonical dict each)."""
    count = len(columns)
    rows: list[dict[str, Any] | None]
    if columns.names:
        names, canonical = columns.names, columns.canonical
        rows = [dict(zip(names, values, strict=True)) for values in zip(*canonical, strict=True)]
    else:
        rows = [None] * count
    return [
        IncomingRecord(
            columns.stream,
            source_id,
            JSONText(payload),
            content_hash,
            columns.mapping_hash,
            columns.entity,
            row,
        )
        for source_id, payload, content_hash, row in zip(
            columns.source_ids, columns.payloads, columns.content_hashes, rows, strict=True
        )
    ]
