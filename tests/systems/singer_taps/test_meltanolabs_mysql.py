"""`meltanolabs-tap-mysql` (singer-sdk) from PyPI against a real MariaDB, driven as a Meltano
user would: the meltano.yml extractor block pasted into hub.yaml as is, the password from
`TAP_MYSQL_PASSWORD`, `crmhub check`, `crmhub discover`, `crmhub sync` with `select:`
patterns (a `!` exclusion), incremental on `updated_at`, money summed to the cent (issue 13:
"any Singer tap a Meltano user already runs", beyond PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import customer_records, interactions, quarantine, raw_records
from hub.sync.run import sync
from schemas.config import load_config
from tests.cli import crmhub as run_crmhub
from tests.systems.singer_taps.mariadb_erp import (
    BIG,
    CUSTOMERS,
    MELTANOLABS_MYSQL,
    MYSQL_READER,
    MYSQL_READER_PASSWORD,
    ORDERS,
    MySQLErp,
)

NO_RETRY = RetryPolicy(attempts=1)
CONNECTOR = "tap-mysql"

# As `meltano add extractor tap-mysql --variant meltanolabs`, `meltano config` and
# `meltano select` leave it in meltano.yml (only `config:` names this test's server).
MELTANO_BLOCK = """\
  - name: tap-mysql
    variant: meltanolabs
    pip_url: {pip_url}
    namespace: tap_mysql
    label: MySQL/MariaDB
    capabilities:
      - about
      - batch
      - catalog
      - discover
      - schema-flattening
      - state
      - stream-maps
    settings:
      - name: host
      - name: port
        kind: integer
        value: 3306
      - name: user
      - name: password
        kind: password
        sensitive: true
      - name: database
      - name: filter_schemas
        kind: array
      - name: sqlalchemy_url
        kind: password
        sensitive: true
    config:
      host: 127.0.0.1
      port: {port}
      user: {user}
      database: erp
      filter_schemas: [erp]
    select:
      - erp-customers.*
      - erp-orders.*
      - '!erp-customers.internal_note'
    metadata:
      erp-*:
        replication-method: INCREMENTAL
        replication-key: updated_at
"""

HUB_STREAMS = """\
    streams:
      erp-customers:
        entity: customer
        mapping:
          given_name: first_name
          family_name: last_name
          email: email
          phone: phone
          updated_at: updated_at
      erp-orders:
        entity: interaction
        mapping:
          customer_source_id: customer_id
          type: {const: order}
          occurred_at: ordered_at
          amount: amount
          currency: currency
"""


def write_project(folder: Path, erp: MySQLErp, store_url: str) -> Path:
    block = MELTANO_BLOCK.format(pip_url=MELTANOLABS_MYSQL, port=erp.port, user=MYSQL_READER)
    path = folder / "hub.yaml"
    path.write_text(
        f'store: {{url: "{store_url}"}}\nconnectors:\n{block}{HUB_STREAMS}', encoding="utf-8"
    )
    return path


def crmhub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, with only the variables the user exported."""
    return run_crmhub(*args, cwd=cwd, keep=("CRMHUB_PLUGIN_DIR", "TAP_MYSQL_PASSWORD"), timeout=600)


def store_amounts(store: Store) -> dict[str, Decimal | None]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(interactions.c.source_id, interactions.c.amount).where(
                interactions.c.source == CONNECTOR
            )
        ).all()
    return {str(source_id): amount for source_id, amount in rows}


def _payload(value: object) -> dict[str, object]:
    parsed = json.loads(value) if isinstance(value, str) else value
    assert isinstance(parsed, dict)
    return parsed


