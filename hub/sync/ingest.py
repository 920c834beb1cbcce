"""Ingesting a stream of Singer messages into the store, checkpointed by STATE messages.

Records are buffered by the SCHEMA they came under; at every STATE message (and when the
buffer is full) the buffered records and the newest state are handed to the sync's writer
(`hub.sync.writer_process`): they are validated against their stream's SCHEMA, keyed,
hashed and mapped (`hub.sync.prepare`, `hub.sync.handover`) and committed with that state
in one transaction. A sync killed at any point therefore resumes from the last committed
state, and re-sent records are recognised by their content hash: nothing is lost and
nothing duplicated.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from connectors.errors import ERROR_PROPERTY  # built-in taps flag unreadable rows with it
from hub.store.database import Store
from hub.sync.prepare import StreamInfo, raw_text
from hub.sync.writer_process import Batch, InlineWriter, StreamSpec, WriterProcess
from hub.sync.writes import QuarantinedRecord, WriteCounts, mark_missing_deleted
from schemas.config import ConnectorConfig, StreamConfig

__all__ = ["Ingestor", "StreamInfo"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


def _in_memory(store: Store) -> bool:
    url = store.engine.url
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


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
    # the buffered records of each SCHEMA (by its serial): checked and mapped when handed over
    _groups: dict[int, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)
    _buffered: int = 0
    _specs: dict[str, StreamSpec] = field(default_factory=dict)  # each stream's newest SCHEMA
    _serial: int = 0
    # each stream's records buffered under its newest SCHEMA (the group `_take` appends to)
    _open: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _bad: list[QuarantinedRecord] = field(default_factory=list)
    _pending_state: bool = False
    _writer: InlineWriter | WriterProcess | None = None  # a process commits as the tap reads on
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
        self._serial += 1
        spec = StreamSpec(
            serial=self._serial,
            stream=stream,
            schema=schema,
            key_properties=list(key_properties or []),
            full_table=full_refresh or not bookmark_properties,
            config=config,
        )
        info = spec.info(self.connector.name)
        self.streams[stream] = info
        self._specs[stream] = spec
        self._open.pop(stream, None)  # its next records go to the new SCHEMA's group
        if self._writer is not None:
            self._writer.add_stream(spec, info)

    def record(self, stream: str, record: dict[str, Any]) -> None:
        self.counts.read += 1
        info = self.streams.get(stream)
        if info is None:
            self._quarantine(stream, None, "protocol", "RECORD before its SCHEMA message", record)
        else:
            info.records += 1
            group = self._open.get(stream)
            if group is not None and not record.get(ERROR_PROPERTY):  # the usual case
                group.append(record)
                self._buffered += 1
            else:
                self._take(stream, info, record)
        if self._buffered + len(self._bad) >= self.batch_size:
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
        serial = self._specs[stream].serial
        group = self._groups.get(serial)
        if group is None:
            group = self._groups[serial] = (stream, [])
        group[1].append(record)  # checked, keyed and mapped before the writer stores it
        self._open[stream] = group[1]
        self._buffered += 1

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
        text = raw if isinstance(raw, str) else raw_text(raw)
        self._bad.append(QuarantinedRecord(stream, source_id, stage, reason, location, text))

    def flush(self) -> None:
        """Commit buffered records (and the newest state, if one arrived) atomically; when
        this returns, everything received so far is committed."""
        self._submit()
        self._drain()

    def _submit(self) -> None:
        """Hand the buffered records (and the newest state) to the writer as one transaction
        and return: a writer process is given them checked and mapped, and commits them
        while the tap sends the next batch. Batches are committed in order; the state goes
        with its records."""
        if not self._buffered and not self._bad and not self._pending_state:
            return
        batch = Batch(
            groups=[
                (stream, serial, records) for serial, (stream, records) in self._groups.items()
            ],
            quarantined=self._bad,
            state=self.state if self._pending_state else None,
            full_table=frozenset(s for s, i in self.streams.items() if i.full_table),
        )
        self._groups, self._buffered, self._bad, self._pending_state = {}, 0, [], False
        self._open = {}
        writer = self._started_writer()
        self._drain(keep=writer.depth - 1)  # back-pressure: wait until the writer has room
        writer.submit(batch)
        if isinstance(writer, InlineWriter):  # written in this thread: done already
            self._drain()

    def _started_writer(self) -> InlineWriter | WriterProcess:
        if self._writer is None:
            source = self.connector.name
            if self.connection is not None or _in_memory(self.store):
                self._writer = InlineWriter(self.store, source, self.run_id, self.connection)
            else:
                self._writer = WriterProcess(self.store, source, self.run_id)
            for stream, spec in self._specs.items():
                self._writer.add_stream(spec, self.streams[stream])
        return self._writer

    def _drain(self, keep: int = 0) -> None:
        """Wait until at most `keep` batches are in flight; a failure is raised here, in the
        caller's thread."""
        writer = self._writer
        while writer is not None and writer.pending > keep:
            outcome = writer.result()
            for stream, problem in outcome.problems:
                self._warn(stream, problem)
            self.counts.add(outcome.counts)
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
            self._writer.close()
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
