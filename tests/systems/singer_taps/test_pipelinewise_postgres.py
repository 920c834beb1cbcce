"""`pipelinewise-tap-postgres` 2.1 (singer-python) from PyPI: no `--about`, so its block
declares `capabilities:`; it takes `--properties`, and its draft-04 schemas (`"maximum":
1e16, "exclusiveMaximum": true`) must not quarantine a single order (issue 13)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import customer_records, interactions, quarantine, raw_records
from hub.sync.discovery import catalog_path, prepare_catalog
from hub.sync.run import plugin_dir, sync
from hub.sync.runners import external_command
from schemas.config import load_config, resolve_connector_config
from tests.systems.singer_taps.conftest import BIG, CUSTOMERS, ORDERS, PIPELINEWISE, READER, Erp

NO_RETRY = RetryPolicy(attempts=1)
CONNECTOR = "pipelinewise-tap-postgres"

HUB_YAML = """\
store: {{url: "{store_url}"}}
connectors:
  - name: pipelinewise-tap-postgres
    pip_url: {pip_url}
    executable: tap-postgres
    capabilities: [properties, discover, state]
    config:
      host: 127.0.0.1
      port: {port}
      user: {user}
      password: ${{ERP_PASSWORD}}
      dbname: {dbname}
    select:
      - public-customers.*
      - public-orders.*
      - "!public-orders.updated_at"
    metadata:
      public-customers:
        replication-method: FULL_TABLE
      public-orders:
        replication-method: INCREMENTAL
        replication-key: ordered_at
    streams:
      public-customers:
        entity: customer
        mapping:
          given_name: first_name
          family_name: last_name
          email: email
      public-orders:
        entity: interaction
        mapping:
          customer_source_id: customer_id
          type: {{const: order}}
          occurred_at: ordered_at
          amount: amount
          currency: currency
"""


def test_properties_draft04_schemas_nothing_quarantined_exact_sum(
    tmp_path: Path, erp: Erp, store_url: str, reader_env: None
) -> None:
    config_file = tmp_path / "hub.yaml"
    config_file.write_text(
        HUB_YAML.format(
            store_url=store_url, pip_url=PIPELINEWISE, port=erp.port, user=READER, dbname=erp.dbname
        ),
        encoding="utf-8",
    )
    cfg = load_config(config_file)
    conn = cfg.connector(CONNECTOR)
    settings = resolve_connector_config(conn)
    exe = external_command(conn, plugin_dir(cfg), cfg.base_dir)
    prepared = prepare_catalog(cfg, conn, settings, exe)
    assert prepared is not None and prepared.flag == "--properties"
    assert prepared.selected == ["public-customers", "public-orders"]
    cached = json.loads(catalog_path(cfg, conn).read_text(encoding="utf-8"))
    amount = next(s for s in cached["catalog"]["streams"] if s["tap_stream_id"] == "public-orders")[
        "schema"
    ]["properties"]["amount"]
    assert amount["exclusiveMaximum"] is True  # the tap's draft-04 schema, as discovered

    store = Store.from_config(cfg)
    store.migrate()
    try:
        [first] = sync(cfg, store, retry=NO_RETRY)
        assert first.ok, first.error
        assert (first.counts.inserted, first.counts.quarantined) == (CUSTOMERS + ORDERS + 1, 0)
        assert first.warnings == []
        with store.engine.connect() as db:
            amounts = dict(
                db.execute(
                    sa.select(interactions.c.source_id, interactions.c.amount).where(
                        interactions.c.source == CONNECTOR
                    )
                ).all()
            )
            customers = db.execute(
                sa.select(sa.func.count()).select_from(customer_records)
            ).scalar_one()
            quarantined = db.execute(
                sa.select(sa.func.count()).select_from(quarantine)
            ).scalar_one()
            payload = db.execute(
                sa.select(raw_records.c.payload).where(
                    raw_records.c.stream == "public-orders", raw_records.c.source_id == "2"
                )
            ).scalar_one()
        assert (len(amounts), customers, quarantined) == (ORDERS + 1, CUSTOMERS, 0)
        assert amounts["1"] == BIG and amounts["2"] == Decimal("0.01")
        order = json.loads(payload) if isinstance(payload, str) else payload
        assert set(order) == {"id", "customer_id", "amount", "currency", "ordered_at"}
        total = sum((a for a in amounts.values() if a is not None), Decimal(0))
        assert total == erp.sum_of_amounts()

        # the bookmark the tap kept is used: orders come back from the last ordered_at on,
        # customers (FULL_TABLE) in full, and nothing changed
        bookmarks = store.load_state(CONNECTOR)["bookmarks"]
        assert bookmarks["public-orders"]["replication_key"] == "ordered_at"
        [second] = sync(cfg, store, retry=NO_RETRY)
        assert second.ok, second.error
        assert (second.counts.inserted, second.counts.updated, second.counts.quarantined) == (
            0,
            0,
            0,
        )
        assert second.counts.read < CUSTOMERS + 10
    finally:
        store.dispose()


def test_without_declared_capabilities_the_summary_says_what_to_declare(
    tmp_path: Path, erp: Erp, reader_env: None
) -> None:
    """pipelinewise-tap-postgres has no `--about`: without `capabilities:` the hub cannot
    know it wants `--properties`, runs it bare, and the tap exits 0 having sent nothing."""
    text = HUB_YAML.format(
        store_url=f"sqlite:///{tmp_path / 'hub.db'}",
        pip_url=PIPELINEWISE,
        port=erp.port,
        user=READER,
        dbname=erp.dbname,
    )
    (tmp_path / "hub.yaml").write_text(
        text.replace("    capabilities: [properties, discover, state]\n", ""), encoding="utf-8"
    )
    cfg = load_config(tmp_path / "hub.yaml")
    store = Store.from_config(cfg)
    store.migrate()
    try:
        [result] = sync(cfg, store, retry=NO_RETRY)
    finally:
        store.dispose()
    assert result.ok and result.counts.read == 0
    assert result.warnings == [
        "the tap sent no records — if it needs a catalog, declare `capabilities: "
        "[catalog, discover]` (or `properties`) in hub.yaml"
    ]
