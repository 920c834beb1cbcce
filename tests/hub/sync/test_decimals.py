"""Money stays exact from the tap to the store: hashing, raw payload, interactions.amount."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from hub.store.database import Store, canonical_json
from hub.store.tables import interactions
from hub.sync.ingest import Ingestor
from schemas.config import ConnectorConfig
from tests.migrate import migrate_to

BIG = Decimal("12345678901234.5678")  # a numeric(20,4) order total a float cannot hold
ORDERS_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "customer_id": {"type": "integer"},
        "ordered_at": {"type": "string", "format": "date-time"},
        "total": {
            "type": ["null", "number"],
            "exclusiveMaximum": True,
            "maximum": 1e16,
            "multipleOf": 0.0001,
            "exclusiveMinimum": True,
            "minimum": -1e16,
        },
    },
}
CONNECTOR = ConnectorConfig.model_validate(
    {
        "name": "erp",
        "type": "sql",
        "streams": {
            "orders": {
                "entity": "interaction",
                "mapping": {
                    "customer_source_id": "customer_id",
                    "type": {"const": "order"},
                    "occurred_at": "ordered_at",
                    "amount": "total",
                },
            }
        },
    }
)


def ingest(store: Store, orders: list[dict[str, object]]) -> Ingestor:
    run_id = store.start_run("erp", full_refresh=False)
    ingestor = Ingestor(store, CONNECTOR, run_id, batch_size=1000)
    ingestor.schema("orders", ORDERS_SCHEMA, ["id"], None)
    for order in orders:
        ingestor.record("orders", order)
    ingestor.finish(complete=True)
    return ingestor


def cents_orders(count: int) -> list[dict[str, object]]:
    rng = random.Random(13)
    orders: list[dict[str, object]] = [
        {"id": 0, "customer_id": 1, "ordered_at": "2026-02-01T10:00:00+00:00", "total": BIG}
    ]
    for n in range(1, count):
        cents = rng.randint(1, 99_999_999)
        orders.append(
            {
                "id": n,
                "customer_id": 1 + n % 7,
                "ordered_at": "2026-02-02T10:00:00+00:00",
                "total": Decimal(cents).scaleb(-2),  # 0.01 .. 999,999.99
            }
        )
    return orders


def test_amounts_are_stored_and_summed_exactly(store: Store) -> None:
    orders = cents_orders(3000)
    counts = ingest(store, orders).counts
    assert (counts.inserted, counts.quarantined) == (3000, 0)
    with store.engine.connect() as conn:
        amounts = dict(
            conn.execute(sa.select(interactions.c.source_id, interactions.c.amount)).all()
        )
        total_text = conn.exec_driver_sql(
            "SELECT payload->>'total' FROM raw_records WHERE source_id = '0'"
            if store.dialect == "postgresql"
            else "SELECT payload FROM raw_records WHERE source_id = '0'"
        ).scalar_one()
    assert amounts["0"] == BIG and isinstance(amounts["0"], Decimal)
    expected = sum((o["total"] for o in orders), Decimal(0))  # type: ignore[misc]
    assert sum(amounts.values(), Decimal(0)) == expected
    # the raw payload keeps every digit: SQLite the JSON text, PostgreSQL a JSONB numeric
    assert "12345678901234.5678" in total_text
    assert '"total":12345678901234.5678' in total_text or store.dialect == "postgresql"


def test_resending_the_same_amount_at_another_scale_is_unchanged(store: Store) -> None:
    first = ingest(
        store, [{"id": 1, "customer_id": 1, "ordered_at": "2026-02-01", "total": Decimal("19.90")}]
    )
    again = ingest(
        store,
        [{"id": 1, "customer_id": 1, "ordered_at": "2026-02-01", "total": Decimal("19.9000")}],
    )
    changed = ingest(
        store,
        [{"id": 1, "customer_id": 1, "ordered_at": "2026-02-01", "total": Decimal("19.9001")}],
    )
    assert first.counts.inserted == 1
    assert (again.counts.unchanged, again.counts.updated) == (1, 0)
    assert changed.counts.updated == 1


def test_draft04_schema_no_longer_quarantines_every_order(store: Store) -> None:
    bad = {"id": 2, "customer_id": 1, "ordered_at": "2026-02-01", "total": Decimal("1E+16")}
    good = {"id": 1, "customer_id": 1, "ordered_at": "2026-02-01", "total": BIG}
    counts = ingest(store, [good, bad]).counts
    assert (counts.inserted, counts.quarantined) == (1, 1)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None), st.integers(0, 6))
def test_canonical_json_of_equal_decimals_hashes_equal(value: Decimal, zeros: int) -> None:
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    padded = Decimal((sign, (*digits, *([0] * zeros)), exponent - zeros))  # 1.5 -> 1.500
    assert padded == value
    text = canonical_json({"v": value})
    assert text == canonical_json({"v": padded})
    assert json.loads(text, parse_float=Decimal, parse_int=Decimal)["v"] == value  # all digits


def test_migration_0006_keeps_existing_float_amounts_as_their_decimals(store_url: str) -> None:
    store = Store(store_url)
    migrate_to(store, "0005")
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO interactions (source, stream, source_id, content_hash, loaded_at,"
                " deleted, extra, type, occurred_at, amount) VALUES ('erp', 'orders', :sid, 'h',"
                " '2026-01-01 00:00:00+00:00', false, '{}', 'order', '2026-01-01 00:00:00+00:00',"
                " :amount)"
            ),
            [
                {"sid": "a", "amount": 19.99},
                {"sid": "b", "amount": 100},
                {"sid": "c", "amount": None},
                {"sid": "d", "amount": 0.1},
            ],
        )
    migrate_to(store, "head")
    with store.engine.connect() as conn:
        found = dict(conn.execute(sa.select(interactions.c.source_id, interactions.c.amount)).all())
        raw = dict(conn.execute(sa.text("SELECT source_id, amount FROM interactions")).all())
    assert found == {"a": Decimal("19.99"), "b": Decimal(100), "c": None, "d": Decimal("0.1")}
    if store.dialect == "sqlite":
        assert raw == {"a": "19.99", "b": "100", "c": None, "d": "0.1"}
    migrate_to(store, "0005", down=True)
    migrate_to(store, "head")
    with store.engine.connect() as conn:
        again = dict(conn.execute(sa.select(interactions.c.source_id, interactions.c.amount)).all())
    assert again == found
    store.dispose()
