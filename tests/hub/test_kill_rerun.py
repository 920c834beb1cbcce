"""A sync killed at any point and re-run loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import connector_runs, raw_records
from hub.sync.run import sync
from schemas.config import load_config
from tests.hub.helpers import make_erp, snapshot, write_project

ROWS = 20_000


@pytest.fixture(scope="module")
def erp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("erp") / "erp.sqlite"
    make_erp(path, ROWS)
    return path


@pytest.fixture(scope="module")
def expected(erp: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The reference: what one uninterrupted sync leaves in a store."""
    ref_dir = tmp_path_factory.mktemp("reference")
    ref_cfg = load_config(write_project(ref_dir, f"sqlite:///{ref_dir / 'hub.db'}", erp))
    ref_store = Store.open(ref_cfg)
    assert all(r.ok for r in sync(ref_cfg, ref_store, retry=RetryPolicy(attempts=1)))
    result = snapshot(ref_store)
    assert len(result["raw"]) == 2 * ROWS
    return result


def raw_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar_one())


@pytest.mark.parametrize("kill_after_rows", [0, 5_000, 21_000], ids=["at start", "early", "late"])
def test_kill_and_rerun_equals_one_clean_run(
    tmp_path: Path, erp: Path, store_url: str, kill_after_rows: int, expected: dict[str, Any]
) -> None:
    # the victim: a real `crmhub sync` process, SIGKILLed once the store holds enough rows
    config = write_project(tmp_path, store_url, erp)
    store = Store.open(store_url)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from hub.cli import main; main()", "sync", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if raw_count(store) >= kill_after_rows:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = raw_count(store)
    assert partial < 2 * ROWS, "the sync finished before it could be killed"

    cfg = load_config(config)
    [rerun] = sync(cfg, store, retry=RetryPolicy(attempts=1))
    assert rerun.ok, rerun.error
    assert snapshot(store) == expected
    with store.engine.connect() as conn:
        statuses = [
            s
            for (s,) in conn.execute(
                sa.select(connector_runs.c.status).order_by(connector_runs.c.id)
            )
        ]
    assert statuses[-1] == "succeeded" and set(statuses[:-1]) <= {"aborted"}
    assert len(statuses) <= 2  # the killed run (if it had started) is marked aborted

    [third] = sync(cfg, store, retry=RetryPolicy(attempts=1))  # nothing new: nothing written
    assert third.ok and third.counts.inserted == third.counts.updated == 0
    assert snapshot(store) == expected
