"""A real trytond 8.2 server (party, sale, account_invoice) on SQLite, for tests.

``with start_tryton(tmp_dir) as tryton:`` gives a running server on a free loopback port
and its ``url`` (no credentials), ``database``, ``user`` and ``password``. trytond lives in
its own virtualenv (``.venv/systems/tryton``); the initialised database (about a minute of
``trytond-admin``) is built once into ``.venv/systems/`` and copied for each server.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.systems.servers import SYSTEMS_DIR, built_once, free_port, running, system_venv

__all__ = ["MODULES", "REQUIREMENTS", "TrytonServer", "start_tryton"]

REQUIREMENTS = [
    "trytond==8.2.*",
    "trytond-party==8.2.*",
    "trytond-sale==8.2.*",
    "trytond-account-invoice==8.2.*",
    "phonenumbers",  # lets Tryton validate phone numbers offline (a refusal to test)
]
MODULES = ["party", "sale", "account_invoice"]
DATABASE = "crmhub"
USER = "admin"
PASSWORD = "tryton-admin-pw"  # a throwaway local test database


@dataclass(frozen=True)
class TrytonServer:
    """A running test server."""

    url: str
    database: str
    user: str
    password: str
    port: int
    log: Path

    @property
    def config(self) -> dict[str, object]:
        """The tap / writer settings for this server."""
        return {
            "url": self.url,
            "database": self.database,
            "user": self.user,
            "password": self.password,
        }


def _write_conf(folder: Path, port: int) -> Path:
    conf = folder / "trytond.conf"
    conf.write_text(
        f"[database]\nuri = sqlite://\npath = {folder / 'db'}\n\n"
        f"[web]\nlisten = 127.0.0.1:{port}\n\n[session]\nauthentications = password\n"
    )
    return conf


def _admin(bin_dir: Path, conf: Path, *args: str, env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        subprocess.run(
            [str(bin_dir / "trytond-admin"), "-c", str(conf), "-d", DATABASE, *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=600,
        )


def _template(bin_dir: Path) -> Path:
    """The initialised database file, built on first use and kept in .venv/systems/."""
    key = hashlib.sha1("\n".join([*REQUIREMENTS, *MODULES, PASSWORD]).encode()).hexdigest()[:12]
    template = SYSTEMS_DIR / f"tryton-{key}.sqlite"
    if template.exists():
        return template
    with built_once("tryton-template"):
        if not template.exists():  # another worker may have built it meanwhile
            _build_template(bin_dir, template)
    return template


def _build_template(bin_dir: Path, template: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="tryton-init-") as tmp:
        folder = Path(tmp)
        (folder / "db").mkdir()
        (folder / "db" / f"{DATABASE}.sqlite").touch()
        conf = _write_conf(folder, free_port())
        (folder / "pass").write_text(PASSWORD)
        env = {"TRYTONPASSFILE": str(folder / "pass")}
        log = SYSTEMS_DIR / "tryton-init.log"
        log.unlink(missing_ok=True)
        _admin(bin_dir, conf, "--all", "--email", "admin@example.com", env=env, log=log)
        _admin(bin_dir, conf, "-u", *MODULES, "--activate-dependencies", env=env, log=log)
        partial = template.with_suffix(".partial")
        shutil.copyfile(folder / "db" / f"{DATABASE}.sqlite", partial)
        partial.replace(template)  # atomic: a half-built template is never used


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
    except OSError:
        return False


@contextmanager
def start_tryton(tmp_dir: Path) -> Iterator[TrytonServer]:
    """Run trytond on a fresh copy of the initialised database until the block ends."""
    bin_dir = system_venv("tryton", REQUIREMENTS)
    template = _template(bin_dir)
    folder = Path(tmp_dir)
    (folder / "db").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, folder / "db" / f"{DATABASE}.sqlite")
    port = free_port()
    conf = _write_conf(folder, port)
    url = f"http://127.0.0.1:{port}"
    log = folder / "trytond.log"
    command = [str(bin_dir / "trytond"), "-c", str(conf), "-d", DATABASE]
    with running(command, port=port, log=log, ready=lambda: _answers(url)):
        yield TrytonServer(url, DATABASE, USER, PASSWORD, port, log)