def test_meltano_block_check_discover_sync_incremental_exact_sum(
    tmp_path: Path, mysql_erp: MySQLErp, store_url: str, mysql_reader_env: None
) -> None:
    config_file = write_project(tmp_path, mysql_erp, store_url)
    assert MYSQL_READER_PASSWORD not in config_file.read_text(encoding="utf-8")

    checked = crmhub("check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 selected: erp-customers, erp-orders" in checked.stdout

    found = crmhub("discover", cwd=tmp_path)
    assert found.returncode == 0, found.stdout + found.stderr
    assert "selected   erp-customers (8 properties INCREMENTAL by updated_at)" in found.stdout
    assert "selected   erp-orders (9 properties INCREMENTAL by updated_at)" in found.stdout
    cache = tmp_path / ".crmhub" / "catalogs" / f"{CONNECTOR}.json"
    assert MYSQL_READER_PASSWORD not in cache.read_text(encoding="utf-8")

    first = crmhub("sync", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    cfg = load_config(config_file)
    store = Store.from_config(cfg)
    try:
        amounts = store_amounts(store)
        # every row landed, and the money adds up to the source's to the last cent
        assert len(amounts) == mysql_erp.count("orders") == ORDERS + 1
        assert amounts["1"] == BIG and isinstance(amounts["1"], Decimal)
        assert amounts["2"] == Decimal("0.01") and amounts[str(ORDERS + 1)] is None
        total = sum((a for a in amounts.values() if a is not None), Decimal(0))
        assert total == mysql_erp.sum_of_amounts()
        with store.engine.connect() as conn:
            names = dict(
                conn.execute(
                    sa.select(customer_records.c.source_id, customer_records.c.family_name)
                ).all()
            )
            payloads = {
                str(stream): _payload(payload)
                for stream, payload in conn.execute(
                    sa.select(raw_records.c.stream, raw_records.c.payload).where(
                        raw_records.c.source_id == "3"
                    )
                ).all()
            }
            quarantined = conn.execute(
                sa.select(sa.func.count()).select_from(quarantine)
            ).scalar_one()
        assert len(names) == CUSTOMERS and quarantined == 0
        [[source_name]] = mysql_erp.execute("SELECT last_name FROM customers WHERE id = 3")
        assert names["3"] == source_name  # utf8mb4 diacritics arrive intact
        # `!erp-customers.internal_note` kept the column out of what the tap sent
        assert set(payloads["erp-customers"]) == {
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "birth_date",
            "is_active",
            "updated_at",
        }
        order = payloads["erp-orders"]
        assert order["pickup_time"] is None and order["details"] == (
            '{"channel": "web", "items": 4}'
        )
        bookmarks = store.load_state(CONNECTOR)["bookmarks"]
        assert bookmarks["erp-orders"]["replication_key"] == "updated_at"

        mysql_erp.execute(
            "UPDATE orders SET amount = amount + 0.01, updated_at = now(6)"
            " WHERE id BETWEEN 2 AND 101"
        )
        [second] = sync(cfg, store, retry=NO_RETRY)
        assert second.ok, second.error
        assert (second.counts.inserted, second.counts.updated) == (0, 100)
        assert second.counts.quarantined == 0
        # incremental: the 100 changed orders and the bookmark's own row(s) of each stream,
        # which singer-sdk re-reads with `>=`, not the 3,501 rows of the tables
        assert second.counts.read <= 102
        total = sum((a for a in store_amounts(store).values() if a is not None), Decimal(0))
        assert total == mysql_erp.sum_of_amounts()
    finally:
        store.dispose()


def test_a_wrong_password_is_one_clear_line_without_the_password(
    tmp_path: Path, mysql_erp: MySQLErp, mysql_reader_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAP_MYSQL_PASSWORD", "not-the-password")
    write_project(tmp_path, mysql_erp, f"sqlite:///{tmp_path / 'hub.db'}")
    done = crmhub("check", cwd=tmp_path)
    assert done.returncode != 0
    out = " ".join((done.stdout + done.stderr).split())
    assert f"Access denied for user '{MYSQL_READER}'" in out, out
    assert "not-the-password" not in out and "Traceback" not in out
