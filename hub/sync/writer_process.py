"""The sync's writer: committing prepared batches in a process of its own, so that the tap
reading the source and the writer never wait for one interpreter.

The tap's side prepares each batch as it is handed over (checked, keyed, hashed and mapped:
`hub.sync.prepare`) and sends it to the writer as columns (`hub.sync.handover`); the writer
binds them to its upserts and commits the rows and the batch's STATE in one transaction, so
a sync killed at any point resumes from the last committed state exactly as before. Two
batches may be in flight: the tap prepares the next while the writer commits the last, and
a failure (preparing or writing) is raised on the tap's side with its error, the batches
before it committed and none after it. Preparing is most of the per-record Python work and
the writer's share is mostly SQLite's own, so the two processes keep two cores busy.

The process is forked on Linux (it then starts in milliseconds with the modules already
imported; it touches nothing of its parent but the arguments it was given and opens its own
store connection) and spawned elsewhere (macOS and Windows, where forking is unsafe or
missing; a spawned writer first imports the sync modules, about a second). On Linux it is
killed with its parent, so a `kill -9` of a sync leaves no writer committing behind it. It
ignores Ctrl-C: the interrupted run's `abort()` still commits what the tap had sent, as
before.

A dry run (one outer transaction that is rolled back) and an in-memory SQLite store (which a
second process cannot see) prepare and commit each batch in the sync's own thread
(`InlineWriter`), as records.
"""

from __future__ import annotations

import contextlib
import copyreg
import ctypes
import gc
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from multiprocessing.context import ForkContext, SpawnContext
from typing import Any

from sqlalchemy.engine import Connection

from hub.core.errors import SyncError
from hub.store.database import Store, save_state
from hub.sync.handover import Handover, prepare_handover
from hub.sync.prepare import Prepared, StreamInfo, prepare, stream_info
from hub.sync.writes import QuarantinedRecord, WriteCounts, write_batch, write_streams
from schemas.config import StreamConfig

__all__ = [
    "Batch",
    "InlineWriter",
    "Outcome",
    "StreamSpec",
    "WriterProcess",
    "commit_batch",
    "prepare_batch",
    "write_handover",
    "write_prepared",
]


@dataclass(frozen=True)
class StreamSpec:
    """What the writer needs to rebuild a stream's validator and mapper: its SCHEMA message
    and hub.yaml's settings for it (`serial` tells two SCHEMAs of one stream apart)."""

    serial: int
    stream: str
    schema: dict[str, Any]
    key_properties: list[str]
    full_table: bool
    config: StreamConfig

    def info(self, source: str) -> StreamInfo:
        return stream_info(
            source, self.config, self.schema, self.key_properties, full_table=self.full_table
        )


@dataclass
class Batch:
    """One unit of commit: each stream's records (by the SCHEMA they came under), the
    records refused before preparation, and the STATE that covers them (if one arrived)."""

    groups: list[tuple[str, int, list[dict[str, Any]]]]
    quarantined: list[QuarantinedRecord]
    state: dict[str, Any] | None
    full_table: frozenset[str]


@dataclass
class Outcome:
    """What committing a batch did, and why some of its records were taken unvalidated."""

    counts: WriteCounts
    problems: list[tuple[str, str]] = field(default_factory=list)


def prepare_batch(batch: Batch, infos: dict[int, StreamInfo]) -> Prepared:
    """Check, key, hash and map each stream's records of a batch (`hub.sync.prepare`)."""
    prepared = Prepared()
    for stream, serial, records in batch.groups:
        prepare(stream, infos[serial], records, prepared)
    return prepared


def write_prepared(
    transaction: Any, source: str, run_id: int, batch: Batch, prepared: Prepared
) -> Outcome:
    """Write a prepared batch and its STATE in one transaction (`transaction()` is a context
    manager giving the connection)."""
    with transaction() as conn:
        counts = write_batch(
            conn,
            source=source,
            run_id=run_id,
            records=prepared.incoming,
            quarantined=[*batch.quarantined, *prepared.quarantined],
            full_table_streams=batch.full_table,
            deleted=prepared.deleted,
        )
        if batch.state is not None:
            save_state(conn, source, batch.state, run_id)
    return Outcome(counts, prepared.problems)


def commit_batch(
    transaction: Any, source: str, run_id: int, batch: Batch, infos: dict[int, StreamInfo]
) -> Outcome:
    """Prepare a batch, then write it and its STATE in one transaction."""
    return write_prepared(transaction, source, run_id, batch, prepare_batch(batch, infos))


