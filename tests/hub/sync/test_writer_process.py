"""The sync's writer process: a failed batch fails the run with the writer's own error and
commits nothing after it (no STATE past the last committed records), a writer that dies is
a clear error, a `kill -9` of the sync takes its writer with it, and the process path stores
exactly what the in-thread writer of a dry run stores."""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.core.errors import SyncError
from hub.store.database import Store
from hub.store.tables import raw_records, stream_state
from hub.sync import writer_process
from hub.sync.ingest import Ingestor
from hub.sync.writer_process import Batch, InlineWriter, StreamSpec, WriterProcess
from schemas.config import ConnectorConfig

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer", "null"]},
        "email": {"type": ["string", "null"]},
        "first_name": {"type": ["string", "null"]},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
CONNECTOR = ConnectorConfig.model_validate(
    {
        "name": "erp",
        "type": "sql",
        "streams": {
            "customers": {
                "entity": "customer",
                "mapping": {"given_name": "first_name", "kind": {"const": "person"}},
            }
        },
    }
)


def customer(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "email": f"c{n}@example.com",
        "first_name": f"Name{n}",
        "updated_at": f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}+00:00",
    }


def feed(ingestor: Ingestor, first: int, last: int, *, state_every: int = 0) -> None:
    """Records `first..last`, with a STATE bookmarking the last id after every
    `state_every` records (as a tap checkpoints)."""
    for n in range(first, last + 1):
        ingestor.record("customers", customer(n))
        if state_every and n % state_every == 0:
            ingestor.set_state({"bookmarks": {"customers": {"replication_key_value": n}}})


def stored_ids(store: Store) -> set[int]:
    with store.engine.connect() as conn:
        return {int(i) for (i,) in conn.execute(sa.select(raw_records.c.source_id))}


def bookmark(store: Store) -> Any:
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(stream_state.c.state).where(stream_state.c.stream == "customers")
        ).first()
    return None if row is None else row.state["replication_key_value"]


def new_ingestor(store: Store, batch_size: int = 100) -> Ingestor:
    run_id = store.start_run("erp", full_refresh=False)
    ingestor = Ingestor(store, CONNECTOR, run_id, batch_size=batch_size)
    ingestor.schema("customers", SCHEMA, ["id"], ["updated_at"])
    return ingestor


