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
from identity.compare import compare_pairs, household_values
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


def test_household_mailboxes_by_joins_as_embedded(spark: SparkSession) -> None:
    """A mailbox under one name written in both orders is one person's, a couple's is the
    household's: the joined compare flags the same values as the embedded one."""
    mailboxes = [
        {"given_name": "Prao", "family_name": "Fiett", "email": "praofiett@gmail.com"},
        {"full_name": "FIETT PRAO", "email": "praofiett@gmail.com"},
        {"email": "praofiett@gmail.com"},
        {"given_name": "Mary", "family_name": "Young", "email": "youngs@gmail.com"},
        {"given_name": "John", "family_name": "Young", "email": "youngs@gmail.com"},
        {"email": "youngs@gmail.com"},
    ]
    records = [
        *crm_records(),
        *({"source": "web", "source_id": f"h{i}", **r} for i, r in enumerate(mailboxes)),
    ]
    spec = ModelSpec()
    local = LocalBackend()
    table = local.standardise(records, spec)
    pairs = local.block(table, spec)
    expected = local.compare(table, pairs, spec)
    backend = SparkBackend(spark, broadcast_records=0)
    on_spark = backend.standardise(records, spec)
    assert on_spark.household is not None
    flagged = on_spark.household.where("`__held_by_household_email`").select("rid").toPandas()
    held = household_values(table.frame, "email")
    assert "youngs@gmail.com" in held and "praofiett@gmail.com" not in held
    assert set(flagged["rid"]) == set(np.flatnonzero(table.frame["email"].isin(held)))
    got = backend.compare(on_spark, backend.block(on_spark, spec), spec)
    assert isinstance(got, SparkLevels)
    levels = got.frame.toPandas().sort_values(["l", "r"])
    assert np.array_equal(levels[level_columns(spec.comparisons)].to_numpy(), expected)