class InlineWriter:
    """The writer in the caller's thread, for a dry run (its one outer transaction is this
    thread's connection) and an in-memory SQLite store (each thread of the pool has its own
    database there): each batch is committed as it is handed over."""

    depth = 1  # batches handed over and not yet answered, at most

    def __init__(self, store: Store, source: str, run_id: int, conn: Connection | None) -> None:
        self._store, self._source, self._run_id, self._conn = store, source, run_id, conn
        self._infos: dict[int, StreamInfo] = {}
        self._done: Outcome | None = None

    def add_stream(self, spec: StreamSpec, info: StreamInfo) -> None:
        self._infos[spec.serial] = info

    def submit(self, batch: Batch) -> None:
        """Commit the batch now; a failure is raised here, at once."""
        self._done = commit_batch(self._transaction, self._source, self._run_id, batch, self._infos)

    @contextlib.contextmanager
    def _transaction(self) -> Any:
        if self._conn is not None:
            yield self._conn
            return
        with self._store.transaction() as conn:
            yield conn

    @property
    def pending(self) -> int:
        return 0 if self._done is None else 1

    def result(self) -> Outcome:
        done, self._done = self._done, None
        assert done is not None, "no batch in flight"
        return done

    def close(self) -> None:
        self._done = None


class WriterProcess:
    """The writer in a child process, fed prepared batches through a pipe (see the module
    docstring).

    Two batches may be unanswered: this process prepares the newer while the writer commits
    the older."""

    depth = 2

    def __init__(self, store: Store, source: str, run_id: int, *, fork: bool | None = None) -> None:
        """`fork`: None forks on Linux and spawns elsewhere (macOS and Windows)."""
        self._source = source
        if fork is None:
            fork = sys.platform.startswith("linux")
        context: ForkContext | SpawnContext = (
            multiprocessing.get_context("fork") if fork else multiprocessing.get_context("spawn")
        )
        ours, theirs = context.Pipe()
        self._pipe: Pipe = ours
        self._process = context.Process(
            target=_serve,
            args=(theirs, store.url, source, run_id, os.getpid()),
            name=f"crmhub-write-{source}",
            daemon=True,  # never outlives a sync that exits without closing it
        )
        # Ctrl-C held back while forking, so the writer cannot take one before it ignores it
        masked = hasattr(signal, "pthread_sigmask")
        before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if masked else None
        try:
            self._process.start()
        finally:
            if before is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, before)
        theirs.close()
        self._pending = 0
        self._infos: dict[int, StreamInfo] = {}
        self._failed = False
        self._closed = False
        _fewer_collections.enter()

    def add_stream(self, spec: StreamSpec, info: StreamInfo) -> None:
        self._infos[spec.serial] = info

    def submit(self, batch: Batch) -> None:
        """Prepare the batch here and hand it over as columns (`hub.sync.handover`); a
        batch that fails to prepare is handed over as that failure, so it is answered in
        its turn (the batches before it are committed, none after it)."""
        message: Handover | _Failure
        if self._failed:  # refused in the writer too: nothing is prepared after a failure
            message = (None, "")
        else:
            try:
                message = prepare_handover(
                    batch.groups,
                    self._infos,
                    quarantined=batch.quarantined,
                    state=batch.state,
                    full_table=batch.full_table,
                )
            except Exception as exc:
                trace = f"(preparing it, in the sync's process)\n{traceback.format_exc()}"
                message, self._failed = (_picklable(exc), trace), True
        self._send(message)
        self._pending += 1

    @property
    def pending(self) -> int:
        return self._pending

    def result(self) -> Outcome:
        """The outcome of the oldest batch in flight; its failure raised here, with the
        writer's own error (and its traceback as a note)."""
        assert self._pending, "no batch in flight"
        self._pending -= 1
        try:
            reply = self._pipe.recv()
        except (EOFError, OSError):
            raise self._died() from None
        if isinstance(reply, Outcome):
            return reply
        error, trace = reply
        if error is None:
            raise SyncError(self._source, "not written: an earlier batch of this sync failed")
        error.add_note(f"in the writer process:\n{trace}")
        raise error

    def _send(self, message: Any) -> None:
        try:
            self._pipe.send(message)
        except (BrokenPipeError, OSError):
            raise self._died() from None

    def _died(self) -> SyncError:
        self._process.join(timeout=5)
        code = self._process.exitcode
        return SyncError(
            self._source,
            f"the writer process ended unexpectedly (exit code {code}); what it committed "
            "stays, and the next sync resumes from there",
        )

    def close(self) -> None:
        """Stop the writer after its last batch (any batch in flight is answered first);
        closing it again does nothing."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(BrokenPipeError, OSError):
            self._pipe.send(None)
        self._process.join(timeout=60)
        if self._process.is_alive():  # never expected: it was told to stop
            self._process.kill()
            self._process.join()
        self._pipe.close()
        _fewer_collections.leave()


class _FewerCollections:
    """Python's cyclic garbage collector runs less often while any sync's writer process
    is open, and as before once the last is closed. Preparing a batch allocates hundreds of
    thousands of objects that reference counting frees; a collection every 700 allocations
    (the default) cost the preparing process ~10 % of its time, as it did the writer."""

    THRESHOLD = (50_000, 50, 1000)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self._before: tuple[int, int, int] | None = None

    def enter(self) -> None:
        with self._lock:
            if self._open == 0:
                self._before = gc.get_threshold()
                gc.set_threshold(*self.THRESHOLD)
            self._open += 1

    def leave(self) -> None:
        with self._lock:
            self._open -= 1
            if self._open == 0 and self._before is not None:
                gc.set_threshold(*self._before)
                self._before = None


_fewer_collections = _FewerCollections()


def _die_with_parent(parent: int) -> None:
    """Linux: have the kernel kill this process when its parent dies (`kill -9` included)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before that took effect
        os._exit(1)


