"""A real, throw-away MariaDB server for the tests (Debian's `mariadb-server` package).

Started once per test session on a temp datadir (`mariadb-install-db` first) and a free
loopback port, with the binary log on in ROW format so log-based taps can read it; stopped
by its PID at the end. `make test` installs the package if it is missing. As root, the
server drops to the `mysql` system user (`--user=mysql`), as PostgreSQL runs as `postgres`.

The tests talk to it through Debian's `mariadb` command-line client over the server's unix
socket as MariaDB's `root` (no Python MySQL driver needed); the taps under test connect
over TCP with their own users.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["MariaDBServer", "mariadb_server"]


def _bin(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if not found:
        raise RuntimeError(
            f"MariaDB's {name} not found — run `make test` (it installs Debian's mariadb-server)"
        )
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MariaDBServer:
    """A running server; `execute()` runs SQL as MariaDB's root over the unix socket."""

    def __init__(self, port: int, socket_path: Path) -> None:
        self.port = port
        self.socket_path = socket_path

    def execute(self, statements: str, database: str | None = None) -> list[list[str | None]]:
        """Run `statements` (one or more, `;`-separated) and return the last result's rows
        as text (NULL as `None`)."""
        done = subprocess.run(
            [
                _bin("mariadb"),
                "--no-defaults",
                f"--socket={self.socket_path}",
                "--user=root",
                "--batch",
                "--skip-column-names",
                "--raw",
                *([database] if database else []),
            ],
            input=statements,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            error = done.stderr.strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"mariadb ({database or 'no database'}): {error[0]}")
        return [
            [None if cell == "NULL" else cell for cell in line.split("\t")]
            for line in done.stdout.splitlines()
        ]


def _wait_ready(sock: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mariadbd exited at start: {log.read_text(errors='replace')}")
        ping = subprocess.run(
            [_bin("mariadb-admin"), "--no-defaults", f"--socket={sock}", "--user=root", "ping"],
            capture_output=True,
        )
        if ping.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"mariadbd did not answer within 60 s: {log.read_text(errors='replace')}")


@contextmanager
def mariadb_server() -> Iterator[MariaDBServer]:
    root = Path(tempfile.mkdtemp(prefix="crmhub-mariadb-"))
    data = root / "data"
    user: list[str] = []
    if os.geteuid() == 0:  # mariadbd will not run as root unless told to: drop to `mysql`
        shutil.chown(root, "mysql", "mysql")
        user = ["--user=mysql"]
    # the server's own settings, all on the command line (`--no-defaults` keeps any
    # /etc/mysql configuration out): loopback only, cheap durability, a ROW binary log
    settings = [
        "--skip-name-resolve",
        "--innodb-buffer-pool-size=64M",
        "--innodb-log-file-size=16M",
        "--innodb-flush-log-at-trx-commit=0",
        "--sync-binlog=0",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_ci",
    ]
    subprocess.run(
        [
            _bin("mariadb-install-db"),
            "--no-defaults",
            f"--datadir={data}",
            *user,
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *settings,
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    sock = root / "mysqld.sock"
    log = root / "error.log"
    process = subprocess.Popen(
        [
            _bin("mariadbd"),
            "--no-defaults",
            f"--datadir={data}",
            *user,
            "--bind-address=127.0.0.1",
            f"--port={port}",
            f"--socket={sock}",
            f"--pid-file={root / 'mysqld.pid'}",
            f"--log-error={log}",
            "--server-id=1",
            f"--log-bin={root / 'binlog'}",
            "--binlog-format=ROW",
            "--binlog-row-image=FULL",
            *settings,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(sock, process, log)
        yield MariaDBServer(port, sock)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)  # mariadbd shuts down cleanly on TERM
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(root, ignore_errors=True)
