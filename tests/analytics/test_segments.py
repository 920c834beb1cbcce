"""Segment value, labelled: shares of customers, revenue and profit per segment, negative
profit flagged, the Lorenz curve and the Pareto share; and invariants (shares add up to 1,
order of customers changes nothing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.segments import lorenz, pareto_share, segment_value

LABELS = pd.Series(["key", "key", "transactor", "transactor", "transactor", "regular"])
REVENUE = pd.Series([500.0, 300.0, 20.0, 30.0, 50.0, 100.0])
PROFIT = pd.Series([200.0, 100.0, -20.0, -10.0, -20.0, 30.0])


def test_labelled_shares() -> None:
    out = segment_value("planted", LABELS, REVENUE, PROFIT).set_index("segment")
    assert list(out.index) == ["transactor", "key", "regular"]  # most customers first
    assert out.loc["key", "customers_share"] == pytest.approx(2 / 6)
    assert out.loc["key", "revenue_share"] == pytest.approx(800 / 1000)
    assert out.loc["key", "profit_share"] == pytest.approx(300 / 280)
    assert out.loc["transactor", "profit_share"] == pytest.approx(-50 / 280)
    assert out["negative_profit"].to_dict() == {"transactor": True, "key": False, "regular": False}
    assert (out["segmentation"] == "planted").all()


def test_lorenz_and_pareto() -> None:
    values = pd.Series([80.0, 10.0, 5.0, 5.0, 0.0])
    curve = lorenz(values, points=5)
    assert curve["customers_share"].tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert curve["value_share"].tolist() == pytest.approx([0.8, 0.9, 0.95, 1.0, 1.0])
    assert pareto_share(values, 0.8) == pytest.approx(0.2)
    assert pareto_share(values, 0.9) == pytest.approx(0.4)
    assert np.isnan(pareto_share(pd.Series([-1.0, 0.0])))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from("abc"),
            st.floats(0, 1e4, allow_nan=False),
            st.floats(-1e3, 1e3, allow_nan=False),
        ),
        min_size=1,
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_shares_add_up_and_order_changes_nothing(
    rows: list[tuple[str, float, float]], rnd: object
) -> None:
    frame = pd.DataFrame(rows, columns=["segment", "revenue", "profit"])
    out = segment_value("s", frame["segment"], frame["revenue"], frame["profit"])
    assert out["customers_share"].sum() == pytest.approx(1.0)
    assert out["customers"].sum() == len(frame)
    if frame["revenue"].sum() > 0:
        assert out["revenue_share"].sum() == pytest.approx(1.0)
    shuffled = frame.sample(frac=1.0, random_state=rnd.randint(0, 10_000))  # type: ignore[attr-defined]
    again = segment_value("s", shuffled["segment"], shuffled["revenue"], shuffled["profit"])
    pd.testing.assert_frame_equal(out, again, check_exact=False, rtol=1e-9, atol=1e-6)
