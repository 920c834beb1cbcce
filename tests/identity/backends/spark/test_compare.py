"""Compare on Spark: the broadcast table holds every column the comparisons read, and both
ways of comparing (broadcast table, joined records) give the embedded levels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

from identity.backends.local import LocalBackend
from identity.backends.spark import SparkBackend
from identity.backends.spark.backend import SparkLevels
from identity.backends.spark.compare import compared_columns, level_columns, packed, unpacked
from identity.compare import compare_pairs
from identity.model import ModelSpec
from tests.identity.backends.spark.helpers import crm_records, febrl3_records


@pytest.mark.parametrize("records", [crm_records, febrl3_records], ids=["crm", "febrl3"])
def test_the_packed_compared_columns_give_the_full_frames_levels(
    records: Callable[[], tuple[dict[str, Any], ...]],
) -> None:
    spec = ModelSpec()
    local = LocalBackend()
    table = local.standardise(list(records()), spec)
    pairs = local.block(table, spec)
    assert pairs.left.size > 100
    columns = compared_columns(list(table.frame.columns), spec.comparisons)
    assert len(columns) < len(table.frame.columns)  # only what the comparisons read travels
    slim = unpacked(packed(table.frame, columns))
    assert slim.shape == (len(table.frame), len(columns))
    expected = compare_pairs(table.frame, pairs.left, pairs.right, spec.comparisons)
    found = compare_pairs(slim, pairs.left, pairs.right, spec.comparisons)
    assert np.array_equal(found, expected)


def test_unpacked_keeps_missing_values_as_none() -> None:
    frame = pd.DataFrame({"a": ["x", None, "x", "y"], "b": [None, None, None, None]})
    back = unpacked(packed(frame, ["a", "b"]))
    assert back["a"].tolist() == ["x", None, "x", "y"]
    assert back["b"].tolist() == [None, None, None, None]


@pytest.mark.parametrize("broadcast_records", [0, 10_000], ids=["joined", "broadcast"])
def test_both_ways_of_comparing_give_the_embedded_levels(
    spark: SparkSession, broadcast_records: int
) -> None:
    records, spec = list(crm_records()), ModelSpec()
    local = LocalBackend()
    table = local.standardise(records, spec)
    pairs = local.block(table, spec)
    expected = local.compare(table, pairs, spec)
    backend = SparkBackend(spark, broadcast_records=broadcast_records)
    on_spark = backend.standardise(records, spec)
    found_pairs = backend.block(on_spark, spec)
    assert np.array_equal(found_pairs.left, pairs.left)
    kept = backend.compare(on_spark, found_pairs, spec)  # the levels stay in Spark
    assert isinstance(kept, SparkLevels)
    assert (kept.pairs, kept.comparisons) == expected.shape
    got = kept.frame.toPandas().sort_values(["l", "r"])
    assert np.array_equal(got["l"].to_numpy(), pairs.left)
    assert np.array_equal(got["r"].to_numpy(), pairs.right)
    assert np.array_equal(got[level_columns(spec.comparisons)].to_numpy(), expected)
    # pairs handed over from the driver (the cluster stage's extra pairs), in reverse order
    back = backend._levels(on_spark, pairs.left[::-1], pairs.right[::-1], spec, "again")
    assert np.array_equal(back, expected[::-1])
    assert (on_spark.household is None) == (broadcast_records > 0)
