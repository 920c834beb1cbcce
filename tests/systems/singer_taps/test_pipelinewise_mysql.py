"""The singer-python MySQL taps from PyPI against a real MariaDB — `pipelinewise-tap-mysql`
1.6 and the singer-io original it forked, `tap-mysql` 1.17.7: the Meltano Hub block of each
variant (`transferwise`, `singer-io`) pasted as is (no `--about`; `capabilities:` declare
the catalog), FULL_TABLE (ACTIVATE_VERSION messages), INCREMENTAL on `updated_at` and
LOG_BASED from the server's binary log (source deletions flagged); schemas with `multipleOf`,
`maxLength`, `format: time` / `binary`, singer-io stream naming (`tap_stream_id`
`erp-orders`, `stream` `orders`: singer-io's sends records as `orders`, which hub.yaml maps
as `erp-orders`; its log-based schemas do not declare `_sdc_deleted_at`, which its deletions
carry). Nothing quarantined, money summed exactly, 100 changed rows update 100 (issue 13)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import customer_records, interactions, quarantine, raw_records
from hub.sync.discovery import prepare_catalog
from hub.sync.run import plugin_dir, sync
from hub.sync.runners import external_command
from schemas.config import HubConfig, load_config, resolve_connector_config
from tests.cli import crmhub
from tests.systems.singer_taps.mariadb_erp import (
    BIG,
    CUSTOMERS,
    MYSQL_READER,
    MYSQL_READER_PASSWORD,
    ORDERS,
    PIPELINEWISE_MYSQL,
    SINGER_IO_MYSQL,
    MySQLErp,
)

NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True)
class Variant:
    """One of Meltano Hub's singer-python `tap-mysql` variants and what it sends its way."""

    name: str
    variant: str
    pip_url: str
    settings: str  # variant-only settings and config
    time_of: str  # how the tap writes the TIME `02:02:30`
    binary: bool  # sends `binary` columns (as hex); singer-io's skips them with a warning


VARIANTS = [
    Variant(
        "pipelinewise-tap-mysql",
        "transferwise",
        PIPELINEWISE_MYSQL,
        "      - name: engine\n",
        "{}",
        True,
    ),
    Variant(
        "singer-io-tap-mysql", "singer-io", SINGER_IO_MYSQL, "", "1970-01-01T{}.000000Z", False
    ),
]


@pytest.fixture(params=VARIANTS, ids=[v.variant for v in VARIANTS])
def variant(request: pytest.FixtureRequest) -> Variant:
    value: Variant = request.param
    return value


# Meltano Hub's `tap-mysql` (each variant) as `meltano add` writes it, renamed beside the
# meltanolabs one (the namespace, and so TAP_MYSQL_PASSWORD, stays)
MELTANO_BLOCK = """\
  - name: {name}
    variant: {variant}
    pip_url: {pip_url}
    executable: tap-mysql
    namespace: tap_mysql
    label: MySQL/MariaDB
    capabilities:
      - catalog
      - discover
      - state
    settings:
      - name: host
        value: localhost
      - name: port
        kind: integer
        value: 3306
      - name: user
      - name: password
        kind: password
        sensitive: true
      - name: database
      - name: ssl
        kind: boolean
        value: false
      - name: filter_dbs
      - name: session_sqls
        kind: array
      - name: server_id
        kind: integer
      - name: use_gtid
        kind: boolean
{settings}    config:
      host: 127.0.0.1
      port: {port}
      user: {user}
      filter_dbs: erp
      server_id: 4242{config}
    select:
      - erp-customers.*
      - erp-orders.*
      - '!erp-customers.internal_note'
    metadata:
      erp-customers:
        replication-method: {customers_method}
      erp-orders:
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
      erp-orders:
        entity: interaction
        mapping:
          customer_source_id: customer_id
          type: {const: order}
          occurred_at: ordered_at
          amount: amount
          currency: currency
"""


