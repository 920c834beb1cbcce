"""Churn reasons in words, labelled: each group's sentence from the customer's own figures,
the strongest contribution first, rules saying so, low risks without reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.churn import FEATURES, GROUPS, RULES_NOTE, reasons, rule_risk


def row(**values: float) -> dict[str, float]:
    base = {name: 0.0 for name in FEATURES}
    base.update(mean_gap=float("nan"), p_alive=0.9, recency_days=10.0, frequency=5.0)
    base.update(values)
    return base


def contributions(**groups: float) -> dict[str, float]:
    return {g: groups.get(g, 0.0) for g in GROUPS}


CASES = [
    (row(revenue_365d=400, revenue_prev_365d=1000), contributions(volume=0.3),
     "purchases down 60 % year on year"),
    (row(revenue_365d=900, revenue_prev_365d=800, revenue_90d=50, revenue_prev_90d=200),
     contributions(volume=0.3), "purchases down 75 % on the 90 days before"),
    (row(complaints_90d=3, complaints_prev_90d=0), contributions(complaints=0.2),
     "3 complaints in 90 days, none before"),
    (row(complaints_90d=1, complaints_prev_90d=2), contributions(complaints=0.2),
     "1 complaint in 90 days, 2 in the 90 days before"),
    (row(complaints_365d=4, complaints_prev_365d=1), contributions(complaints=0.2),
     "4 complaints in the last year against 1 the year before"),
    (row(recency_days=200, mean_gap=30), contributions(recency=0.4),
     "no purchase for 200 days (usually every 30 days)"),
    (row(payment_delays_365d=1), contributions(payments=0.1), "1 late payment in the last year"),
    (row(open_tickets=2), contributions(tickets=0.1), "2 tickets still open"),
    (row(p_alive=0.123), contributions(alive=0.1), "probability still active 0.12"),
    (row(frequency=1), contributions(history=0.1), "only one purchase so far"),
    (row(revenue_365d=400, revenue_prev_365d=1000, complaints_90d=3),
     contributions(volume=0.1, complaints=0.3),
     "3 complaints in 90 days, none before; purchases down 60 % year on year"),
    (row(), contributions(volume=0.01, complaints=0.005), "no single strong sign"),
]  # fmt: skip


@pytest.mark.parametrize(("features", "contribution", "expected"), CASES)
def test_reason_in_words(
    features: dict[str, float], contribution: dict[str, float], expected: str
) -> None:
    got = reasons(pd.DataFrame([features]), pd.DataFrame([contribution]), np.array([0.8]))
    assert got == [expected]


def test_low_risk_has_no_reasons() -> None:
    got = reasons(pd.DataFrame([row()]), pd.DataFrame([contributions(volume=0.5)]), np.array([0.1]))
    assert got == ["low risk"]


def test_only_the_top_reasons_are_given() -> None:
    many = contributions(volume=0.5, complaints=0.4, recency=0.3, tickets=0.2)
    features = row(revenue_365d=1, revenue_prev_365d=2, complaints_90d=1, open_tickets=1)
    got = reasons(pd.DataFrame([features]), pd.DataFrame([many]), np.array([0.9]), top=2)
    assert got[0].count(";") == 1 and "ticket" not in got[0]


def test_rules_name_their_signs_and_say_they_are_rules() -> None:
    features = row(recency_days=400, recency_ratio=5, complaints_90d=2, mean_gap=40)
    (got,) = reasons(pd.DataFrame([features]), None, np.array([0.9]))
    assert got.startswith("no purchase for 400 days") and "2 complaints" in got
    assert got.endswith(RULES_NOTE)


def test_rule_risk_is_poisson_zero() -> None:
    assert rule_risk(np.array([0.0, 1.0, -2.0])) == pytest.approx([1.0, np.exp(-1.0), 1.0])
