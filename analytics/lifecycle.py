"""Lifecycle stage: prospect → new → repeat → expanding → at risk → lapsed.

The first rule that holds names the stage: never bought → prospect; no purchase for
`lapsed_days` → lapsed; churn risk at or above `at_risk` → at risk; a single purchase, or
the first one under `new_days` ago → new; last year's spend up by `expanding_growth` on the
year before, or a category bought this year that was not bought before → expanding; else
repeat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.model import Lifecycle

__all__ = ["STAGES", "lifecycle_stage"]

STAGES = ("prospect", "new", "repeat", "expanding", "at risk", "lapsed")


def lifecycle_stage(
    traits: pd.DataFrame, churn_risk: pd.Series, new_categories: pd.Series, spec: Lifecycle
) -> pd.Series:
    """Each customer's stage from its traits, churn risk and categories new this year."""
    frequency = traits["frequency"].to_numpy(dtype=float)
    recency = traits["recency_days"].to_numpy(dtype=float)
    first_age = traits["tenure_days"].to_numpy(dtype=float)
    this_year = traits["revenue_365d"].to_numpy(dtype=float)
    last_year = traits["revenue_prev_365d"].to_numpy(dtype=float)
    risk = churn_risk.to_numpy(dtype=float)
    expanding = ((last_year > 0) & (this_year >= spec.expanding_growth * last_year)) | (
        new_categories.to_numpy(dtype=float) > 0
    )
    conditions = [
        frequency <= 0,
        recency >= spec.lapsed_days,
        np.nan_to_num(risk) >= spec.at_risk,
        (frequency == 1) | (first_age < spec.new_days),
        expanding,
    ]
    choices = ["prospect", "lapsed", "at risk", "new", "expanding"]
    return pd.Series(np.select(conditions, choices, "repeat"), index=traits.index, dtype=object)
