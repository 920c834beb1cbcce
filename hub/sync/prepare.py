"""Turning one stream's batch of records into rows to store: checked, keyed, hashed, mapped.

A batch is checked against its stream's SCHEMA, each record keyed by the stream's key
properties and hashed over its content (`key`), then mapped to the canonical model
(`map_keyed`) — column by column where the values allow (`hub.sync.column_check`,
`hub.sync.columnar`). A record that fails a step is quarantined with that step's reason; one
that does not map keeps its raw version. The work is a pure function of the batch, so each
half runs where it pays: a sync with a writer process keys in the sync's process and maps in
the writer's, so that both cores work (`hub.sync.writer_process`); a dry run does both in the
caller's thread (`prepare`).

A keyed batch of plain JSON records crosses to the writer as the canonical JSON it was hashed
over (one text for the batch), which the writer parses back: cheaper than pickling the
records, and exact, because such a record is what its JSON says (`Keyed.__getstate__`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, repeat
from operator import methodcaller
from typing import Any

import orjson

from hub.store.database import JSONText, canonical_json, json_default
from hub.sync.mapping import Mapper, MappingError
from hub.sync.validation import RecordValidator, compile_schema
from hub.sync.writes import IncomingRecord, QuarantinedRecord
from schemas.config import StreamConfig

__all__ = [
    "Keyed",
    "Prepared",
    "StreamInfo",
    "key",
    "map_keyed",
    "prepare",
    "raw_text",
    "stream_info",
]

_MAX_RAW = 100_000
DELETED_AT = "_sdc_deleted_at"  # Singer: the source deleted this row (log-based replication)


@dataclass
class StreamInfo:
    """What the tap told us about one stream in its SCHEMA message."""

    key_properties: list[str]
    full_table: bool
    validator: RecordValidator
    mapper: Mapper
    records: int = 0
    metadata_keys: frozenset[str] = frozenset()  # Singer `_sdc_*` columns: not content


def stream_info(
    source: str,
    config: StreamConfig,
    schema: dict[str, Any],
    key_properties: list[str],
    *,
    full_table: bool,
) -> StreamInfo:
    """A stream's validator and mapper, from its SCHEMA message and hub.yaml's settings."""
    return StreamInfo(
        key_properties=list(key_properties),
        full_table=full_table,
        validator=compile_schema(schema),
        mapper=Mapper(source, config),
        metadata_keys=frozenset(k for k in schema.get("properties", {}) if k.startswith("_sdc_")),
    )


@dataclass
class Prepared:
    """A prepared batch: the rows to store, the records refused, and why some records were
    taken without (full) validation (stream, problem)."""

    incoming: list[IncomingRecord] = field(default_factory=list)
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)  # (stream, source id)
    problems: list[tuple[str, str]] = field(default_factory=list)


def raw_text(record: Any) -> str:
    """A record as the quarantine keeps it: canonical JSON, cut at 100,000 characters."""
    text = canonical_json(record).decode()
    return text if len(text) <= _MAX_RAW else text[:_MAX_RAW] + "…(truncated)"


_KeyedRow = tuple[str, Any, str, dict[str, Any]]  # source id, payload, content hash, record
_PLAIN_VALUES = frozenset({str, int, bool, float, type(None)})


class Keyed:
    """One stream's records of a batch, checked, keyed and hashed: (source id, payload,
    content hash, record) of each record to store, in order. `plain`: every payload is the
    canonical JSON of its record as orjson wrote it (the whole-batch path), so every integer
    fits 64 bits and every text is valid Unicode."""

    __slots__ = ("plain", "rows")

    def __init__(self, rows: list[_KeyedRow], *, plain: bool = False) -> None:
        self.rows, self.plain = rows, plain

    def __len__(self) -> int:
        return len(self.rows)

    def __getstate__(self) -> tuple[Any, ...]:
        """For the pipe to the writer: a batch of plain JSON records as its source ids, its
        canonical JSON (one text, a record a line: JSON text holds no raw line break) and its
        hashes (one text); any other batch as its rows."""
        rows = self.rows
        if rows and self.plain and _json_exact(r[3] for r in rows):
            ids, payloads, hashes, _ = zip(*rows, strict=True)
            return (list(ids), "\n".join(payloads), "".join(hashes))
        return (rows,)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        if len(state) == 1:
            self.rows, self.plain = state[0], False
            return
        ids, text, hashes = state
        lines = text.split("\n")
        records = list(map(orjson.loads, lines))
        width = len(hashes) // len(ids)  # a sha256 hex digest: 64
        digests = [hashes[i : i + width] for i in range(0, len(hashes), width)]
        self.rows = list(zip(ids, map(JSONText, lines), digests, records, strict=True))
        self.plain = True


def _json_exact(records: Any) -> bool:
    """Every record is a flat dict of text keys and text, integer, boolean, finite float or
    null values, orjson-serialised already: parsing its canonical JSON gives it back equal.
    (A Decimal, a date, a nested value or a text subclass would come back as something else.)"""
    records = list(records)
    if not all(type(r) is dict for r in records):
        return False
    if set(map(type, chain.from_iterable(records))) - {str}:
        return False
    values = list(chain.from_iterable(map(dict.values, records)))
    kinds = set(map(type, values))
    if not kinds <= _PLAIN_VALUES:
        return False
    return float not in kinds or all(math.isfinite(v) for v in values if type(v) is float)


def prepare(
    stream: str, info: StreamInfo, records: Sequence[dict[str, Any]], into: Prepared
) -> None:
    """Check, key, hash and map one stream's records (all under the same SCHEMA) into `into`."""
    map_keyed(stream, info, key(stream, info, records, into), into)


