"""Third-party Singer taps from PyPI against a real PostgreSQL `erp` database.

The taps are installed once per session, each into its own virtualenv, by the hub's own
`install_plugin` (as a `pip_url` in hub.yaml would): under `CRMHUB_PLUGIN_DIR` (`make test`
sets `.venv/plugins`), else `.venv/plugins` of this checkout. The `erp` database is seeded
once on the suite's PostgreSQL server (`pg_server`) and every test gets its own copy of it.

The taps sign in as `erp_reader` with a password (a `pg_hba.conf` line for that role asks
for one; the rest of the server stays `trust`), so a secret that does not reach the tap
fails the test instead of passing unnoticed.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from hub.sync.runners import install_plugin
from schemas.config import ConnectorConfig
from tests.postgres import PostgresServer
from tests.systems.servers import REPO
from tests.systems.singer_taps.mariadb_erp import (  # noqa: F401 — the MySQL taps' fixtures
    mariadb,
    mysql_erp,
    mysql_erp_seed,
    mysql_reader_env,
    mysql_taps,
)

MELTANOLABS = "meltanolabs-tap-postgres==0.10.0"
PIPELINEWISE = "pipelinewise-tap-postgres==2.1.0"
CSV_FOLDER = "tap-csv-folder==0.0.1a1"
READER = "erp_reader"
READER_PASSWORD = "r3ader-Secret"  # a test role's password, on a throw-away server
CUSTOMERS = 1_000
ORDERS = 2_500
BIG = Decimal("12345678901234.5678")  # numeric(20,4): a float holds 12345678901234.568


@dataclass(frozen=True)
class Taps:
    """The plugin folder and each installed tap's executable."""

    plugin_dir: Path
    meltanolabs: Path
    pipelinewise: Path


@dataclass(frozen=True)
class Erp:
    """One copy of the seeded `erp` database."""

    port: int
    dbname: str
    superuser_dsn: str  # for the test's own changes (the taps use READER)

    def sum_of_amounts(self) -> Decimal:
        with psycopg.connect(self.superuser_dsn) as conn:
            total = conn.execute("SELECT sum(amount) FROM orders").fetchone()
        assert total is not None and isinstance(total[0], Decimal)
        return total[0]

    def count(self, table: str) -> int:
        with psycopg.connect(self.superuser_dsn) as conn:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            row = conn.execute(query).fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture(scope="session")
def taps() -> Taps:
    """Both taps, installed from PyPI by the hub's installer (each in its own venv)."""
    plugins = Path(os.environ.get("CRMHUB_PLUGIN_DIR") or REPO / ".venv" / "plugins")
    meltano = ConnectorConfig(name="tap-postgres", pip_url=MELTANOLABS, executable="tap-postgres")
    pipelinewise = ConnectorConfig(
        name="pipelinewise-tap-postgres", pip_url=PIPELINEWISE, executable="tap-postgres"
    )
    return Taps(plugins, install_plugin(meltano, plugins), install_plugin(pipelinewise, plugins))


@pytest.fixture(scope="session")
def csv_folder_tap() -> Path:
    """tap-csv-folder (singer-sdk, a file tap keyed by `_sdc_path`/`_sdc_line_number`)."""
    plugins = Path(os.environ.get("CRMHUB_PLUGIN_DIR") or REPO / ".venv" / "plugins")
    conn = ConnectorConfig(name="tap-csv-folder", pip_url=CSV_FOLDER, executable="tap-csv-folder")
    return install_plugin(conn, plugins)


