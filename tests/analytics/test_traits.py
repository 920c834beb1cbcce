"""Labelled cases for the default traits: windows, refunds, cancellations, time zones,
currencies, and bad input left out with a reason."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.frame import prepare
from analytics.model import DEFAULT_RATES
from analytics.traits import DEFAULT_TRAITS, compute_traits

AS_OF = pd.Timestamp("2024-04-01", tz="UTC")


def rows(*items: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(list(items))


def traits(raw: pd.DataFrame, customers: tuple[str, ...] = ()) -> pd.DataFrame:
    data = prepare(raw, AS_OF, rates=dict(DEFAULT_RATES), customers=customers)
    out = compute_traits(data.frame, data.n_customers, DEFAULT_TRAITS, AS_OF)
    out.index = pd.Index(data.customer_ids, name="customer_id")
    return out


def order(cid: str, when: str, amount: float, **extra: object) -> dict[str, object]:
    return {"customer_id": cid, "type": "order", "occurred_at": when, "amount": amount, **extra}


BASE = rows(
    order("a", "2024-03-01T10:00:00Z", 100, channel="web", category="books"),
    order("a", "2024-02-01T10:00:00Z", 50, channel="store", category="toys"),
    order("a", "2023-01-15T10:00:00Z", 200, channel="web", category="books"),
    order("a", "2024-03-10T10:00:00Z", 80, status="cancelled"),
    {"customer_id": "a", "type": "refund", "occurred_at": "2024-03-05", "amount": 30},
    order("a", "2024-03-31T23:30:00-02:00", 999),  # 01:30 UTC on the cut-off day: left out
    {"customer_id": "a", "type": "complaint", "occurred_at": "2024-03-20", "subject": "late"},
    {"customer_id": "a", "type": "ticket", "occurred_at": "2023-12-01", "subject": "Complaint: x"},
    {"customer_id": "a", "type": "ticket", "occurred_at": "2024-03-25", "status": "open",
     "subject": "where is my parcel"},
    {"customer_id": "a", "type": "payment", "occurred_at": "2024-01-10", "days_late": 12},
    {"customer_id": "a", "type": "payment", "occurred_at": "2024-01-11", "days_late": 0},
    order("b", "2024-03-30T12:00:00Z", 100, currency="USD"),
    {"customer_id": "b", "type": "contract", "occurred_at": "2023-05-01",
     "renewal_at": "2025-05-01"},
)  # fmt: skip

CASES = [
    ("a", "frequency", 3),  # the cancelled order and the post-cut-off one do not count
    ("a", "monetary", 320.0),  # 100 + 50 + 200 - refund 30
    ("a", "recency_days", 31 - 10 / 24),  # last purchase 2024-03-01T10:00Z
    ("a", "average_order", 350 / 3),
    ("a", "categories", 2),
    ("a", "categories_bought", "books;toys"),
    ("a", "channel_mix", "web 67 %; store 33 %"),
    ("a", "complaints_90d", 1),  # the complaint; the ticket marked as one is older
    ("a", "complaints_prev_90d", 1),
    ("a", "complaints_365d", 2),
    ("a", "open_tickets", 1),
    ("a", "payment_delays_365d", 1),
    ("a", "last_contact_topic", "where is my parcel"),
    ("a", "revenue_90d", 120.0),
    ("a", "revenue_prev_365d", 200.0),  # 2023-01-15 falls in the year before
    ("a", "revenue_365d", 120.0),
    ("b", "monetary", 92.0),  # 100 USD at the fixed rate 0.92
    ("b", "contracts", 1),
    ("b", "frequency", 1),
]


@pytest.mark.parametrize(("customer", "trait", "expected"), CASES)
def test_labelled_trait(customer: str, trait: str, expected: object) -> None:
    value = traits(BASE).loc[customer, trait]
    if isinstance(expected, float):
        assert value == pytest.approx(expected)
    else:
        assert value == expected


def test_next_renewal_is_the_contracts_date() -> None:
    assert traits(BASE).loc["b", "next_renewal"] == pd.Timestamp("2025-05-01", tz="UTC")


def test_bad_rows_are_counted_with_a_reason_and_left_out() -> None:
    bad = rows(
        order("c", "2024-01-01", -5),
        order("c", "2024-01-01", 10, currency="XXX"),
        order("c", None, 10),  # type: ignore[arg-type]
        order("c", "2099-01-01", 10),
        order("c", "2024-01-01", 5e9),
        order("", "2024-01-01", 10),
        order("c", "2024-01-01", "ten"),
        {"customer_id": "c", "type": "gossip", "occurred_at": "2024-01-01"},
        order("c", "2024-01-02", 10),
    )
    data = prepare(bad, AS_OF, rates={"EUR": 1.0})
    assert data.rejected == {
        "negative amount": 1, "unknown currency": 1, "missing or unreadable date": 1,
        "date in the future": 1, "absurd amount": 1, "missing customer_id": 1,
        "unreadable amount": 1, "unknown interaction type": 1,
    }  # fmt: skip
    assert len(data.frame) == 1


def test_a_known_customer_without_interactions_has_empty_traits() -> None:
    out = traits(BASE, customers=("z",))
    assert out.loc["z", "frequency"] == 0 and pd.isna(out.loc["z", "recency_days"])


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False), st.text(alphabet="xyz", min_size=1, max_size=4))
def test_order_and_silent_customers_change_nothing(rnd: object, extra: str) -> None:
    shuffled = BASE.sample(frac=1.0, random_state=rnd.randint(0, 10_000))  # type: ignore[attr-defined]
    before = traits(BASE)
    after = traits(shuffled, customers=(f"new-{extra}",)).drop(index=f"new-{extra}")
    pd.testing.assert_frame_equal(before, after)
