"""The in-process backend: every row-level stage with pandas and NumPy on one machine."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from analytics.btyd import summarise
from analytics.frame import Prepared, prepare
from analytics.model import AnalysisSpec, Value
from analytics.offers import holdings
from analytics.regime import repeat_ages
from analytics.traits import TraitSpec, compute_traits
from analytics.value import customer_value

__all__ = ["LocalBackend"]


class LocalBackend:
    """Runs an `AnalysisSpec`'s row-level stages in this process on a pandas DataFrame."""

    def prepare(
        self, raw: pd.DataFrame, spec: AnalysisSpec, as_of: pd.Timestamp, customers: Sequence[str]
    ) -> Prepared:
        cfg = spec.input
        return prepare(
            raw,
            as_of,
            purchase_types=cfg.purchase_types,
            cancelled=cfg.cancelled_statuses,
            rates=dict(cfg.rates),
            max_amount=cfg.max_amount,
            earliest=cfg.earliest,
            customers=customers,
        )

    def traits(
        self, data: Prepared, traits: tuple[TraitSpec, ...], as_of: pd.Timestamp
    ) -> pd.DataFrame:
        return compute_traits(data.frame, data.n_customers, traits, as_of)

    def summary(self, data: Prepared, as_of: pd.Timestamp) -> pd.DataFrame:
        return summarise(data.frame, data.n_customers, as_of)

    def repeat_ages(self, data: Prepared, as_of: pd.Timestamp) -> np.ndarray:
        return repeat_ages(data.frame, as_of)

    def value(self, data: Prepared, spec: Value, as_of: pd.Timestamp) -> pd.DataFrame:
        return customer_value(data.frame, data.n_customers, spec, as_of)

    def mix(self, data: Prepared, fields: Sequence[str], as_of: pd.Timestamp) -> pd.DataFrame:
        frame = data.frame
        rows = frame.loc[frame["purchase"].to_numpy() & (frame["ts"] < as_of).to_numpy()]
        out = pd.DataFrame(index=pd.RangeIndex(data.n_customers, name="code"))
        for field in fields:
            column = rows[field]
            categorical = isinstance(column.dtype, pd.CategoricalDtype)
            if categorical and "unknown" not in column.cat.categories:
                column = column.cat.add_categories("unknown")
            counts = rows.groupby(["code", column.fillna("unknown")], observed=True).size()
            shares = (counts / counts.groupby(level=0).transform("sum")).unstack(fill_value=0.0)
            shares.columns = [f"{field}:{c}" for c in shares.columns]
            out = out.join(shares)
        return out.fillna(0.0)

    def holdings(
        self, data: Prepared, field: str, as_of: pd.Timestamp, *, counts: bool = False
    ) -> tuple[sparse.csr_matrix, np.ndarray]:
        return holdings(data.frame, data.n_customers, field, as_of, counts=counts)
