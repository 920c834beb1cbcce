"""The Spark backend gives what the local backend gives: every stage's per-customer frame
on the labelled trait fixture and on generated data (bad rows, customers without
interactions, several partitions), and a whole `analyse` run; Spark (local[2]) input read
from Parquet and JSON Lines as from pandas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

from analytics import analyse
from analytics.backends import Backend
from analytics.backends.local import LocalBackend
from analytics.backends.spark import SparkBackend, SparkPrepared, read_interactions
from analytics.frame import Prepared
from analytics.model import AnalysisSpec
from benchmarks.analytics.generator import AS_OF, generate, write_jsonl
from tests.analytics.test_traits import AS_OF as TRAITS_AS_OF
from tests.analytics.test_traits import BASE, order, rows

SPEC = AnalysisSpec()
MIX = ("channel", "category")

# one of each reason for leaving a row out, and rows that tie on customer and time
BAD = rows(
    order("c", "2023-06-01", -5),
    order("c", "2023-06-01", 10, currency="XXX"),
    order("c", None, 10),  # type: ignore[arg-type]
    order("c", "2099-01-01", 10),
    order("c", "2023-06-01", 5e9),
    order("", "2023-06-01", 10),
    order(None, "2023-06-01", 10),  # type: ignore[arg-type]
    order("c", "2023-06-01", "ten"),  # type: ignore[arg-type]
    order("c", "1980-01-01", 10),
    {"customer_id": "c", "type": "gossip", "occurred_at": "2023-06-01"},
    order(" c ", "2023-06-02", 10, channel=" Web"),
    {"customer_id": "c", "type": "note", "occurred_at": "2023-07-01", "subject": "first"},
    {"customer_id": "c", "type": "note", "occurred_at": "2023-07-01", "subject": "second"},
    {"customer_id": "c", "type": "call", "occurred_at": "2023-07-01", "subject": None},
)  # fmt: skip


def stages_equal(local: Prepared, spark: Prepared, as_of: pd.Timestamp, backend: Backend) -> None:
    """Every stage of `backend` on `spark` equals the local backend's on `local`."""
    here = LocalBackend()
    assert isinstance(spark, SparkPrepared)
    assert list(spark.customer_ids) == list(local.customer_ids)
    assert spark.rejected == local.rejected
    assert list(spark.rejected) == list(local.rejected)  # the same order too
    for cut in (as_of, as_of - pd.Timedelta(days=200)):
        pd.testing.assert_frame_equal(
            backend.traits(spark, SPEC.traits, cut), here.traits(local, SPEC.traits, cut)
        )
        pd.testing.assert_frame_equal(backend.summary(spark, cut), here.summary(local, cut))
        np.testing.assert_allclose(backend.repeat_ages(spark, cut), here.repeat_ages(local, cut))
        pd.testing.assert_frame_equal(
            backend.value(spark, SPEC.value, cut), here.value(local, SPEC.value, cut)
        )
        pd.testing.assert_frame_equal(backend.mix(spark, MIX, cut), here.mix(local, MIX, cut))
        for counts in (False, True):
            got, items = backend.holdings(spark, "category", cut, counts=counts)
            want, expected = here.holdings(local, "category", cut, counts=counts)
            assert list(items) == list(expected)
            assert got.shape == want.shape and got.dtype == want.dtype
            assert (got != want).nnz == 0


def test_the_labelled_fixture_with_bad_rows_gives_the_local_frames(spark: SparkSession) -> None:
    raw = pd.concat([BASE, BAD], ignore_index=True)
    known = ("a", "b", "c", "nobody", "zz-never-seen")  # two customers without interactions
    local = LocalBackend().prepare(raw, SPEC, TRAITS_AS_OF, known)
    backend = SparkBackend(spark, partitions=3)
    prepared = backend.prepare(raw, SPEC, TRAITS_AS_OF, known)
    assert set(local.rejected) >= {
        "missing customer_id", "missing or unreadable date", "date before 1990-01-01",
        "date in the future", "unknown interaction type", "unreadable amount",
        "negative amount", "unknown currency", "absurd amount", "after_as_of",
    }  # fmt: skip
    stages_equal(local, prepared, TRAITS_AS_OF, backend)
    topic = backend.traits(prepared, SPEC.traits, TRAITS_AS_OF)["last_contact_topic"]
    assert topic.iloc[list(prepared.customer_ids).index("c")] == "second"  # input order
    backend.release(prepared)


