"""Steward writes of one server process queue on a lock (SQLite), and those of the server's
other processes on a lock file next to the database: the next writer starts the moment the
previous one commits instead of polling SQLite's busy handler (sleeps of 1 to 100 ms, the
override tail under 20 clients). PostgreSQL writers never take the locks."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from hub.store.tables import users
from hub.web.security import Hub
from tests.hub.conftest import ResolvedHub


def test_a_second_writer_waits_on_the_lock_and_starts_when_the_first_commits(
    sqlite_hub: ResolvedHub,
) -> None:
    hub = Hub(sqlite_hub.store, sqlite_hub.settings)
    first_in, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with hub.write() as conn:
            conn.execute(users.update().where(users.c.username == "vera").values(role="viewer"))
            order.append("first writes")
            first_in.set()
            release.wait(10)
        order.append("first committed")

    def second() -> None:
        with hub.write() as conn:
            order.append("second starts")
            conn.execute(sa.select(users.c.id)).all()

    a = threading.Thread(target=first)
    a.start()
    assert first_in.wait(10)
    b = threading.Thread(target=second)
    b.start()
    time.sleep(0.2)
    assert hub._writer.locked() and order == ["first writes"]  # queued, not in SQLite
    release.set()
    a.join(10)
    b.join(10)
    assert order == ["first writes", "first committed", "second starts"]
    assert not hub._writer.locked()


def test_a_failed_write_releases_the_queue(sqlite_hub: ResolvedHub) -> None:
    hub = Hub(sqlite_hub.store, sqlite_hub.settings)
    with pytest.raises(sa.exc.OperationalError), hub.write() as conn:
        conn.execute(sa.text("SELECT no_such_column FROM users"))
    assert not hub._writer.locked()
    with hub.write() as conn:  # the next writer gets in
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one() >= 1


def test_postgresql_writers_do_not_queue(hub: ResolvedHub) -> None:
    web = Hub(hub.store, hub.settings)
    with web.write() as conn:
        conn.execute(sa.select(users.c.id)).all()
        assert web._writer.locked() == (hub.store.dialect == "sqlite")


def test_a_writer_waits_for_another_process_holding_the_lock_file(
    sqlite_hub: ResolvedHub,
) -> None:
    """Another worker process (here: a child holding the lock file as a worker's write
    does) keeps this process's writer out of SQLite until it lets go."""
    hub = Hub(sqlite_hub.store, sqlite_hub.settings)
    lock_file = f"{sqlite_hub.store.engine.url.database}.writer-lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys\n"
            f"fd = os.open({lock_file!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "sys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = threading.Event()

        def write() -> None:
            with hub.write() as conn:
                started.set()
                conn.execute(sa.select(users.c.id)).all()

        writer = threading.Thread(target=write)
        writer.start()
        assert not started.wait(0.5), "the writer got in while another process held the lock"
        assert hub._writer.locked()  # it holds its own process's queue meanwhile
        assert holder.stdin is not None
        holder.stdin.write("done\n")
        holder.stdin.flush()
        assert started.wait(10), "the writer never got in after the other process let go"
        writer.join(10)
    finally:
        holder.kill()
        holder.wait(10)
    assert not hub._writer.locked()