def _serve(pipe: Pipe, url: str, source: str, run_id: int, parent: int) -> None:
    """The writer process: this thread receives each prepared batch, a second one commits
    them in order and answers each with its outcome or error."""
    _die_with_parent(parent)
    # a batch allocates hundreds of thousands of objects that reference counting frees; a
    # collection every 700 allocations (the default) cost this process ~10 % of its time
    gc.set_threshold(*_FewerCollections.THRESHOLD)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if hasattr(signal, "pthread_sigmask"):  # held back since the fork: now it is ignored
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    store = Store(url)
    received: queue.Queue[Handover | _Failure | None] = queue.Queue(maxsize=1)
    committer = threading.Thread(
        target=_commit_in_order, args=(pipe, store, source, run_id, received), daemon=True
    )
    committer.start()
    try:
        while True:
            message = pipe.recv()
            if message is None:
                return
            received.put(message)
    except EOFError:  # the parent is gone
        return
    finally:
        received.put(None)
        committer.join()
        store.dispose()
        pipe.close()


_Failure = tuple[Exception | None, str]  # an error and its traceback (None: refused)


def write_handover(transaction: Any, source: str, run_id: int, ready: Handover) -> Outcome:
    """Write a prepared batch and its STATE in one transaction (`transaction()` is a context
    manager giving the connection)."""
    with transaction() as conn:
        counts = write_streams(
            conn,
            source=source,
            run_id=run_id,
            streams=ready.streams,
            quarantined=ready.quarantined,
            full_table_streams=ready.full_table,
            deleted=ready.deleted,
        )
        if ready.state is not None:
            save_state(conn, source, ready.state, run_id)
    return Outcome(counts, ready.problems)


def _commit_in_order(
    pipe: Pipe,
    store: Store,
    source: str,
    run_id: int,
    received: queue.Queue[Handover | _Failure | None],
) -> None:
    """Commit each prepared batch with its STATE; after a failure commit nothing more (a
    later batch's STATE would cover the failed batch's records), answering each with why."""
    failed = gone = False
    while (ready := received.get()) is not None:
        if gone:  # the parent is gone: take the rest off the queue, write nothing more
            continue
        reply: Outcome | _Failure
        if failed:
            reply = (None, "")  # refused: the parent says why
        elif isinstance(ready, tuple):  # it failed to prepare, in the sync's process
            reply, failed = ready, True
        else:
            try:
                reply = write_handover(store.transaction, source, run_id, ready)
            except Exception as exc:
                reply, failed = (_picklable(exc), traceback.format_exc()), True
        try:
            pipe.send(reply)
        except OSError:
            gone = True


def _rebuilt_sync_error(connector: str, text: str, retriable: bool) -> SyncError:
    return SyncError(connector, text.removeprefix(f"{connector}: "), retriable=retriable)


def _reduce_sync_error(error: SyncError) -> tuple[Any, tuple[str, str, bool]]:
    return _rebuilt_sync_error, (error.connector, str(error), error.retriable)


# a SyncError raised in the writer reaches the sync as itself, retriable or not
copyreg.pickle(SyncError, _reduce_sync_error)


def _picklable(error: Exception) -> Exception:
    """The error itself when it survives the pipe, else a RuntimeError with its text."""
    try:  # our own bytes, from the exception just raised: not untrusted data
        pickle.loads(pickle.dumps(error))  # noqa: S301
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error