@pytest.fixture(scope="module")
def generated() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = generate(400, seed=5)
    bad = BAD.assign(customer_id=BAD["customer_id"].where(BAD["customer_id"] != "c", "c0000007"))
    raw = pd.concat([data.interactions, bad], ignore_index=True)
    customers = pd.concat(
        [data.customers, pd.DataFrame({"customer_id": ["only-known-1", "only-known-2"]})],
        ignore_index=True,
    )
    return raw, customers


@pytest.mark.parametrize("partitions", [1, 4])
def test_generated_data_gives_the_local_frames(
    spark: SparkSession, generated: tuple[pd.DataFrame, pd.DataFrame], partitions: int
) -> None:
    raw, customers = generated
    known = customers["customer_id"].astype(str)
    local = LocalBackend().prepare(raw, SPEC, AS_OF, known)
    backend = SparkBackend(spark, partitions=partitions)
    prepared = backend.prepare(raw, SPEC, AS_OF, known)
    assert prepared.partitions == partitions
    assert prepared.rows.rdd.getNumPartitions() == partitions
    stages_equal(local, prepared, AS_OF, backend)
    backend.release(prepared)


def test_a_whole_analyse_run_on_spark_equals_the_local_one(
    spark: SparkSession, generated: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    raw, customers = generated
    local = analyse(raw, AS_OF, SPEC, customers=customers)
    backend = SparkBackend(spark, partitions=3)
    on_spark = analyse(raw, AS_OF, SPEC, customers=customers, backend=backend)
    pd.testing.assert_frame_equal(on_spark.customers, local.customers)
    pd.testing.assert_frame_equal(on_spark.segments, local.segments)
    pd.testing.assert_frame_equal(on_spark.lorenz, local.lorenz)
    assert on_spark.rejected == local.rejected
    assert on_spark.bgnbd == local.bgnbd and on_spark.gamma_gamma == local.gamma_gamma
    assert on_spark.churn_model is not None and local.churn_model is not None
    assert (local.customers["customer_id"] == "only-known-1").any()
    assert local.customers["churn_reasons"].str.len().gt(0).any()  # reasons were compared


def test_parquet_and_json_lines_read_by_spark_give_the_pandas_frames(
    spark: SparkSession, generated: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    raw, customers = generated
    known = customers["customer_id"].astype(str)
    good = raw.loc[raw["occurred_at"].map(lambda v: isinstance(v, pd.Timestamp))]
    good = good.assign(occurred_at=pd.to_datetime(good["occurred_at"], utc=True))
    # Spark reads Parquet timestamps of up to microseconds (pandas writes nanoseconds)
    good = good.assign(occurred_at=good["occurred_at"].dt.floor("us"))
    good.to_parquet(tmp_path / "in.parquet", coerce_timestamps="us")
    write_jsonl(good, tmp_path / "in.jsonl.gz")
    local = LocalBackend().prepare(good, SPEC, AS_OF, known)
    backend = SparkBackend(spark, partitions=2)
    for path in (tmp_path / "in.parquet", tmp_path / "in.jsonl.gz"):
        prepared = backend.prepare(read_interactions(spark, path), SPEC, AS_OF, known)
        assert prepared.rejected == local.rejected
        pd.testing.assert_frame_equal(
            backend.traits(prepared, SPEC.traits, AS_OF),
            LocalBackend().traits(local, SPEC.traits, AS_OF),
        )
        backend.release(prepared)


def test_interactions_prepared_elsewhere_are_refused(spark: SparkSession) -> None:
    local = LocalBackend().prepare(BASE, SPEC, TRAITS_AS_OF, ())
    with pytest.raises(TypeError, match=r"prepare them with SparkBackend\.prepare"):
        SparkBackend(spark).summary(local, TRAITS_AS_OF)
