"""`meltanolabs-tap-postgres` 0.10 (singer-sdk) from PyPI, driven as a Meltano user would:
a meltano.yml extractor block pasted into hub.yaml as is, `crmhub check`, `crmhub discover`,
`crmhub sync`; incremental on `updated_at`; money summed to the cent (issue 13)."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import customer_records, interactions, quarantine, raw_records
from hub.sync.run import sync
from schemas.config import load_config
from tests.cli import crmhub as run_crmhub
from tests.systems.singer_taps.conftest import BIG, CUSTOMERS, MELTANOLABS, ORDERS, READER, Erp

NO_RETRY = RetryPolicy(attempts=1)
CONNECTOR = "tap-postgres"

# As `meltano add extractor tap-postgres --variant meltanolabs` and `meltano config` /
# `meltano select` leave it in meltano.yml (only `config:` names this test's database).
MELTANO_BLOCK = """\
  - name: tap-postgres
    variant: meltanolabs
    pip_url: {pip_url}
    namespace: tap_postgres
    label: PostgreSQL
    settings:
      - name: host
        label: Host
      - name: port
        kind: integer
        value: 5432
      - name: user
      - name: password
        kind: password
        sensitive: true
      - name: database
      - name: filter_schemas
        kind: array
    config:
      host: 127.0.0.1
      port: {port}
      user: {user}
      database: {dbname}
    select:
{select}
    metadata:
      public-*:
        replication-method: INCREMENTAL
        replication-key: updated_at
"""

SELECT = ["public-*.*", "'!public-customers.internal_note'", "'!information_schema-*'"]

HUB_STREAMS = """\
    streams:
      public-customers:
        entity: customer
        mapping:
          given_name: first_name
          family_name: last_name
          email: email
          updated_at: updated_at
      public-orders:
        entity: interaction
        mapping:
          customer_source_id: customer_id
          type: {const: order}
          occurred_at: ordered_at
          amount: amount
          currency: currency
"""


def write_project(folder: Path, erp: Erp, store_url: str, select: list[str] | None = None) -> Path:
    lines = "\n".join(f"      - {pattern}" for pattern in (select or SELECT))
    block = MELTANO_BLOCK.format(
        pip_url=MELTANOLABS, port=erp.port, user=READER, dbname=erp.dbname, select=lines
    )
    path = folder / "hub.yaml"
    path.write_text(
        f'store: {{url: "{store_url}"}}\nconnectors:\n{block}{HUB_STREAMS}', encoding="utf-8"
    )
    return path


def crmhub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, with only the variables the user exported."""
    keep = ("CRMHUB_PLUGIN_DIR", "TAP_POSTGRES_PASSWORD", "ERP_PASSWORD")
    return run_crmhub(*args, cwd=cwd, keep=keep, timeout=600)


def store_amounts(store: Store) -> dict[str, Decimal | None]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(interactions.c.source_id, interactions.c.amount).where(
                interactions.c.source == CONNECTOR
            )
        ).all()
    return {str(source_id): amount for source_id, amount in rows}


def test_meltano_block_check_discover_sync_incremental_exact_sum(
    tmp_path: Path, erp: Erp, store_url: str, reader_env: None
) -> None:
    config_file = write_project(tmp_path, erp, store_url)

    checked = crmhub("check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 selected: public-customers, public-orders" in checked.stdout

    found = crmhub("discover", cwd=tmp_path)
    assert found.returncode == 0, found.stdout + found.stderr
    assert "selected   public-customers (5 properties INCREMENTAL by updated_at)" in found.stdout
    assert "selected   public-orders (6 properties INCREMENTAL by updated_at)" in found.stdout
    assert "unselected information_schema-tables" in found.stdout
    cache = tmp_path / ".crmhub" / "catalogs" / f"{CONNECTOR}.json"
    assert "r3ader-Secret" not in cache.read_text(encoding="utf-8")  # the password stays out

    first = crmhub("sync", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    cfg = load_config(config_file)
    store = Store.from_config(cfg)
    try:
        amounts = store_amounts(store)
        # every row landed, and the money adds up to the source's to the last cent
        assert len(amounts) == erp.count("orders") == ORDERS + 1
        assert amounts["1"] == BIG and isinstance(amounts["1"], Decimal)
        assert sum((a for a in amounts.values() if a is not None), Decimal(0)) == (
            erp.sum_of_amounts()
        )
        with store.engine.connect() as conn:
            customers = conn.execute(
                sa.select(sa.func.count()).select_from(customer_records)
            ).scalar_one()
            payloads = conn.execute(
                sa.select(raw_records.c.payload).where(raw_records.c.stream == "public-customers")
            ).scalars()
            keys = set().union(*(set(_payload(p)) for p in payloads))
            quarantined = conn.execute(
                sa.select(sa.func.count()).select_from(quarantine)
            ).scalar_one()
        assert customers == CUSTOMERS and quarantined == 0
        # `!public-customers.internal_note` kept the column out of what the tap sent
        assert keys == {"id", "first_name", "last_name", "email", "updated_at"}
        bookmarks = store.load_state(CONNECTOR)["bookmarks"]
        assert bookmarks["public-orders"]["replication_key"] == "updated_at"

        with psycopg.connect(erp.superuser_dsn) as conn:
            conn.execute(
                "UPDATE orders SET amount = amount + 0.01, updated_at = now()"
                " WHERE id IN (SELECT id FROM orders WHERE id > 1 ORDER BY id LIMIT 100)"
            )
        [second] = sync(cfg, store, retry=NO_RETRY)
        assert second.ok, second.error
        assert (second.counts.inserted, second.counts.updated) == (0, 100)
        # incremental: only the changed rows (and the bookmark's own row(s), which
        # singer-sdk re-reads with `>=`) came back, not the 3,500 rows of the tables
        assert second.counts.read <= 102
        assert sum((a for a in store_amounts(store).values() if a is not None), Decimal(0)) == (
            erp.sum_of_amounts()
        )
    finally:
        store.dispose()


def _payload(value: object) -> dict[str, object]:
    parsed = json.loads(value) if isinstance(value, str) else value
    assert isinstance(parsed, dict)
    return parsed


def test_a_select_matching_nothing_fails_the_sync_naming_the_patterns(
    tmp_path: Path, erp: Erp, reader_env: None
) -> None:
    write_project(
        tmp_path, erp, f"sqlite:///{tmp_path / 'hub.db'}", select=["crm-*.*", "'!public-*'"]
    )
    done = crmhub("sync", cwd=tmp_path)
    assert done.returncode != 0
    assert "succeeded" not in done.stdout
    out = " ".join((done.stdout + done.stderr).split())
    assert "selects no stream" in out
    assert "crm-*.*" in out and "!public-*" in out  # the patterns the user wrote
    assert "public-customers" in out  # and what the tap offers


def test_a_wrong_password_is_one_clear_line(
    tmp_path: Path, erp: Erp, reader_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAP_POSTGRES_PASSWORD", "not-the-password")
    write_project(tmp_path, erp, f"sqlite:///{tmp_path / 'hub.db'}")
    done = crmhub("check", cwd=tmp_path)
    assert done.returncode != 0
    out = " ".join((done.stdout + done.stderr).split())
    assert "password authentication failed" in out and "not-the-password" not in out
