"""The module docstring's hub.yaml, synced from the live Tryton server into a hub store."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

import connectors.tryton
from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import customer_records, interactions, raw_records
from hub.sync.run import sync
from schemas.config import load_config
from tests.systems.tryton.seed import Seeded
from tests.systems.tryton.server import TrytonServer

pytestmark = pytest.mark.filterwarnings("ignore:Stream is assumed to be unsorted")


def docstring_yaml() -> str:
    """The hub.yaml example of `connectors.tryton`'s docstring."""
    doc = connectors.tryton.__doc__ or ""
    block = doc.split("A hub.yaml connector using it::", 1)[1].split("A party's", 1)[0]
    return textwrap.dedent(block).strip() + "\n"


def project(tmp_path: Path, tryton: TrytonServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRYTON_PASSWORD", tryton.password)
    text = docstring_yaml().replace("http://127.0.0.1:8000", tryton.url)
    text = text.replace("database: erp", f"database: {tryton.database}")
    path = tmp_path / "hub.yaml"
    path.write_text(f"store: {{url: 'sqlite:///{tmp_path / 'hub.db'}'}}\n{text}")
    return path


def test_sync_lands_customers_and_interactions(
    tmp_path: Path, tryton: TrytonServer, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(project(tmp_path, tryton, monkeypatch))
    store = Store.from_config(config)
    store.migrate()
    (result,) = sync(config, store, retry=RetryPolicy(attempts=1))
    assert result.ok, result.error
    assert result.counts.quarantined == 0

    with store.engine.connect() as conn:
        customers = {
            row.source_id: row
            for row in conn.execute(
                sa.select(customer_records).where(customer_records.c.source == "erp")
            )
        }
        facts = conn.execute(sa.select(interactions)).all()
    anna = customers[str(seeded.persons[0])]
    assert (anna.kind, anna.full_name, anna.email, anna.phone) == (
        "person",
        "Kovács Anna",
        "anna.kovacs@example.com",
        "+36 1 234 5678",
    )
    assert (anna.street, anna.postal_code, anna.city, anna.country) == (
        "Fő utca 1.",
        "1011",
        "Budapest",
        "HU",
    )
    assert customers[str(seeded.persons[1])].phone == "+48 601 234 567"  # the mobile
    mueller = customers[str(seeded.organizations[0])]
    assert (mueller.kind, mueller.organization_name, mueller.full_name) == (
        "organization",
        "Müller GmbH",
        None,
    )
    kinds = sorted((f.type, f.customer_source_id) for f in facts)
    assert ("invoice", str(seeded.organizations[1])) in kinds
    assert ("order", str(seeded.persons[0])) in kinds
    assert len(facts) == len(seeded.sales) + len(seeded.invoices)
    order = next(f for f in facts if f.source_id == f"sale.sale,{seeded.sales[1]}")
    assert (float(order.amount), order.currency) == (990.5, "EUR")

    # a wrong password: one clear line, nothing lost, state kept
    state = store.load_state("erp")
    with store.engine.connect() as conn:
        raw_before = conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar()
    monkeypatch.setenv("TRYTON_PASSWORD", "wrong-password")
    (failed,) = sync(config, store, retry=RetryPolicy(attempts=1))
    assert not failed.ok
    assert failed.error is not None
    assert "wrong user or password" in failed.error
    assert "wrong-password" not in failed.error
    assert store.load_state("erp") == state
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar() == (
            raw_before
        )
    store.dispose()
