"""Ingesting a stream of Singer messages into the store, checkpointed by STATE messages.

Records are validated against their stream's SCHEMA, keyed by its key properties, mapped
to the canonical model and buffered; at every STATE message (and when the buffer is full)
the buffered records and the newest state are committed in one transaction. A sync killed
at any point therefore resumes from the last committed state, and re-sent records are
recognised by their content hash: nothing is lost and nothing duplicated.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from connectors.errors import ERROR_PROPERTY  # built-in taps flag unreadable rows with it
from hub.store.database import JSONText, Store, canonical_json, save_state
from hub.sync.mapping import Mapper, MappingError
from hub.sync.validation import RecordValidator, compile_schema
from hub.sync.writes import (
    IncomingRecord,
    QuarantinedRecord,
    WriteCounts,
    mark_missing_deleted,
    write_batch,
)
from schemas.config import ConnectorConfig, StreamConfig

__all__ = ["Ingestor", "StreamInfo"]

log = logging.getLogger(__name__)

_MAX_RAW = 100_000
# a buffered record: its stream, that stream's SCHEMA as it stood, the record
_Buffered = tuple[str, "StreamInfo", dict[str, Any]]
_T = TypeVar("_T")


@dataclass
class StreamInfo:
    """What the tap told us about one stream in its SCHEMA message."""

    key_properties: list[str]
    full_table: bool
    validator: RecordValidator
    mapper: Mapper
    records: int = 0
    metadata_keys: frozenset[str] = frozenset()  # Singer `_sdc_*` columns: not content


def _raw_text(record: Any) -> str:
    text = canonical_json(record).decode()
    return text if len(text) <= _MAX_RAW else text[:_MAX_RAW] + "…(truncated)"


@dataclass
class Ingestor:
    """Consumes one connector run's messages; `finish()` commits what is left."""

    store: Store
    connector: ConnectorConfig
    run_id: int
    connection: Connection | None = None  # dry runs: one outer transaction, rolled back
    batch_size: int = 5000
    on_progress: Callable[[WriteCounts], None] | None = None
    counts: WriteCounts = field(default_factory=WriteCounts)
    streams: dict[str, StreamInfo] = field(default_factory=dict)
    state: dict[str, Any] | None = None
    _records: list[_Buffered] = field(default_factory=list)  # mapped when flushed
    _bad: list[QuarantinedRecord] = field(default_factory=list)
    _pending_state: bool = False
    _writer: ThreadPoolExecutor | None = None  # commits batches while the tap reads on
    _inflight: Future[WriteCounts] | None = None
    _warned: set[str] = field(default_factory=set)

    # -- Singer messages -------------------------------------------------------------------
    def schema(
        self,
        stream: str,
        schema: dict[str, Any],
        key_properties: list[str] | None,
        bookmark_properties: list[str] | None,
        *,
        full_refresh: bool = False,
    ) -> None:
        config = self.connector.streams.get(stream, StreamConfig())
        self.streams[stream] = StreamInfo(
            key_properties=list(key_properties or []),
            full_table=full_refresh or not bookmark_properties,
            validator=compile_schema(schema),
            mapper=Mapper(self.connector.name, config),
            metadata_keys=frozenset(
                k for k in schema.get("properties", {}) if k.startswith("_sdc_")
            ),
        )

    def record(self, stream: str, record: dict[str, Any]) -> None:
        self.counts.read += 1
        info = self.streams.get(stream)
        if info is None:
            self._quarantine(stream, None, "protocol", "RECORD before its SCHEMA message", record)
        else:
            info.records += 1
            self._take(stream, info, record)
        if len(self._records) + len(self._bad) >= self.batch_size:
            self._submit()

    def set_state(self, value: dict[str, Any]) -> None:
        # a copy as it is now: the tap goes on changing its state object while the writer
        # commits this one with its records (singer-sdk finalises bookmarks in place)
        self.state = copy.deepcopy(value)
        self._pending_state = True
        self._submit()

    def protocol_error(self, reason: str, raw: str) -> None:
        """A line from an external tap that is not a valid Singer message."""
        self.counts.read += 1
        self._bad.append(QuarantinedRecord("_protocol", None, "protocol", reason, None, raw))

    # -- internals -------------------------------------------------------------------------
    def _take(self, stream: str, info: StreamInfo, record: dict[str, Any]) -> None:
        error = record.get(ERROR_PROPERTY)
        if error:
            keys = info.key_properties
            key_values = [record.get(k) for k in keys]
            source_id = (
                "|".join(str(v) for v in key_values) if keys and None not in key_values else None
            )
            raw = error.get("raw") if isinstance(error, dict) else None
            reason = error.get("reason", str(error)) if isinstance(error, dict) else str(error)
            location = error.get("location") if isinstance(error, dict) else None
            self._quarantine(stream, source_id, "parse", reason, raw or record, location)
            return
        self._records.append((stream, info, record))  # checked and mapped when flushed

    def _prepared(self) -> list[IncomingRecord]:
        """The buffered records, checked against their schema, keyed, hashed and mapped a
        stream's batch at a time (validation and mapping column by column where the values
        allow: hub.sync.validation, hub.sync.columnar); a record that fails a step is
        quarantined with the step's reason (one that does not map keeps its raw version)."""
        batches: dict[int, tuple[str, StreamInfo, list[dict[str, Any]]]] = {}
        for stream, info, record in self._records:  # by the SCHEMA each record came under
            batches.setdefault(id(info), (stream, info, []))[2].append(record)
        incoming: list[IncomingRecord] = []
        for stream, info, records in batches.values():
            keyed = self._keyed(stream, info, records)
            mapper = info.mapper
            rows = mapper.map_many([k[3] for k in keyed], [k[0] for k in keyed])
            for (source_id, payload, content_hash, record), row in zip(keyed, rows, strict=True):
                if isinstance(row, MappingError):
                    self._quarantine(stream, source_id, "mapping", str(row), record)
                    row = None
                incoming.append(
                    IncomingRecord(
                        stream=stream,
                        source_id=source_id,
                        payload=payload,
                        content_hash=content_hash,
                        mapping_hash=mapper.fingerprint,
                        entity=mapper.entity,
                        canonical=row,
                    )
                )
        return incoming

    def _keyed(
        self, stream: str, info: StreamInfo, records: list[dict[str, Any]]
    ) -> list[tuple[str, Any, str, dict[str, Any]]]:
        """(source id, payload, content hash, record) of each valid record with an id."""
        reasons = info.validator.reasons(records)
        if info.validator.problem is not None:
            self._warn(stream, info.validator.problem)
        keys = info.key_properties
        keyed = []
        for record, invalid in zip(records, reasons, strict=True):
            key_values = [record.get(k) for k in keys]
            source_id = (
                "|".join(str(v) for v in key_values) if keys and None not in key_values else None
            )
            if invalid is not None:
                self._quarantine(stream, source_id, "schema", invalid, record)
                continue
            if info.metadata_keys:  # Singer `_sdc_*` extraction metadata is not content
                content = canonical_json(
                    {k: v for k, v in record.items() if k not in info.metadata_keys}
                )
                payload: Any = record
            else:
                content = canonical_json(record)
                payload = JSONText(content.decode())  # serialised once, for hash and store
            content_hash = hashlib.sha256(content).hexdigest()
            if not keys:
                source_id = content_hash  # streams without keys: a record is its content
            if source_id is None:
                missing = ", ".join(k for k, v in zip(keys, key_values, strict=True) if v is None)
                self._quarantine(
                    stream, None, "identity", f"missing id ({missing} is null)", record
                )
                continue
            keyed.append((source_id, payload, content_hash, record))
        return keyed

    def _warn(self, stream: str, problem: str) -> None:
        """Say once per stream why its records are taken without (full) validation."""
        if stream not in self._warned:
            self._warned.add(stream)
            log.warning("%s: stream %r: %s", self.connector.name, stream, problem)

    def _quarantine(
        self,
        stream: str,
        source_id: str | None,
        stage: str,
        reason: str,
        raw: Any,
        location: str | None = None,
    ) -> None:
        text = raw if isinstance(raw, str) else _raw_text(raw)
        self._bad.append(QuarantinedRecord(stream, source_id, stage, reason, location, text))

    def flush(self) -> None:
        """Commit buffered records (and the newest state, if one arrived) atomically; when
        this returns, everything received so far is committed."""
        self._submit()
        self._drain()

    def _submit(self) -> None:
        """Hand the buffered records (and the newest state) to the writer as one transaction
        and return: the database works on it while the tap sends the next batch. One batch
        is in flight at a time, committed in order; the state goes with its records."""
        if not self._records and not self._bad and not self._pending_state:
            return
        full_table = frozenset(s for s, i in self.streams.items() if i.full_table)
        source, run_id = self.connector.name, self.run_id
        records, bad = self._prepared(), self._bad
        state = self.state if self._pending_state else None
        self._records, self._bad, self._pending_state = [], [], False

        def write(conn: Connection) -> WriteCounts:
            counts = write_batch(
                conn,
                source=source,
                run_id=run_id,
                records=records,
                quarantined=bad,
                full_table_streams=full_table,
            )
            if state is not None:
                save_state(conn, source, state, run_id)
            return counts

        self._drain()
        if self.connection is not None:  # a dry run's one outer transaction: this thread
            self._done(self._in_transaction(write))
            return
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix=f"crmhub-write-{source}")
        self._inflight = self._writer.submit(self._in_transaction, write)

    def _drain(self) -> None:
        """Wait for the batch in flight; its failure is raised here, in the caller's thread."""
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            self._done(inflight.result())

    def _done(self, counts: WriteCounts) -> None:
        self.counts.add(counts)
        if self.on_progress is not None:
            self.on_progress(self.counts)

    def finish(self, *, complete: bool) -> WriteCounts:
        """Commit what is left; after a complete run, flag records gone from full tables."""
        try:
            self.flush()
        finally:
            self._close_writer()
        if complete:
            for stream, info in self.streams.items():
                if not info.full_table:
                    continue
                self.counts.deleted += self._in_transaction(partial(self._mark_deleted, stream))
        return self.counts

    def abort(self) -> None:
        """After a failed run: commit what was received (re-sent records are recognised as
        unchanged, so this is safe without a state) and stop the writer."""
        try:
            self.flush()
        finally:
            self._close_writer()

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def _mark_deleted(self, stream: str, conn: Connection) -> int:
        return mark_missing_deleted(
            conn, source=self.connector.name, stream=stream, run_id=self.run_id
        )

    def _in_transaction(self, work: Callable[[Connection], _T]) -> _T:
        if self.connection is not None:  # a dry run's single outer transaction
            return work(self.connection)
        with self.store.transaction() as conn:
            return work(conn)
