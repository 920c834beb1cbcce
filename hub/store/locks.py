"""Named locks in the hub store, so two runs of the same work never overlap.

`sync:<connector>`, `resolve` and `push:<connector>` are taken for the length of the run,
whoever starts it (the CLI, an Airflow task on any worker, a script). The lock is a row in
`hub_locks`; a row left by a process that died on this host is taken over, one held by a
live process (or on another host, where liveness cannot be checked) is refused with who
holds it — remove a stale remote lock with `crmhub unlock NAME` once that host is gone.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hub.core.clock import now
from hub.core.errors import HubError
from hub.store.database import Store, process_alive
from hub.store.tables import hub_locks

__all__ = ["LockError", "hub_lock", "release_lock"]


class LockError(HubError):
    """The same work is already running; the message names where and since when."""


def _try(store: Store, name: str, host: str, pid: int) -> bool:
    try:
        with store.transaction() as conn:
            conn.execute(
                hub_locks.insert().values(name=name, host=host, pid=pid, acquired_at=now())
            )
        return True
    except IntegrityError:
        return False


@contextmanager
def hub_lock(store: Store, name: str) -> Iterator[None]:
    """Hold lock `name` for the block, or raise LockError naming the holder."""
    host, pid = socket.gethostname(), os.getpid()
    if not _try(store, name, host, pid):
        with store.engine.connect() as conn:
            held = conn.execute(sa.select(hub_locks).where(hub_locks.c.name == name)).first()
        if held is not None and held.host == host and not process_alive(held.pid):
            with store.transaction() as conn:  # left by a process that died on this host
                conn.execute(
                    hub_locks.delete().where(hub_locks.c.name == name, hub_locks.c.pid == held.pid)
                )
            held = None
        if held is None:
            if not _try(store, name, host, pid):
                raise LockError(f"{name} was just started by another process; try again later")
        else:
            raise LockError(
                f"{name} is already running (pid {held.pid} on {held.host}, since "
                f"{held.acquired_at:%Y-%m-%d %H:%M:%S}); wait for it to finish"
            )
    try:
        yield
    finally:
        with store.transaction() as conn:
            conn.execute(
                hub_locks.delete().where(
                    hub_locks.c.name == name, hub_locks.c.host == host, hub_locks.c.pid == pid
                )
            )


def release_lock(store: Store, name: str) -> bool:
    """Remove a lock whatever holds it (for a host that is gone); True if one was removed."""
    with store.transaction() as conn:
        return bool(conn.execute(hub_locks.delete().where(hub_locks.c.name == name)).rowcount)
