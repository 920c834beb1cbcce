"""Fixtures for the MySQL-family taps: a real MariaDB with an `erp` database, seeded once.

The seed lives in `erp_seed` (which the taps' user cannot see); each test gets a fresh `erp`
copied from it (`CREATE TABLE … LIKE` + `INSERT … SELECT`, well under a second), so stream
names are the `erp-customers` / `erp-orders` a user's would be. The taps sign in as
`erp_reader` with a password, over TCP; the password reaches them only from the
environment (`TAP_MYSQL_PASSWORD`, Meltano's name), never from hub.yaml.

The tables hold what MySQL taps must carry across exactly: names with diacritics
(utf8mb4), `decimal(20,4)` money up to 12345678901234.5678 (a float holds
12345678901234.568), `date`, `time`, `varbinary`, `tinyint(1)` and `json` columns, and
`updated_at` columns for incremental replication.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from hub.sync.runners import install_plugin
from schemas.config import ConnectorConfig
from tests.mysql import MariaDBServer, mariadb_server
from tests.systems.servers import REPO

__all__ = [
    "BIG",
    "CUSTOMERS",
    "MELTANOLABS_MYSQL",
    "MYSQL_READER",
    "MYSQL_READER_PASSWORD",
    "ORDERS",
    "PIPELINEWISE_MYSQL",
    "SINGER_IO_MYSQL",
    "MySQLErp",
    "MySQLTaps",
    "mariadb",
    "mysql_erp",
    "mysql_erp_seed",
    "mysql_reader_env",
    "mysql_taps",
]

MELTANOLABS_MYSQL = "meltanolabs-tap-mysql==0.0.1a1"
PIPELINEWISE_MYSQL = "pipelinewise-tap-mysql==1.6.0"
SINGER_IO_MYSQL = "tap-mysql==1.17.7"  # the singer-io original pipelinewise forked
MYSQL_READER = "erp_reader"
MYSQL_READER_PASSWORD = "my-R3ader-Secret"  # a test user's password, on a throw-away server
CUSTOMERS = 1_000
ORDERS = 2_500
BIG = Decimal("12345678901234.5678")
TABLES = ("customers", "orders")

SCHEMA = """
CREATE TABLE customers (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    first_name varchar(100) NOT NULL,
    last_name varchar(100) NOT NULL,
    email varchar(200),
    phone varchar(40),
    birth_date date,
    is_active tinyint(1) NOT NULL DEFAULT 1,
    internal_note text,
    updated_at datetime(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE orders (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    customer_id int NOT NULL,
    amount decimal(20,4),
    currency char(3) NOT NULL DEFAULT 'EUR',
    ordered_at datetime NOT NULL,
    pickup_time time,
    fingerprint varbinary(16),
    details json,
    updated_at timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    KEY (customer_id),
    KEY (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
"""


@dataclass(frozen=True)
class MySQLTaps:
    """The plugin folder and each installed tap's executable."""

    plugin_dir: Path
    meltanolabs: Path
    pipelinewise: Path
    singer_io: Path


@dataclass(frozen=True)
class MySQLErp:
    """The fresh `erp` database of one test."""

    server: MariaDBServer
    dbname: str = "erp"

    @property
    def port(self) -> int:
        return self.server.port

    def execute(self, statements: str) -> list[list[str | None]]:
        """SQL as MariaDB's root in `erp` (the test's own changes; the taps use the reader)."""
        return self.server.execute(statements, self.dbname)

    def sum_of_amounts(self) -> Decimal:
        [[total]] = self.execute("SELECT sum(amount) FROM orders")
        assert total is not None
        return Decimal(total)

    def count(self, table: str) -> int:
        assert table in TABLES
        [[n]] = self.execute(f"SELECT count(*) FROM {table}")
        return int(n or 0)


class _Sql(str):
    """A value written into the script as SQL (a function call), not as a string."""


def _quote(value: object) -> str:
    if isinstance(value, _Sql):
        return str(value)
    if value is None:
        return "NULL"
    if isinstance(value, int | Decimal):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace("'", "''")
    return f"'{text}'"


def _rows(table: str, columns: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> str:
    values = ",\n".join("(" + ", ".join(_quote(v) for v in row) + ")" for row in rows)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES\n{values};\n"


def seed_sql() -> str:
    """The `erp` tables and their rows as one SQL script (deterministic)."""
    rng = random.Random(13)
    firsts = ["Anna", "Bence", "Csilla", "Dóra", "Émile", "Ferenc", "Gréta", "Łukasz", "Zoë"]
    lasts = ["Kovács", "Nagy", "Tóth", "Szabó", "Horváth", "Müller", "Øster", "Núñez", "Ďurek"]
    customers = [
        (
            n,
            rng.choice(firsts),
            rng.choice(lasts),
            f"customer{n}@example.com",
            f"+36 30 {n:03d} {rng.randint(1000, 9999)}",
            f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            n % 7 != 0,
            f"credit limit note {n}",
            f"2026-01-01 00:{n // 60 % 60:02d}:{n % 60:02d}.{n:06d}",
        )
        for n in range(1, CUSTOMERS + 1)
    ]
    amounts: list[Decimal | None] = [BIG, Decimal("0.01"), Decimal("-0.01")]
    amounts += [Decimal("99999999.9999")]
    amounts += [Decimal(rng.randint(1, 99_999_999)).scaleb(-2) for _ in range(ORDERS - 4)]
    amounts.append(None)  # an order without an amount
    orders = [
        (
            n,
            1 + (n - 1) % CUSTOMERS,
            amount,
            "EUR" if n % 5 else "HUF",
            f"2026-02-{1 + n // 1440 % 28:02d} {n // 60 % 24:02d}:{n % 60:02d}:00",
            f"{n % 24:02d}:{n % 60:02d}:30" if n % 3 else None,
            _Sql(f"UNHEX('{n:032x}')"),  # 16 bytes
            json.dumps({"channel": "web", "items": 1 + n % 4}),
            f"2026-01-01 01:{n // 60 % 60:02d}:{n % 60:02d}.{n:06d}",
        )
        for n, amount in enumerate(amounts, start=1)
    ]
    script = [SCHEMA]
    cust_cols = (
        "id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "birth_date",
        "is_active",
        "internal_note",
        "updated_at",
    )
    order_cols = (
        "id",
        "customer_id",
        "amount",
        "currency",
        "ordered_at",
        "pickup_time",
        "fingerprint",
        "details",
        "updated_at",
    )
    for start in range(0, len(customers), 500):
        script.append(
            _rows(
                "customers",
                cust_cols,
                [(*c[:6], int(c[6]), *c[7:]) for c in customers][start : start + 500],
            )
        )
    for start in range(0, len(orders), 500):
        script.append(_rows("orders", order_cols, orders[start : start + 500]))
    return "".join(script)


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDBServer]:
    with mariadb_server() as server:
        yield server


@pytest.fixture(scope="session")
def mysql_erp_seed(mariadb: MariaDBServer) -> str:
    """`erp_seed`, seeded once, and the reader (who may read `erp` only, plus the binary
    log for log-based replication)."""
    mariadb.execute("DROP DATABASE IF EXISTS erp_seed; CREATE DATABASE erp_seed")
    mariadb.execute(seed_sql(), "erp_seed")
    mariadb.execute(
        f"""
        CREATE USER '{MYSQL_READER}'@'127.0.0.1' IDENTIFIED BY '{MYSQL_READER_PASSWORD}';
        GRANT SELECT ON erp.* TO '{MYSQL_READER}'@'127.0.0.1';
        GRANT REPLICATION CLIENT, REPLICATION SLAVE, BINLOG MONITOR
            ON *.* TO '{MYSQL_READER}'@'127.0.0.1';
        """
    )
    return "erp_seed"


@pytest.fixture
def mysql_erp(mariadb: MariaDBServer, mysql_erp_seed: str) -> MySQLErp:
    """A fresh `erp`, copied from the seed, for one test."""
    copy = ["DROP DATABASE IF EXISTS erp; CREATE DATABASE erp"]
    for table in TABLES:
        copy.append(f"CREATE TABLE erp.{table} LIKE {mysql_erp_seed}.{table}")
        copy.append(f"INSERT INTO erp.{table} SELECT * FROM {mysql_erp_seed}.{table}")
    mariadb.execute(";\n".join(copy))
    return MySQLErp(mariadb)


@pytest.fixture(scope="session")
def mysql_taps() -> MySQLTaps:
    """The MySQL taps, installed from PyPI by the hub's installer (each in its own venv)."""
    plugins = Path(os.environ.get("CRMHUB_PLUGIN_DIR") or REPO / ".venv" / "plugins")
    meltano = ConnectorConfig(name="tap-mysql", pip_url=MELTANOLABS_MYSQL, executable="tap-mysql")
    pipelinewise = ConnectorConfig(
        name="pipelinewise-tap-mysql", pip_url=PIPELINEWISE_MYSQL, executable="tap-mysql"
    )
    singer_io = ConnectorConfig(
        name="singer-io-tap-mysql", pip_url=SINGER_IO_MYSQL, executable="tap-mysql"
    )
    return MySQLTaps(
        plugins,
        install_plugin(meltano, plugins),
        install_plugin(pipelinewise, plugins),
        install_plugin(singer_io, plugins),
    )


@pytest.fixture
def mysql_reader_env(monkeypatch: pytest.MonkeyPatch, mysql_taps: MySQLTaps) -> None:
    """The environment a user would export: the plugin folder and the reader's password
    under Meltano's name for the setting `password` of an extractor `tap-mysql`."""
    monkeypatch.setenv("CRMHUB_PLUGIN_DIR", str(mysql_taps.plugin_dir))
    monkeypatch.setenv("TAP_MYSQL_PASSWORD", MYSQL_READER_PASSWORD)