def load_project(
    folder: Path, erp: MySQLErp, store_url: str, customers_method: str, variant: Variant
) -> HubConfig:
    block = MELTANO_BLOCK.format(
        name=variant.name,
        variant=variant.variant,
        pip_url=variant.pip_url,
        settings=variant.settings,
        config="\n      engine: mariadb" if variant.settings else "",
        port=erp.port,
        user=MYSQL_READER,
        customers_method=customers_method,
    )
    path = folder / "hub.yaml"
    path.write_text(
        f'store: {{url: "{store_url}"}}\nconnectors:\n{block}{HUB_STREAMS}', encoding="utf-8"
    )
    assert MYSQL_READER_PASSWORD not in path.read_text(encoding="utf-8")
    return load_config(path)


def store_amounts(store: Store, connector: str) -> dict[str, Decimal | None]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(interactions.c.source_id, interactions.c.amount).where(
                interactions.c.source == connector
            )
        ).all()
    return {str(source_id): amount for source_id, amount in rows}


def total(amounts: dict[str, Decimal | None]) -> Decimal:
    return sum((a for a in amounts.values() if a is not None), Decimal(0))


def raw_payload(store: Store, stream: str, source_id: str) -> dict[str, object]:
    with store.engine.connect() as conn:
        value = conn.execute(
            sa.select(raw_records.c.payload).where(
                raw_records.c.stream == stream, raw_records.c.source_id == source_id
            )
        ).scalar_one()
    parsed = json.loads(value) if isinstance(value, str) else value
    assert isinstance(parsed, dict)
    return parsed


