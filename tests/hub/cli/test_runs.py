"""`crmhub sync` as an operator sees it, as real processes: one quarantine line per
connector, exit 3 when another run holds the lock, and Ctrl-C mid-sync."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.cli.example import write_example
from hub.store.database import Store
from hub.store.locks import hub_lock
from hub.store.tables import connector_runs, raw_records, stream_state
from tests.cli import crmhub as run_crmhub
from tests.hub.helpers import make_erp, write_project

ENV = {"PATH": "/usr/bin:/bin", "COLUMNS": "80"}


def crmhub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_crmhub(*args, cwd=cwd, columns=80, timeout=120)


def test_help_documents_the_exit_codes(tmp_path: Path) -> None:
    out = crmhub("--help", cwd=tmp_path)
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    assert "3 locked by another run" in text and "130 interrupted" in text


def test_sync_prints_one_quarantine_line_per_connector_and_no_row_warnings(
    tmp_path: Path,
) -> None:
    write_example(tmp_path)
    out = crmhub("sync", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    # the example's bad rows: billing 2 (a short row, a non-number), support 2 (bad JSON,
    # no id) — each a count by stage and where to look, never one line per row
    assert (
        "billing: 2 records quarantined (2 parse) — crmhub quarantine --source billing"
        in out.stdout
    )
    assert (
        "support: 2 records quarantined (1 identity, 1 parse) — crmhub quarantine --source "
        "support" in out.stdout
    )
    assert "erp: 0 records quarantined" not in out.stdout  # nothing said when there is none
    both = out.stdout + out.stderr
    assert "quarantined row" not in both and "billing_customers.csv" not in both
    assert not [line for line in out.stderr.splitlines() if "WARNING" in line and ".csv:" in line]
    # the detail is in the quarantine table, where the line points
    listed = crmhub("quarantine", "--source", "billing", cwd=tmp_path)
    assert "billing_customers.csv:12" in listed.stdout

    dry = crmhub("sync", "--dry-run", "--connector", "billing", cwd=tmp_path)
    assert dry.returncode == 0 and "billing: 2 would be quarantined" in dry.stdout


def test_a_locked_sync_exits_3_naming_the_holder(tmp_path: Path) -> None:
    write_example(tmp_path)
    store = Store.open(f"sqlite:///{tmp_path / '.crmhub' / 'hub.db'}")
    try:
        with hub_lock(store, "sync:erp"):
            out = crmhub("sync", "--connector", "erp", cwd=tmp_path)
        with hub_lock(store, "sync:billing"):  # the second connector: the first one ran
            every = crmhub("sync", cwd=tmp_path)
    finally:
        store.dispose()
    assert out.returncode == 3, out.stdout + out.stderr
    assert "sync:erp is already running" in out.stderr and f"pid {os.getpid()}" in out.stderr
    assert "Traceback" not in out.stderr
    assert every.returncode == 3 and "sync:billing is already running" in every.stderr
    assert "erp: read 41, inserted 41" in every.stdout  # said, not lost with the refusal
    usage = crmhub("sync", "--connector", "nope", cwd=tmp_path)  # a config error stays 2
    assert usage.returncode == 2


def _count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar_one())


@pytest.mark.parametrize(
    ("signum", "after", "checkpoint"),
    # customers (30,000, incremental: singer-sdk sends a bookmark every 10,000 records and
    # at the stream's end), then orders (30,000, full table: no bookmark). For the case
    # without a checkpoint customers are read in full too: with a bookmark every 10,000
    # records, a signal sent after the first commit (5,000) raced the second one.
    [(signal.SIGINT, 31_000, True), (signal.SIGTERM, 1_000, False)],
    ids=["ctrl-c after a checkpoint", "sigterm before the first"],
)
def test_an_interrupted_sync_says_what_it_committed(
    tmp_path: Path, signum: signal.Signals, after: int, checkpoint: bool
) -> None:
    erp = tmp_path / "erp.sqlite"
    make_erp(erp, 30_000)  # 60,000 records: a few seconds, committed every 5,000 and at STATE
    config = write_project(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", erp)
    if not checkpoint:
        incremental = ", replication_key: updated_at"
        assert incremental in config.read_text()
        config.write_text(config.read_text().replace(incremental, ""))
    store = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "sync", "-c", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and _count(store) < after:
            time.sleep(0.02)
        assert proc.poll() is None, "the sync ended before it could be interrupted"
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    said = " ".join(stderr.split())
    found = re.search(r"interrupted — erp: ([\d,]+) records committed", said)
    assert found, stderr
    committed = int(found[1].replace(",", ""))
    if checkpoint:
        assert "up to the last checkpoint; the next sync resumes from there" in said
    else:
        assert "before its first checkpoint; the next sync reads it again" in said
    with store.engine.connect() as conn:
        run = conn.execute(sa.select(connector_runs)).one()
        states = conn.execute(
            sa.select(stream_state.c.state).where(stream_state.c.run_id == run.id)
        ).scalars()
        saved = any("replication_key_value" in state for state in states)
    stored = _count(store)
    store.dispose()
    assert run.status == "aborted" and run.error == "interrupted"  # not left 'running'
    assert run.finished_at is not None
    assert after <= committed == stored < 60_000  # what the store holds, counted once
    assert saved == checkpoint


WARNING_TAP = """\
#!{python}
import json, sys
print("2026-12-06 02:40:58 | WARNING  | singer_sdk | Stream is assumed to be unsorted",
      file=sys.stderr)
print(json.dumps({{"type": "SCHEMA", "stream": "people", "key_properties": ["id"],
                  "schema": {{"type": "object", "properties": {{"id": {{"type": "integer"}},
                                                              "name": {{"type": "string"}}}}}}}}))
print(json.dumps({{"type": "RECORD", "stream": "people", "record": {{"id": 1, "name": "Ann"}}}}))
"""


def test_a_tap_warning_is_summarised_once(tmp_path: Path) -> None:
    tap = tmp_path / "tap-warn"
    tap.write_text(WARNING_TAP.format(python=sys.executable), encoding="utf-8")
    tap.chmod(0o755)
    (tmp_path / "hub.yaml").write_text(
        f"""
store: {{url: "sqlite:///{tmp_path / "hub.db"}"}}
connectors:
  - name: tap-warn
    executable: ./tap-warn
    streams:
      people: {{entity: customer, mapping: {{full_name: name}}}}
""",
        encoding="utf-8",
    )
    out = crmhub("sync", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    said = " ".join((out.stdout + out.stderr).split())
    assert said.count("the tap logged 1 warning(s)") == 1, said
    assert "synced 1/1 connector(s): 1 read, 1 new" in said