def test_a_file_store_is_written_by_a_process(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    ingestor = new_ingestor(store)
    feed(ingestor, 1, 250)
    assert isinstance(ingestor._writer, WriterProcess)
    writer_pid = ingestor._writer._process.pid
    assert writer_pid != os.getpid()
    counts = ingestor.finish(complete=True)
    assert counts.inserted == 250
    assert stored_ids(store) == set(range(1, 251))


def test_an_in_memory_store_is_written_in_the_syncs_thread() -> None:
    """A second process (or another pooled thread) would see another, empty database."""
    store = Store.open("sqlite://")
    ingestor = new_ingestor(store)
    feed(ingestor, 1, 250, state_every=100)
    assert isinstance(ingestor._writer, InlineWriter)
    assert ingestor.finish(complete=True).inserted == 250
    assert stored_ids(store) == set(range(1, 251))
    assert bookmark(store) == 200


def test_a_spawned_writer_works_as_a_forked_one(tmp_path: Path) -> None:
    """macOS and Windows spawn the writer: everything it is sent must survive pickling."""
    store = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    run_id = store.start_run("erp", full_refresh=False)
    spec = StreamSpec(1, "customers", SCHEMA, ["id"], False, CONNECTOR.streams["customers"])
    writer = WriterProcess(store, "erp", run_id, fork=False)
    try:
        writer.add_stream(spec, spec.info("erp"))
        state = {"bookmarks": {"customers": {"replication_key_value": 3}}}
        writer.submit(
            Batch([("customers", 1, [customer(n) for n in (1, 2, 3)])], [], state, frozenset())
        )
        outcome = writer.result()
    finally:
        writer.close()
    assert outcome.counts.inserted == 3
    assert stored_ids(store) == {1, 2, 3}
    assert bookmark(store) == 3


def test_process_and_in_process_writers_store_the_same(tmp_path: Path) -> None:
    """A sync given a connection (as a dry run is) writes in its own thread: both paths
    leave the same rows, quarantine, counts and state."""
    found = {}
    for kind in ("process", "in-process"):
        store = Store.open(f"sqlite:///{tmp_path / kind}.db")
        run_id = store.start_run("erp", full_refresh=False)
        with store.engine.connect() as conn, conn.begin():
            given = conn if kind == "in-process" else None
            ingestor = Ingestor(store, CONNECTOR, run_id, given, batch_size=37)
            ingestor.schema("customers", SCHEMA, ["id"], ["updated_at"])
            feed(ingestor, 1, 120, state_every=50)
            ingestor.record("customers", {"id": None, "email": "x@example.com"})  # no id
            ingestor.record("customers", {"id": "seven", "updated_at": "2026"})  # schema
            writer = ingestor._writer
            ingestor.finish(complete=True)
        assert isinstance(writer, WriterProcess if kind == "process" else InlineWriter)
        with store.engine.connect() as conn:
            raw = conn.execute(
                sa.text(
                    "SELECT source_id, payload, content_hash FROM raw_records ORDER BY source_id"
                )
            ).all()
            canonical = conn.execute(
                sa.text(
                    "SELECT source_id, given_name, email, updated_at, content_hash "
                    "FROM customer_records ORDER BY source_id"
                )
            ).all()
            refused = conn.execute(
                sa.text("SELECT stage, reason, raw FROM quarantine ORDER BY stage")
            ).all()
        found[kind] = (raw, canonical, refused, ingestor.counts.as_dict(), bookmark(store))
    assert found["process"] == found["in-process"]
    raw, canonical, refused, counts, mark = found["process"]
    assert len(raw) == len(canonical) == 120
    assert [stage for stage, _, _ in refused] == ["identity", "schema"]
    assert counts["inserted"] == 120 and counts["quarantined"] == 2
    assert mark == 100


def test_a_failed_batch_fails_with_the_writers_error_and_commits_nothing_after(
    tmp_path: Path,
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    with store.engine.begin() as conn:  # the database refuses one record, as a real one can
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse_450 BEFORE INSERT ON raw_records "
            "WHEN NEW.source_id = '450' BEGIN SELECT RAISE(ABORT, 'refused by policy'); END"
        )
    ingestor = new_ingestor(store, batch_size=100)
    with pytest.raises(sa.exc.IntegrityError, match="refused by policy") as raised:
        feed(ingestor, 1, 1000, state_every=100)
    assert any("in the writer process" in note for note in raised.value.__notes__)
    with pytest.raises(SyncError, match="an earlier batch of this sync failed"):
        ingestor.abort()  # the batch handed over after the failed one is refused too
    committed = stored_ids(store)
    assert committed == set(range(1, 401))  # every batch before the refused one, none after
    assert bookmark(store) == 400  # the state never covers a record that is not stored


def test_a_batch_that_fails_to_prepare_fails_in_its_turn_and_nothing_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches are prepared in the sync's process: one that fails there is answered after
    the batches before it are committed, and none after it is written."""
    real = writer_process.prepare_handover
    calls = 0

    def failing_ninth(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 9:  # records 401-500 (each STATE goes as a batch of its own)
            raise ValueError("cannot prepare this batch")
        return real(*args, **kwargs)

    monkeypatch.setattr(writer_process, "prepare_handover", failing_ninth)
    store = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    ingestor = new_ingestor(store, batch_size=100)
    with pytest.raises(ValueError, match="cannot prepare") as raised:
        feed(ingestor, 1, 1000, state_every=100)
    assert any("in the sync's process" in note for note in raised.value.__notes__)
    with pytest.raises(SyncError, match="an earlier batch of this sync failed"):
        ingestor.abort()
    assert calls == 9  # nothing prepared after the failure
    assert stored_ids(store) == set(range(1, 401))
    assert bookmark(store) == 400


def test_a_sync_error_from_the_writer_keeps_its_kind() -> None:
    """Whether a failed run is retried depends on it (hub.sync.run classifies by type)."""
    error = SyncError("erp", "the store is read-only", retriable=True)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is SyncError
    assert (str(again), again.connector, again.retriable) == (str(error), "erp", True)


def test_a_dead_writer_is_a_clear_error(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    ingestor = new_ingestor(store)
    feed(ingestor, 1, 150)
    ingestor.flush()
    assert isinstance(ingestor._writer, WriterProcess)
    process = ingestor._writer._process
    os.kill(process.pid or 0, signal.SIGKILL)
    process.join(timeout=10)
    with pytest.raises(SyncError, match=r"writer process ended unexpectedly \(exit code -9\)"):
        feed(ingestor, 151, 400)
        ingestor.flush()
    with contextlib.suppress(SyncError):  # as a failed run does: closing does not hang
        ingestor.abort()
    assert ingestor._writer is None
    assert stored_ids(store) == set(range(1, 151))


def test_the_writer_ignores_ctrl_c(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group; the sync's abort() still needs its writer."""
    store = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    ingestor = new_ingestor(store)
    feed(ingestor, 1, 150)
    assert isinstance(ingestor._writer, WriterProcess)
    os.kill(ingestor._writer._process.pid or 0, signal.SIGINT)
    time.sleep(0.2)
    feed(ingestor, 151, 300)
    assert ingestor.finish(complete=True).inserted == 300


VICTIM = """
import sys, time
from hub.store.database import Store
from tests.hub.sync.test_writer_process import feed, new_ingestor
store = Store.open(sys.argv[1])
ingestor = new_ingestor(store)
feed(ingestor, 1, 150)
print(ingestor._writer._process.pid, flush=True)
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # a zombie waiting for init: dead


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_kill_9_of_the_sync_kills_its_writer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    Store.open(url).dispose()
    victim = subprocess.Popen(
        [sys.executable, "-c", VICTIM, url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert victim.stdout is not None
    writer_pid = int(victim.stdout.readline())
    assert not _gone(writer_pid)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    deadline = time.monotonic() + 10
    while not _gone(writer_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(writer_pid), "the writer outlived the killed sync"


def test_the_collector_threshold_is_lowered_while_a_writer_is_open_and_restored_once(
    tmp_path: Path,
) -> None:
    before = gc.get_threshold()
    store = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    ingestor = new_ingestor(store)
    feed(ingestor, 1, 150)  # the first batch starts the writer
    writer = ingestor._writer
    assert isinstance(writer, WriterProcess)
    assert gc.get_threshold() != before, "fewer collections while the writer is open"
    ingestor.finish(complete=True)
    writer.close()  # a second close changes nothing (no count below zero)
    assert gc.get_threshold() == before
    other = new_ingestor(store)
    feed(other, 151, 300)
    assert gc.get_threshold() != before
    other.finish(complete=True)
    assert gc.get_threshold() == before
