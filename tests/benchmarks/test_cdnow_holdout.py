"""The CDNOW hold-out computation on a small synthetic set whose answer is worked out by hand
(no network: the lifetimes wheel is not needed here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.analytics.cdnow import (
    CUT,
    END,
    _ages,
    _path,
    _summary,
    _weekly,
    _weekly_ages,
    peaks,
    score,
)


def _raw(rows: list[tuple[str, str]]) -> pd.DataFrame:
    ids, days = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "customer_id": list(ids),
            "type": "order",
            "occurred_at": pd.to_datetime(list(days), utc=True),
            "amount": 10.0,
            "currency": "USD",
        }
    )


RAW = _raw(
    [
        ("a", "1997-01-02"), ("a", "1997-01-02"), ("a", "1997-02-01"),  # calibration: 2 days
        ("a", "1997-10-05"), ("a", "1997-10-05"), ("a", "1997-11-01"),  # hold-out: 2 days
        ("a", "1998-07-02"),  # after the hold-out: not counted
        ("b", "1997-03-01"),  # one purchase, none later
        ("c", "1997-01-10"), ("c", "1997-10-01"),  # bought again on the cut-off day itself
    ]
)  # fmt: skip


def test_hold_out_counts_one_transaction_per_customer_and_day() -> None:
    calibration = _summary(RAW, CUT)
    full = _summary(RAW, END).reindex(calibration.index)
    actual = (full["n_days"] - calibration["n_days"]).to_dict()
    assert actual == {"a": 2, "b": 0, "c": 1}
    a = calibration.loc["a"]
    # two purchase days 30 days apart; observed to 1997-09-30, 271 days after the first
    assert (a["x"], a["t_x"], a["T"]) == (1.0, pytest.approx(30 / 7), pytest.approx(271 / 7))
    assert calibration.loc["b", "x"] == 0 and calibration.loc["c", "x"] == 0


def test_weekly_hold_out_counts_customer_weeks() -> None:
    summary, actual, weeks = _weekly(RAW)
    # 1997-10-05 is a Sunday (the end of a W-SUN week), 1997-11-01 a Saturday: two weeks
    assert dict(zip(summary.index, actual, strict=True)) == {"a": 2.0, "b": 0.0, "c": 1.0}
    assert summary.loc["a", "x"] == 1.0 and summary.loc["a", "t_x"] == 4.0
    assert weeks == 39.0
    assert _weekly_ages(RAW).tolist() == [4.0]  # a's second calibration week, 4 after its first


def test_repeat_ages_are_one_per_repeat_purchase_day() -> None:
    calibration = _summary(RAW, CUT)
    ages = _ages(RAW, CUT)
    assert ages.tolist() == [pytest.approx(30 / 7)]  # a: 1997-01-02 then 1997-02-01
    assert len(ages) == calibration["x"].sum()


def test_score_against_a_hand_worked_answer() -> None:
    figures = score(
        predicted=np.array([1.0, 0.0, 2.0]),
        actual=np.array([0.0, 0.0, 4.0]),
        x=np.array([2.0, 0.0, 4.0]),
        T=np.array([4.0, 2.0, 8.0]),
        weeks=4.0,
    )
    assert figures == pytest.approx(
        {
            "predicted": 3.0,
            "actual": 4.0,
            "error": -0.25,
            "mae": 1.0,  # |1-0| + 0 + |2-4|, over 3
            "naive_predicted": 4.0,  # rates 0.5, 0, 0.5 per week over 4 weeks
            "naive_mae": 4 / 3,
            "mae_at_actual_total": 8 / 9,  # predictions x 4/3: 4/3 + 0 + 4/3, over 3
            "mae_zero": 4 / 3,
        }
    )


def test_score_reports_the_medians_beside_the_means() -> None:
    figures = score(
        predicted=np.array([0.4, 0.3, 2.6]),
        actual=np.array([0.0, 1.0, 3.0]),
        x=np.zeros(3),
        T=np.ones(3),
        weeks=4.0,
        median=np.array([0.0, 0.0, 3.0]),
    )
    assert figures["mae"] == pytest.approx((0.4 + 0.7 + 0.4) / 3)
    assert figures["mae_median"] == pytest.approx(1 / 3)  # |0-0| + |0-1| + |3-3|, over 3
    assert figures["median_total"] == 3.0 and figures["predicted"] == pytest.approx(3.3)
    assert "mae_median" not in score(np.ones(2), np.ones(2), np.ones(2), np.ones(2), 1.0)


def test_score_refuses_a_hold_out_without_transactions() -> None:
    with pytest.raises(ValueError, match="no repeat transactions in the hold-out"):
        score(np.ones(2), np.zeros(2), np.ones(2), np.ones(2), 39.0)


def test_peaks_by_hand() -> None:
    actual = np.array([10.0, 30.0, 9.0, 25.0])
    expected = np.array([10.0, 20.0, 10.0, 20.0])  # weeks 1 (1.5x) and 3 (1.25x) are peaks
    assert peaks(actual, expected) == pytest.approx(
        {
            "peak_weeks": 2.0,
            "peak_excess": 15.0,  # 10 + 5
            "actual": 74.0,
            "shortfall": 14.0,  # 74 - 60
            "peak_share": 15 / 14,
            "off_peak_error": 20 / 19 - 1,  # weeks 0 and 2: 20 expected, 19 actual
        }
    )


def test_path_counts_hold_out_days_by_week() -> None:
    from analytics.btyd import BetaGeo

    calibration = _summary(RAW, CUT)
    x, t_x, T = (calibration[c].to_numpy() for c in ("x", "t_x", "T"))
    model = BetaGeo(r=0.243, alpha=4.414, a=0.793, b=2.426)
    actual, expected = _path(RAW, model, x, t_x, T)
    # a: 1997-10-05 (week 0) and 1997-11-01 (week 4); c: 1997-10-01 (week 0)
    assert actual[0] == 2 and actual[4] == 1 and actual.sum() == 3 and len(actual) == 39
    assert expected.sum() == pytest.approx(model.expected_purchases(39.0, x, t_x, T).sum())
