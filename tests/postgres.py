"""A real, throw-away PostgreSQL server for the tests (Debian's `postgresql` package).

Started once per test session on a temp dir and a free loopback port; `make test`
installs the package if it is missing. As root, the server runs as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PostgresServer", "postgres_server"]


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version)
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} not found — run `make test` (it installs Debian's postgresql)"
        )
    return found[-1]


def _version(path: str) -> float:
    try:
        return float(Path(path).parts[-3])
    except ValueError:
        return 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A running server; `create_database()` hands out fresh databases, empty or copied."""

    def __init__(self, port: int, run_as: list[str], socket_dir: Path) -> None:
        self.port = port
        self._run_as = run_as
        self._socket_dir = socket_dir
        self._n = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str | None = None) -> str:
        """A new database: empty, or a copy of database `template` (which must have no
        open connections) — PostgreSQL copies the files, far quicker than rebuilding it."""
        self._n += 1
        name = f"crmhub_test_{os.getpid()}_{self._n}"
        done = subprocess.run(
            [
                *self._run_as,
                _bin("createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                *(["--template", template] if template else []),
                name,
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"createdb {name} failed: {done.stderr.strip()}")
        return self.url(name)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    root = Path(tempfile.mkdtemp(prefix="crmhub-pg-"))
    data = root / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *run_as,
            _bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [
            *run_as,
            _bin("pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield PostgresServer(port, run_as, root)
    finally:
        subprocess.run(
            [*run_as, _bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