def _seed(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute(
        """
        CREATE TABLE customers (
            id serial PRIMARY KEY,
            first_name text NOT NULL,
            last_name text NOT NULL,
            email text,
            internal_note text,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE orders (
            id serial PRIMARY KEY,
            customer_id integer NOT NULL REFERENCES customers,
            amount numeric(20, 4),
            currency char(3) NOT NULL DEFAULT 'EUR',
            ordered_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """
    )
    rng = random.Random(13)
    firsts = ["Anna", "Bence", "Csilla", "Dóra", "Emil", "Ferenc", "Gréta", "Hugo"]
    lasts = ["Kovács", "Nagy", "Tóth", "Szabó", "Horváth", "Varga", "Kiss", "Molnár"]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO customers (first_name, last_name, email, internal_note, updated_at)"
            " VALUES (%s, %s, %s, %s, timestamptz '2026-01-01 00:00:00+00' + %s * interval '1 s')",
            [
                (
                    rng.choice(firsts),
                    rng.choice(lasts),
                    f"customer{n}@example.com",
                    f"credit limit note {n}",
                    n,
                )
                for n in range(1, CUSTOMERS + 1)
            ],
        )
        amounts = [BIG, Decimal("0.01"), Decimal("-0.01"), Decimal("99999999.9999")]
        amounts += [Decimal(rng.randint(1, 99_999_999)).scaleb(-2) for _ in range(ORDERS - 4)]
        cur.executemany(
            "INSERT INTO orders (customer_id, amount, ordered_at, updated_at) VALUES"
            " (%s, %s, timestamptz '2026-02-01 00:00:00+00' + %s * interval '1 min',"
            " timestamptz '2026-01-01 00:00:00+00' + %s * interval '1 s')",
            [(1 + n % CUSTOMERS, amount, n, n) for n, amount in enumerate(amounts)],
        )
        cur.execute("INSERT INTO orders (customer_id, amount, ordered_at) VALUES (1, NULL, now())")
    conn.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'")
    conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}")


def _require_password(server: PostgresServer) -> None:
    """Put `host all erp_reader ... scram-sha-256` first in pg_hba.conf and reload."""
    with psycopg.connect(_dsn(server.port, "postgres"), autocommit=True) as conn:
        row = conn.execute("SHOW hba_file").fetchone()
        assert row is not None
        hba = Path(str(row[0]))
        rule = f"host all {READER} 127.0.0.1/32 scram-sha-256\n"
        text = hba.read_text(encoding="utf-8")
        if rule not in text:
            hba.write_text(rule + text, encoding="utf-8")
        conn.execute("SELECT pg_reload_conf()")


def _dsn(port: int, dbname: str) -> str:
    return f"host=127.0.0.1 port={port} user=postgres dbname={dbname}"


@pytest.fixture(scope="session")
def erp_template(pg_server: PostgresServer) -> str:
    """The seeded `erp` database (copied for each test, never changed itself)."""
    with psycopg.connect(_dsn(pg_server.port, "postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS erp")
        conn.execute(f"DROP ROLE IF EXISTS {READER}")
        conn.execute("CREATE DATABASE erp")
    with psycopg.connect(_dsn(pg_server.port, "erp")) as conn:
        _seed(conn)
    _require_password(pg_server)
    return "erp"


@pytest.fixture
def erp(pg_server: PostgresServer, erp_template: str) -> Iterator[Erp]:
    """A fresh copy of `erp` for one test (the taps read it as `erp_reader`)."""
    url = pg_server.create_database(template=erp_template)
    dbname = url.rsplit("/", 1)[1]
    yield Erp(pg_server.port, dbname, _dsn(pg_server.port, dbname))
    with psycopg.connect(_dsn(pg_server.port, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture
def reader_env(monkeypatch: pytest.MonkeyPatch, taps: Taps) -> None:
    """The environment a user would export: the plugin folder and the reader's password,
    under Meltano's name (`TAP_POSTGRES_PASSWORD`) and a `${VAR}` one (`ERP_PASSWORD`)."""
    monkeypatch.setenv("CRMHUB_PLUGIN_DIR", str(taps.plugin_dir))
    monkeypatch.setenv("TAP_POSTGRES_PASSWORD", READER_PASSWORD)
    monkeypatch.setenv("ERP_PASSWORD", READER_PASSWORD)