def key(stream: str, info: StreamInfo, records: Sequence[dict[str, Any]], into: Prepared) -> Keyed:
    """Check, key and hash one stream's records (all under the same SCHEMA): the records to
    map and store; the refused ones go to `into.quarantined`, validation problems to
    `into.problems`."""
    return _keyed(stream, info, records, into)


def map_keyed(stream: str, info: StreamInfo, keyed: Keyed, into: Prepared) -> None:
    """Map keyed records to canonical rows into `into` (the second half of `prepare`).

    A record the tap marks deleted at the source (Singer's `_sdc_deleted_at`, sent by
    log-based replication) is a deletion of its id, unless a later record of the batch
    brings the id back."""
    rows = keyed.rows
    if DELETED_AT in info.metadata_keys:
        rows = _split_deletions(stream, rows, into)
    mapper = info.mapper
    canonical = mapper.map_many([k[3] for k in rows], [k[0] for k in rows])
    append = into.incoming.append
    fingerprint, entity = mapper.fingerprint, mapper.entity
    for (source_id, payload, content_hash, record), row in zip(rows, canonical, strict=True):
        if isinstance(row, MappingError):
            _quarantine(into, stream, source_id, "mapping", str(row), record)
            row = None
        # stream, source id, payload, content hash, mapping hash, entity, canonical row
        append(IncomingRecord(stream, source_id, payload, content_hash, fingerprint, entity, row))


def _split_deletions(stream: str, keyed: list[_KeyedRow], into: Prepared) -> list[_KeyedRow]:
    """The keyed records less those whose id's last event in the batch is a deletion; those
    ids go to `into.deleted`."""
    last: dict[str, bool] = {}
    for source_id, _, _, record in keyed:
        last[source_id] = record.get(DELETED_AT) is not None
    into.deleted.extend((stream, sid) for sid, gone in last.items() if gone)
    return [k for k in keyed if not last[k[0]]]


def _keyed(
    stream: str, info: StreamInfo, records: Sequence[dict[str, Any]], into: Prepared
) -> Keyed:
    """(source id, payload, content hash, record) of each valid record with an id."""
    reasons = info.validator.reasons(records)
    if info.validator.problem is not None:
        into.problems.append((stream, info.validator.problem))
    keys = info.key_properties
    single = keys[0] if len(keys) == 1 else None  # the usual case: str(value) is the id
    metadata_keys = info.metadata_keys
    if single is not None and not metadata_keys and reasons.count(None) == len(reasons):
        whole = _keyed_whole(single, records)
        if whole is not None:
            return Keyed(whole, plain=True)
    keyed = []
    sha256 = hashlib.sha256
    for record, invalid in zip(records, reasons, strict=True):
        if single is not None:
            value = record.get(single)
            source_id = None if value is None else str(value)
        else:
            key_values = [record.get(k) for k in keys]
            source_id = (
                "|".join(str(v) for v in key_values) if keys and None not in key_values else None
            )
        if invalid is not None:
            _quarantine(into, stream, source_id, "schema", invalid, record)
            continue
        if metadata_keys:  # Singer `_sdc_*` extraction metadata is not content
            content = canonical_json({k: v for k, v in record.items() if k not in metadata_keys})
            payload: Any = record
        else:
            content = canonical_json(record)
            payload = JSONText(content.decode())  # serialised once, for hash and store
        content_hash = sha256(content).hexdigest()
        if not keys:
            source_id = content_hash  # streams without keys: a record is its content
        if source_id is None:
            missing = ", ".join(k for k in keys if record.get(k) is None)
            _quarantine(into, stream, None, "identity", f"missing id ({missing} is null)", record)
            continue
        keyed.append((source_id, payload, content_hash, record))
    return Keyed(keyed)


_CANONICAL_DUMPS = partial(
    orjson.dumps, default=json_default, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
)
_HEXDIGEST = methodcaller("hexdigest")


def _keyed_whole(key: str, records: Sequence[dict[str, Any]]) -> list[_KeyedRow] | None:
    """`_keyed` of a batch of valid records keyed by one text or integer property, a column
    at a time at C speed (the same canonical JSON as `canonical_json`, the same hashes); None
    when any record needs the record-by-record path (a missing key, a value orjson refuses)."""
    try:
        values = list(map(dict.get, records, repeat(key)))
    except TypeError:  # records that are mappings but not dicts
        return None
    if not set(map(type, values)) <= {str, int}:
        return None
    try:
        contents = list(map(_CANONICAL_DUMPS, records))
    except (TypeError, ValueError):  # say, an integer beyond 64 bits: canonical_json's way
        return None
    hashes = list(map(_HEXDIGEST, map(hashlib.sha256, contents)))
    payloads = list(map(JSONText, map(bytes.decode, contents)))
    return list(zip(map(str, values), payloads, hashes, records, strict=True))


def _quarantine(
    into: Prepared, stream: str, source_id: str | None, stage: str, reason: str, raw: Any
) -> None:
    into.quarantined.append(
        QuarantinedRecord(stream, source_id, stage, reason, None, raw_text(raw))
    )
