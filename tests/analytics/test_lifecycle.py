"""Lifecycle stages, labelled: the first rule that holds names the stage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.lifecycle import lifecycle_stage
from analytics.model import Lifecycle

NAN = float("nan")
CASES = [
    # frequency, recency, tenure, revenue 365d, revenue year before, risk, new categories
    ((0, NAN, 30, 0, 0, NAN, 0), "prospect"),
    ((6, 400, 900, 0, 300, 0.9, 0), "lapsed"),
    ((6, 100, 900, 200, 300, 0.7, 0), "at risk"),
    ((1, 20, 20, 50, 0, 0.2, 0), "new"),
    ((3, 10, 60, 150, 0, 0.2, 0), "new"),  # first purchase under 90 days ago
    ((6, 10, 900, 500, 300, 0.2, 0), "expanding"),  # spend up 67 %
    ((6, 10, 900, 300, 300, 0.2, 1), "expanding"),  # a category new this year
    ((6, 10, 900, 300, 300, 0.2, 0), "repeat"),
]


@pytest.mark.parametrize(("values", "stage"), CASES)
def test_stage(values: tuple[float, ...], stage: str) -> None:
    frequency, recency, tenure, this_year, last_year, risk, new = values
    traits = pd.DataFrame(
        {
            "frequency": [frequency],
            "recency_days": [recency],
            "tenure_days": [tenure],
            "revenue_365d": [this_year],
            "revenue_prev_365d": [last_year],
        }
    )
    got = lifecycle_stage(traits, pd.Series([risk]), pd.Series([new]), Lifecycle())
    assert got.tolist() == [stage]


def test_thresholds_come_from_the_spec() -> None:
    traits = pd.DataFrame(
        {"frequency": [5], "recency_days": [200.0], "tenure_days": [900.0],
         "revenue_365d": [100.0], "revenue_prev_365d": [100.0]}
    )  # fmt: skip
    stricter = Lifecycle(lapsed_days=180)
    risk, new = pd.Series([np.nan]), pd.Series([0])
    assert lifecycle_stage(traits, risk, new, Lifecycle()).tolist() == ["repeat"]
    assert lifecycle_stage(traits, risk, new, stricter).tolist() == ["lapsed"]
