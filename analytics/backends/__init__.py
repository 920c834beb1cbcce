"""Executors of the declarative model: the seam between what to compute and what runs it.

A `Backend` does everything that touches interaction rows — validate and prepare them,
aggregate traits, the BG/NBD summary, value, mixes and holdings — and hands back small
per-customer frames; the models (BG/NBD, Gamma-Gamma, k-means, gradient boosting) are then
fitted on those by `analytics.analyse`. `analytics.backends.local.LocalBackend` runs in
process with pandas and NumPy; a Spark backend implements the same methods. The model
(`analytics.model`) never imports a backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
from scipy import sparse

from analytics.frame import Prepared
from analytics.model import AnalysisSpec, Value
from analytics.traits import TraitSpec

__all__ = ["Backend"]


@runtime_checkable
class Backend(Protocol):
    """Runs the row-level stages of an `AnalysisSpec`; results are per customer code."""

    def prepare(
        self, raw: pd.DataFrame, spec: AnalysisSpec, as_of: pd.Timestamp, customers: Sequence[str]
    ) -> Prepared: ...

    def traits(
        self, data: Prepared, traits: tuple[TraitSpec, ...], as_of: pd.Timestamp
    ) -> pd.DataFrame: ...

    def summary(self, data: Prepared, as_of: pd.Timestamp) -> pd.DataFrame: ...

    def repeat_ages(self, data: Prepared, as_of: pd.Timestamp) -> np.ndarray:
        """Weeks from each customer's first purchase day to each later one before `as_of`,
        pooled (what the "regime" purchase model fits besides the summary)."""
        ...

    def value(self, data: Prepared, spec: Value, as_of: pd.Timestamp) -> pd.DataFrame: ...

    def mix(self, data: Prepared, fields: Sequence[str], as_of: pd.Timestamp) -> pd.DataFrame: ...

    def holdings(
        self, data: Prepared, field: str, as_of: pd.Timestamp, *, counts: bool = False
    ) -> tuple[sparse.csr_matrix, np.ndarray]: ...
