"""Turning one stream's batch of records into rows to store: checked, keyed, hashed, mapped.

A batch is checked against its stream's SCHEMA, each record keyed by the stream's key
properties and hashed over its content, then mapped to the canonical model — column by
column where the values allow (`hub.sync.column_check`, `hub.sync.columnar`). A record that
fails a step is quarantined with that step's reason; one that does not map keeps its raw
version. The work is a pure function of the batch, so it runs wherever the batch is written
(the sync's writer process, or the caller's thread in a dry run).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from operator import methodcaller
from typing import Any

import orjson

from hub.store.database import JSONText, canonical_json, json_default
from hub.sync.mapping import Mapper, MappingError
from hub.sync.validation import RecordValidator, compile_schema
from hub.sync.writes import IncomingRecord, QuarantinedRecord
from schemas.config import StreamConfig

__all__ = ["Prepared", "StreamInfo", "keyed_columns", "prepare", "raw_text", "stream_info"]

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


def prepare(
    stream: str, info: StreamInfo, records: Sequence[dict[str, Any]], into: Prepared
) -> None:
    """Check, key, hash and map one stream's records (all under the same SCHEMA) into `into`.

    A record the tap marks deleted at the source (Singer's `_sdc_deleted_at`, sent by
    log-based replication) is a deletion of its id, unless a later record of the batch
    brings the id back."""
    keyed = _keyed(stream, info, records, into)
    if DELETED_AT in info.metadata_keys:
        keyed = _split_deletions(stream, keyed, into)
    mapper = info.mapper
    rows = mapper.map_many([k[3] for k in keyed], [k[0] for k in keyed])
    append = into.incoming.append
    fingerprint, entity = mapper.fingerprint, mapper.entity
    for (source_id, payload, content_hash, record), row in zip(keyed, rows, strict=True):
        if isinstance(row, MappingError):
            _quarantine(into, stream, source_id, "mapping", str(row), record)
            row = None
        # stream, source id, payload, content hash, mapping hash, entity, canonical row
        append(IncomingRecord(stream, source_id, payload, content_hash, fingerprint, entity, row))


def _split_deletions(
    stream: str, keyed: list[tuple[str, Any, str, dict[str, Any]]], into: Prepared
) -> list[tuple[str, Any, str, dict[str, Any]]]:
    """The keyed records less those whose id's last event in the batch is a deletion; those
    ids go to `into.deleted`."""
    last: dict[str, bool] = {}
    for source_id, _, _, record in keyed:
        last[source_id] = record.get(DELETED_AT) is not None
    into.deleted.extend((stream, sid) for sid, gone in last.items() if gone)
    return [k for k in keyed if not last[k[0]]]


def _keyed(
    stream: str, info: StreamInfo, records: Sequence[dict[str, Any]], into: Prepared
) -> list[tuple[str, Any, str, dict[str, Any]]]:
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
            return whole
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
    return keyed


_CANONICAL_DUMPS = partial(
    orjson.dumps, default=json_default, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
)
_HEXDIGEST = methodcaller("hexdigest")


def _keyed_whole(
    key: str, records: Sequence[dict[str, Any]]
) -> list[tuple[str, Any, str, dict[str, Any]]] | None:
    """`_keyed` of a batch of valid records keyed by one text or integer property, a column
    at a time at C speed (the same canonical JSON as `canonical_json`, the same hashes); None
    when any record needs the record-by-record path (a missing key, a value orjson refuses)."""
    whole = keyed_columns(key, records)
    if whole is None:
        return None
    source_ids, texts, hashes = whole
    payloads = map(JSONText, texts)
    return list(zip(source_ids, payloads, hashes, records, strict=True))


def keyed_columns(
    key: str, records: Sequence[dict[str, Any]]
) -> tuple[list[str], list[str], list[str]] | None:
    """The source ids, canonical JSON texts and content hashes of valid records keyed by one
    text or integer property, column by column (see `_keyed_whole`); None when a record
    needs the record-by-record path."""
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
    return list(map(str, values)), list(map(bytes.decode, contents)), hashes


def _quarantine(
    into: Prepared, stream: str, source_id: str | None, stage: str, reason: str, raw: Any
) -> None:
    into.quarantined.append(
        QuarantinedRecord(stream, source_id, stage, reason, None, raw_text(raw))
    )
