"""Hub locks: the same work never runs twice at once, a dead holder's lock is taken over."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import sys

import pytest
import sqlalchemy as sa

from hub.store.database import Store, now
from hub.store.locks import LockError, hub_lock, release_lock
from hub.store.tables import connector_runs, hub_locks
from hub.sync.run import sync_connector
from tests.hub.conftest import ResolvedHub

HERE = (socket.gethostname(), os.getpid())


def holders(store: Store) -> dict[str, tuple[str, int, dt.datetime]]:
    """Each held lock: its holder's host and pid, and since when (UTC)."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(hub_locks)).all()
    return {
        r.name: (r.host, r.pid, r.acquired_at.replace(tzinfo=r.acquired_at.tzinfo or dt.UTC))
        for r in rows
    }


def assert_held_by_us(store: Store, name: str, started: dt.datetime) -> dt.datetime:
    host, pid, since = holders(store)[name]
    assert (host, pid) == HERE
    assert started - dt.timedelta(seconds=1) <= since <= now() + dt.timedelta(seconds=1)
    return since


def test_a_held_lock_refuses_a_second_holder_and_frees_on_exit(store: Store) -> None:
    started = now()
    with hub_lock(store, "sync:erp"):
        since = assert_held_by_us(store, "sync:erp", started)
        host, pid = HERE
        with (
            pytest.raises(LockError) as refused,
            hub_lock(store, "sync:erp"),
        ):
            pass
        assert str(refused.value) == (
            f"sync:erp is already running (pid {pid} on {host}, since "
            f"{since:%Y-%m-%d %H:%M:%S}); wait for it to finish"
        )
        assert set(holders(store)) == {"sync:erp"}  # the refused attempt left nothing
        with hub_lock(store, "sync:billing"):  # other names are independent
            assert set(holders(store)) == {"sync:erp", "sync:billing"}
            assert_held_by_us(store, "sync:billing", started)
        assert set(holders(store)) == {"sync:erp"}
    assert holders(store) == {}  # released
    with hub_lock(store, "sync:erp"):
        assert_held_by_us(store, "sync:erp", started)
    assert holders(store) == {}


def test_a_lock_left_by_a_dead_process_is_taken_over(store: Store) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    with store.transaction() as conn:
        conn.execute(
            hub_locks.insert().values(
                name="resolve",
                host=socket.gethostname(),
                pid=int(dead.stdout),
                acquired_at=now() - dt.timedelta(hours=1),
            )
        )
    started = now()
    with hub_lock(store, "resolve"):
        assert_held_by_us(store, "resolve", started)  # the dead process's row is gone
    assert holders(store) == {}


def test_a_remote_lock_is_refused_until_unlocked(store: Store) -> None:
    since = dt.datetime(2026, 3, 1, 12, 30, 5, tzinfo=dt.UTC)
    with store.transaction() as conn:
        conn.execute(
            hub_locks.insert().values(
                name="push:erp", host="worker-7.example", pid=1, acquired_at=since
            )
        )
    held = holders(store)["push:erp"]
    assert held == ("worker-7.example", 1, since)
    with (
        pytest.raises(
            LockError,
            match=re.escape(
                "push:erp is already running (pid 1 on worker-7.example, "
                f"since {held[2]:%Y-%m-%d %H:%M:%S})"
            ),
        ),
        hub_lock(store, "push:erp"),
    ):
        pass
    assert holders(store) == {"push:erp": ("worker-7.example", 1, since)}  # left alone
    assert release_lock(store, "push:erp") is True
    assert holders(store) == {}
    assert release_lock(store, "push:erp") is False  # nothing left to remove
    started = now()
    with hub_lock(store, "push:erp"):
        assert_held_by_us(store, "push:erp", started)


def test_a_sync_refuses_while_the_same_connector_syncs(sqlite_hub: ResolvedHub) -> None:
    hub = sqlite_hub
    host, pid = HERE
    runs_before = erp_runs(hub.store)
    with hub_lock(hub.store, "sync:erp"):
        with pytest.raises(LockError, match=re.escape(f"(pid {pid} on {host}, since ")):
            sync_connector(hub.config, hub.store, hub.config.connector("erp"))
        assert set(holders(hub.store)) == {"sync:erp"}  # still ours, not released by the refusal
    assert erp_runs(hub.store) == runs_before  # the refused sync did not start a run
    assert holders(hub.store) == {}


def erp_runs(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(connector_runs.c.connector == "erp")
            ).scalar_one()
        )
