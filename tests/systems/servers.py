"""Real local servers for the system tests: each system in its own virtualenv, started as a
subprocess on a free loopback port and stopped by its PID.

`system_venv("tryton", ["trytond==8.2.*", ...])` creates `.venv/systems/tryton` once (uv,
from PyPI) and reuses it while the requirements are unchanged; `make test` thus installs
what the servers need on first use, without touching the hub's own environment.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["REPO", "built_once", "free_port", "running", "system_venv", "wait_until"]

REPO = Path(__file__).resolve().parents[2]
SYSTEMS_DIR = REPO / ".venv" / "systems"


def _uv() -> str:
    found = Path(sys.executable).parent / "uv"
    return str(found) if found.exists() else (shutil.which("uv") or "uv")


@contextmanager
def built_once(name: str) -> Iterator[None]:
    """Hold `name`'s build lock in .venv/systems/: the pytest workers of a fresh clone import
    a system's test modules at the same time, and only one of them may build what they
    share (the other waits, then finds it built)."""
    SYSTEMS_DIR.mkdir(parents=True, exist_ok=True)
    with (SYSTEMS_DIR / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def system_venv(name: str, requirements: Sequence[str], python: str = "3.11") -> Path:
    """The bin/ folder of a virtualenv holding `requirements` (created on first use)."""
    venv = SYSTEMS_DIR / name
    stamp = venv / (".installed-" + hashlib.sha1("\n".join(requirements).encode()).hexdigest()[:12])
    if stamp.exists():
        return venv / "bin"
    with built_once(f"venv-{name}"):
        if stamp.exists():  # another worker built it meanwhile
            return venv / "bin"
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run(
            [_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True
        )
        subprocess.run(
            [
                _uv(),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(venv / "bin" / "python"),
                *requirements,
            ],
            check=True,
            timeout=900,
        )
        stamp.touch()
    return venv / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], *, timeout: float = 60.0, what: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up within {timeout:.0f} s")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def running(
    command: Sequence[str],
    *,
    port: int,
    log: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    ready: Callable[[], bool] | None = None,
    timeout: float = 90.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server until the block ends; stop it (and only it) by its PID."""
    handle = log.open("wb")
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: process.poll() is None and (ready() if ready else port_open(port)),
            timeout=timeout,
            what=f"{command[0]} (log: {log})",
        )
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        handle.close()
