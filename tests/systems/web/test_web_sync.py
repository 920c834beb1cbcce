"""End to end: the official client → `crmhub collect` → sync → customers and interactions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import segment.analytics as analytics
import sqlalchemy as sa

from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import customer_records, interactions
from hub.sync.run import sync
from schemas.config import load_config
from tests.systems.servers import free_port
from tests.systems.web.conftest import WRITE_KEY, WRITE_KEY_ENV, write_project

NO_RETRY = RetryPolicy(attempts=1)


def hub_rows(store: Store, table: sa.Table) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        query = sa.select(table).where(table.c.source == "web")
        return [dict(row) for row in conn.execute(query).mappings()]


def test_visits_before_sign_up_become_the_customers_interactions(
    collector: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, base_url = collector
    monkeypatch.setenv(WRITE_KEY_ENV, WRITE_KEY)
    config = load_config(project)
    store = Store.open(config.store.url)
    segment = analytics.Client(write_key=WRITE_KEY, host=base_url, sync_mode=True, max_retries=0)
    segment.page(anonymous_id="visitor-9", name="Home", message_id="e2e-1")
    segment.page(anonymous_id="visitor-9", name="Pricing", message_id="e2e-2")
    (first,) = sync(config, store, retry=NO_RETRY)
    assert first.ok, first.error
    visits = hub_rows(store, interactions)
    assert {(v["source_id"], v["customer_source_id"]) for v in visits} == {
        ("e2e-1", None),
        ("e2e-2", None),
    }

    traits = {
        "email": "eva@example.hu",
        "firstName": "Éva",
        "lastName": "Kiss",
        "phone": "+36 30 111 2222",
        "address": {"city": "Budapest", "postalCode": "1051", "country": "HU"},
    }
    segment.identify("user-9", traits, anonymous_id="visitor-9", message_id="e2e-3")
    segment.track("user-9", "Signed Up", message_id="e2e-4")
    segment.track(
        "user-9", "Order Completed", {"revenue": 30, "currency": "eur"}, message_id="e2e-5"
    )
    (second,) = sync(config, store, retry=NO_RETRY)
    assert second.ok, second.error

    (eva,) = hub_rows(store, customer_records)
    assert (eva["source_id"], eva["given_name"], eva["family_name"]) == ("user-9", "Éva", "Kiss")
    assert (eva["full_name"], eva["email"], eva["kind"]) == ("Éva Kiss", "eva@example.hu", "person")
    assert (eva["city"], eva["postal_code"], eva["country"]) == ("Budapest", "1051", "HU")
    rows = {r["source_id"]: r for r in hub_rows(store, interactions)}
    assert {k: r["customer_source_id"] for k, r in rows.items()} == dict.fromkeys(
        ["e2e-1", "e2e-2", "e2e-4", "e2e-5"], "user-9"
    )
    assert [rows[k]["extra"]["kind"] for k in ("e2e-1", "e2e-4", "e2e-5")] == [
        "web_visit",
        "signup",
        "purchase",
    ]
    order = rows["e2e-5"]
    assert (order["type"], float(order["amount"]), order["currency"]) == ("order", 30.0, "EUR")
    assert (rows["e2e-4"]["type"], rows["e2e-4"]["subject"], rows["e2e-1"]["channel"]) == (
        "web_event",
        "Signed Up",
        "web",
    )
    assert rows["e2e-1"]["occurred_at"] is not None

    (third,) = sync(config, store, retry=NO_RETRY)
    assert third.ok and third.counts.inserted == third.counts.updated == 0
    store.dispose()


def test_unreachable_event_store_fails_the_sync_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTS_DB_PASSWORD", "pw-not-shown")
    monkeypatch.setenv(WRITE_KEY_ENV, WRITE_KEY)
    url = f"postgresql+psycopg://hub:${{EVENTS_DB_PASSWORD}}@127.0.0.1:{free_port()}/events"
    config = load_config(write_project(tmp_path, events_url=url))
    store = Store.open(config.store.url)
    (result,) = sync(config, store, retry=NO_RETRY)
    assert not result.ok and result.connector == "web"
    assert result.error is not None and "refused" in result.error.lower()
    assert "pw-not-shown" not in result.error and "\n" not in result.error
    assert store.load_state("web") == {}
    store.dispose()
