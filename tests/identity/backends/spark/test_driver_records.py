"""Above `driver_records` the driver never holds the record table, and nothing changes:
the model's counts come from Spark, pairs are compared and scored on the table Spark wrote
for the workers (up to `broadcast_records`) or by joins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

from identity.backends import Decisions
from identity.backends.spark import SparkBackend
from identity.backends.spark.backend import SparkTable
from identity.backends.spark.estimate import estimate_on_spark, record_kinds
from identity.model import ModelSpec
from identity.resolve import History, run
from identity.score import Model, estimate_from_patterns
from tests.identity.backends.spark.helpers import crm_records, febrl3_records
from tests.identity.backends.spark.test_backend import assert_same_answer

DATASETS: dict[str, Callable[[], tuple[dict[str, Any], ...]]] = {
    "crm": crm_records,
    "febrl3": febrl3_records,
}


def assert_same_model(one: Model, other: Model) -> None:
    assert one.iterations == other.iterations
    assert one.prior == pytest.approx(other.prior, rel=1e-12)
    assert one.prior_candidates == pytest.approx(other.prior_candidates, rel=1e-12)
    for a, b in zip(one.m + one.u, other.m + other.u, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert sorted(one.tf) == sorted(other.tf)
    for name in one.tf:
        pd.testing.assert_series_equal(
            one.tf[name].sort_index(), other.tf[name].sort_index(), check_names=False, rtol=1e-12
        )


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_the_model_from_spark_counts_is_the_one_fitted_on_the_frame(
    spark: SparkSession, dataset: str
) -> None:
    records = list(DATASETS[dataset]())
    spec = ModelSpec()
    backend = SparkBackend(spark)
    table = backend.standardise(records, spec)
    assert isinstance(table, SparkTable) and table.collected
    pairs = backend.block(table, spec)
    levels = backend.compare(table, pairs, spec)
    found = backend.patterns(table, pairs, levels, Decisions())
    training = spec.training
    options: dict[str, Any] = {
        "comparisons": spec.comparisons,
        "sessions": training.sessions,
        "random_pairs": training.random_pairs,
        "max_iterations": training.max_iterations,
        "seed": training.seed,
    }
    on_frame = estimate_from_patterns(table.frame, found, **options)
    on_spark = estimate_on_spark(
        table.records,
        record_kinds(table.records, table.size),
        lambda left, right: backend._levels(table, left, right, spec, "random_levels"),
        found,
        **options,
    )
    assert FULL_NAME_OR_IDENTIFIER_TF & set(on_frame.tf)  # the counted parts are exercised
    assert_same_model(on_frame, on_spark)


FULL_NAME_OR_IDENTIFIER_TF = {"full name", "email", "phone", "tax_id"}


# how the pairs meet their records when the driver holds no table: the table written by
# Spark and read by every worker (up to broadcast_records), or joined to each pair
SHARING = {"files": 5_000_000, "joins": 0}


@pytest.mark.parametrize("sharing", sorted(SHARING))
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_without_the_table_on_the_driver_the_answer_is_the_same(
    spark: SparkSession, dataset: str, sharing: str
) -> None:
    records = list(DATASETS[dataset]())
    collected = run(records, ModelSpec(), backend=SparkBackend(spark))
    backend = SparkBackend(spark, driver_records=0, broadcast_records=SHARING[sharing])
    left_on_spark = run(records, ModelSpec(), backend=backend)
    assert len(left_on_spark.frame) == 0  # nothing of the table was collected
    assert left_on_spark.crosswalk == collected.crosswalk
    assert_same_model(collected.model, left_on_spark.model)
    assert_same_answer(collected, left_on_spark)
    stages = {stage for stage, _how in backend.stage_log()}
    assert {"household", "random_levels", "scored"} <= stages
    assert ("shared_table" in stages) == (sharing == "files")


def test_steward_links_are_honoured_without_the_table_on_the_driver(
    spark: SparkSession,
) -> None:
    records = list(crm_records())
    first = run(records, ModelSpec())
    by_gid: dict[str, list[tuple[str, str]]] = {}
    for key, gid in first.crosswalk.items():
        by_gid.setdefault(gid, []).append(key)
    merged = next(keys for keys in by_gid.values() if len(keys) > 1)
    apart = [keys[0] for keys in by_gid.values()][:2]
    history = History(cannot_link=[(merged[0], merged[1])], must_link=[(apart[0], apart[1])])
    local = run(records, ModelSpec(), history=history)
    on_spark = run(
        records, ModelSpec(), history=history, backend=SparkBackend(spark, driver_records=0)
    )
    assert on_spark.crosswalk[merged[0]] != on_spark.crosswalk[merged[1]]
    assert on_spark.crosswalk[apart[0]] == on_spark.crosswalk[apart[1]]
    assert_same_answer(local, on_spark)
