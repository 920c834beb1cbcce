"""`crmhub sync` of the Stripe connector into a hub store, with the hub.yaml from the docs."""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

import connectors.stripe
from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import customer_records, interactions, quarantine, raw_records
from hub.sync.run import sync
from schemas.config import HubConfig, load_config
from tests.systems.stripe.conftest import LocalStripe, Seeder

NO_RETRY = RetryPolicy(attempts=1)


def documented_hub_yaml() -> dict[str, Any]:
    """The `hub.yaml` entry from `connectors.stripe`'s docstring, parsed."""
    doc = connectors.stripe.__doc__ or ""
    block = doc.split("::\n", 1)[1]
    lines: list[str] = []
    for line in block.splitlines()[1:]:
        if line and not line.startswith(" "):
            break
        lines.append(line)
    parsed: dict[str, Any] = yaml.safe_load(textwrap.dedent("\n".join(lines)))
    return parsed


def project(tmp_path: Path, localstripe: LocalStripe, api_key_env: str) -> tuple[HubConfig, Store]:
    document = documented_hub_yaml()
    [connector] = document["connectors"]
    connector["config"].update(api_base=localstripe.base_url, filter_on_server=False)
    document["store"] = {"url": f"sqlite:///{tmp_path / 'hub.db'}"}
    assert connector["config"]["api_key"] == "${STRIPE_API_KEY}"
    connector["config"]["api_key"] = "${" + api_key_env + "}"
    (tmp_path / "hub.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))
    config = load_config(tmp_path / "hub.yaml")
    store = Store.from_config(config)
    store.migrate()
    return config, store


def rows(store: Store, table: sa.Table) -> list[sa.Row[Any]]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(table)).all())


def test_sync_lands_customers_and_interactions(
    tmp_path: Path, localstripe: LocalStripe, seeder: Seeder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", localstripe.api_key)
    anna = seeder.customer(1, name="Anna Kovács")
    bela = seeder.customer(2, name="Béla Nagy")
    charge = seeder.charge(anna, 1250)
    invoice = seeder.invoice(bela, 2500)
    config, store = project(tmp_path, localstripe, "STRIPE_API_KEY")

    [result] = sync(config, store, retry=NO_RETRY)
    assert result.ok, result.error
    assert result.counts.quarantined == 0
    assert rows(store, quarantine) == []

    customers = {r.source_id: r for r in rows(store, customer_records)}
    assert customers.keys() == {anna, bela}
    landed = customers[anna]
    assert (landed.source, landed.full_name, landed.email, landed.phone) == (
        "billing",
        "Anna Kovács",
        "customer1@example.com",
        "+36300000001",
    )
    assert (landed.street, landed.postal_code, landed.city, landed.country) == (
        "Fő utca 1",
        "1011",
        "Budapest",
        "HU",
    )
    events = {r.source_id: r for r in rows(store, interactions)}
    assert events[invoice].type == "invoice"
    assert events[invoice].customer_source_id == bela
    assert Decimal(events[invoice].amount) == Decimal("25")
    assert events[charge].type == "payment"
    assert (events[charge].customer_source_id, events[charge].currency) == (anna, "EUR")
    assert Decimal(events[charge].amount) == Decimal("12.5")
    occurred = events[charge].occurred_at
    assert abs(occurred.replace(tzinfo=occurred.tzinfo or dt.UTC) - dt.datetime.now(dt.UTC)) < (
        dt.timedelta(minutes=5)
    )
    # two charges (the invoice's and Anna's); payment intents stay raw records
    assert sorted(r.type for r in events.values()) == ["invoice", "payment", "payment"]
    streams = {r.stream for r in rows(store, raw_records)}
    assert streams == {"customers", "invoices", "charges", "payment_intents"}

    again = sync(config, store, retry=NO_RETRY)
    assert again[0].ok
    assert again[0].counts.inserted == again[0].counts.updated == 0


def test_bad_key_fails_in_one_line_and_loses_nothing(
    tmp_path: Path, localstripe: LocalStripe, seeder: Seeder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", localstripe.api_key)
    seeder.customer(1)
    config, store = project(tmp_path, localstripe, "STRIPE_API_KEY")
    assert sync(config, store, retry=NO_RETRY)[0].ok
    before = (rows(store, customer_records), rows(store, raw_records), store.load_state("billing"))

    monkeypatch.setenv("STRIPE_API_KEY", "rk_revoked")
    seeder.customer(2)
    [failed] = sync(config, store)  # fatal: not retried, so no backoff wait
    assert not failed.ok
    assert failed.attempts == 1
    assert failed.error is not None
    assert "the API key was refused" in failed.error
    assert "\n" not in failed.error
    after = (rows(store, customer_records), rows(store, raw_records), store.load_state("billing"))
    assert after == before