def count(store: Store, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_catalog_full_table_and_incremental_nothing_quarantined_exact_sum(
    tmp_path: Path, mysql_erp: MySQLErp, store_url: str, mysql_reader_env: None, variant: Variant
) -> None:
    cfg = load_project(tmp_path, mysql_erp, store_url, "FULL_TABLE", variant)
    checked = crmhub(
        "check", cwd=tmp_path, keep=("CRMHUB_PLUGIN_DIR", "TAP_MYSQL_PASSWORD"), timeout=600
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 selected: erp-customers, erp-orders" in checked.stdout
    conn = cfg.connector(variant.name)
    settings = resolve_connector_config(conn)
    assert settings["password"] == MYSQL_READER_PASSWORD  # from TAP_MYSQL_PASSWORD
    exe = external_command(conn, plugin_dir(cfg), cfg.base_dir)
    prepared = prepare_catalog(cfg, conn, settings, exe)
    assert prepared is not None and prepared.flag == "--catalog"
    assert prepared.selected == ["erp-customers", "erp-orders"]
    # singer-io naming: records come as `orders`, the catalog says `erp-orders`
    assert prepared.aliases == {"erp-customers": "customers", "erp-orders": "orders"}

    store = Store.from_config(cfg)
    store.migrate()
    try:
        [first] = sync(cfg, store, retry=NO_RETRY)
        assert first.ok, first.error
        assert (first.counts.inserted, first.counts.quarantined) == (CUSTOMERS + ORDERS + 1, 0)
        skipped = ["the tap logged 1 warning(s)"] if not variant.binary else []  # `fingerprint`
        assert [w.split(" and ")[0] for w in first.warnings] == skipped
        amounts = store_amounts(store, variant.name)
        assert len(amounts) == ORDERS + 1
        assert amounts["1"] == BIG and amounts["2"] == Decimal("0.01")
        assert total(amounts) == mysql_erp.sum_of_amounts()
        assert (count(store, customer_records), count(store, quarantine)) == (CUSTOMERS, 0)
        customer = raw_payload(store, "erp-customers", "3")
        [[last_name, birth_date]] = mysql_erp.execute(
            "SELECT last_name, birth_date FROM customers WHERE id = 3"
        )
        assert customer["last_name"] == last_name  # utf8mb4 diacritics intact
        assert str(customer["birth_date"]).startswith(str(birth_date))
        assert "internal_note" not in customer  # `!erp-customers.internal_note`
        order = raw_payload(store, "erp-orders", "2")
        [[pickup, fingerprint]] = mysql_erp.execute(
            "SELECT pickup_time, HEX(fingerprint) FROM orders WHERE id = 2"
        )
        written = str(order["pickup_time"])
        assert written == variant.time_of.format(pickup) or written.zfill(8) == pickup
        if variant.binary:
            assert str(order["fingerprint"]).upper() == fingerprint  # `format: binary`, hex
        bookmarks = store.load_state(variant.name)["bookmarks"]
        assert bookmarks["erp-orders"]["replication_key"] == "updated_at"

        mysql_erp.execute(
            "UPDATE orders SET amount = amount + 0.01, updated_at = now(6)"
            " WHERE id BETWEEN 2 AND 101"
        )
        [second] = sync(cfg, store, retry=NO_RETRY)
        assert second.ok, second.error
        # customers (FULL_TABLE) come in full and change nothing; orders from the bookmark
        assert (second.counts.inserted, second.counts.updated) == (0, 100)
        assert (second.counts.quarantined, second.counts.deleted) == (0, 0)
        assert second.counts.read <= CUSTOMERS + 101
        assert total(store_amounts(store, variant.name)) == mysql_erp.sum_of_amounts()
    finally:
        store.dispose()


def test_log_based_reads_the_binary_log_and_flags_nothing_unread_as_deleted(
    tmp_path: Path, mysql_erp: MySQLErp, store_url: str, mysql_reader_env: None, variant: Variant
) -> None:
    """LOG_BASED: the first run copies the table and notes the binary log's position, the
    next reads only what the log holds since. Its SCHEMA message has no bookmark properties
    (the bookmark is a log position), which must not make the hub take the 100 rows it
    sends for the whole table and flag the other 900 customers deleted."""
    cfg = load_project(tmp_path, mysql_erp, store_url, "LOG_BASED", variant)
    store = Store.from_config(cfg)
    store.migrate()
    try:
        [first] = sync(cfg, store, retry=NO_RETRY)
        assert first.ok, first.error
        assert (first.counts.inserted, first.counts.quarantined) == (CUSTOMERS + ORDERS + 1, 0)
        bookmark = store.load_state(variant.name)["bookmarks"]["erp-customers"]
        assert {"log_file", "log_pos"} <= set(bookmark)

        mysql_erp.execute(
            "UPDATE customers SET email = concat('new.', email) WHERE id BETWEEN 1 AND 100"
        )
        [second] = sync(cfg, store, retry=NO_RETRY)
        assert second.ok, second.error
        assert (second.counts.inserted, second.counts.updated) == (0, 100)
        assert (second.counts.quarantined, second.counts.deleted) == (0, 0)
        assert second.counts.read <= 100 + 2  # the log's 100 rows (+ orders' bookmark row)
        with store.engine.connect() as conn:
            emails = dict(
                conn.execute(
                    sa.select(customer_records.c.source_id, customer_records.c.email).where(
                        customer_records.c.deleted.is_(False)
                    )
                ).all()
            )
        assert len(emails) == CUSTOMERS
        assert emails["100"] == "new.customer100@example.com"
        assert emails["101"] == "customer101@example.com"

        # rows deleted at the source come through the log with `_sdc_deleted_at`
        mysql_erp.execute("DELETE FROM customers WHERE id BETWEEN 991 AND 1000")
        [third] = sync(cfg, store, retry=NO_RETRY)
        assert third.ok, third.error
        assert (third.counts.deleted, third.counts.quarantined) == (10, 0)
        with store.engine.connect() as conn:
            gone = set(
                conn.execute(
                    sa.select(customer_records.c.source_id).where(
                        customer_records.c.deleted.is_(True)
                    )
                ).scalars()
            )
            raw_gone = conn.execute(
                sa.select(sa.func.count()).where(
                    raw_records.c.stream == "erp-customers", raw_records.c.deleted.is_(True)
                )
            ).scalar_one()
        assert gone == {str(n) for n in range(991, 1001)} and raw_gone == 10
    finally:
        store.dispose()
