"""Hub locks: the same work never runs twice at once, a dead holder's lock is taken over."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from hub.store.database import Store, now
from hub.store.locks import LockError, hub_lock, release_lock
from hub.store.tables import hub_locks
from hub.sync.run import sync_connector
from tests.hub.conftest import ResolvedHub


def test_a_held_lock_refuses_a_second_holder_and_frees_on_exit(store: Store) -> None:
    with hub_lock(store, "sync:erp"):
        with (
            pytest.raises(LockError, match=r"sync:erp is already running \(pid \d+ on "),
            hub_lock(store, "sync:erp"),
        ):
            pass
        with hub_lock(store, "sync:billing"):  # other names are independent
            pass
    with hub_lock(store, "sync:erp"):  # released
        pass


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
                name="resolve", host=socket.gethostname(), pid=int(dead.stdout), acquired_at=now()
            )
        )
    with hub_lock(store, "resolve"):
        pass


def test_a_remote_lock_is_refused_until_unlocked(store: Store) -> None:
    with store.transaction() as conn:
        conn.execute(
            hub_locks.insert().values(
                name="push:erp", host="worker-7.example", pid=1, acquired_at=now()
            )
        )
    with pytest.raises(LockError, match=r"worker-7\.example"), hub_lock(store, "push:erp"):
        pass
    assert release_lock(store, "push:erp") is True
    with hub_lock(store, "push:erp"):
        pass


def test_a_sync_refuses_while_the_same_connector_syncs(sqlite_hub: ResolvedHub) -> None:
    hub = sqlite_hub
    with hub_lock(hub.store, "sync:erp"), pytest.raises(LockError, match="sync:erp"):
        sync_connector(hub.config, hub.store, hub.config.connector("erp"))
