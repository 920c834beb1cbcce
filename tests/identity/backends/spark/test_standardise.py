"""The one-pass Spark standardise gives the embedded backend's frame and stats."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from identity.backends.local import standardised_frame
from identity.backends.spark import SparkBackend
from identity.backends.spark.standardise import FIELDS, ROW, records_table
from identity.model import Blocking, ModelSpec
from identity.standardise import standardise
from schemas import CustomerRecord
from tests.identity.backends.spark.helpers import crm_records, febrl3_records

DATASETS = {"crm": crm_records, "febrl3": febrl3_records}


def assert_same_frame(found: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(found.columns) == list(expected.columns)
    assert len(found) == len(expected)
    for column in expected.columns:
        mine = found[column].tolist()
        theirs = [None if v is None else str(v) for v in expected[column].tolist()]
        assert mine == theirs, column


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_the_one_pass_standardise_equals_the_embedded_one(
    spark: SparkSession, dataset: str
) -> None:
    records = list(DATASETS[dataset]())
    # a low max_shared: some e-mails and phones are blanked, and the phones' tails with them
    spec = ModelSpec(blocking=Blocking(max_shared=2))
    expected, stats = standardised_frame(records, max_shared=2)
    backend = SparkBackend(spark)  # holds the scratch directory the table is read from
    table = backend.standardise(records, spec)
    assert table.stats == stats
    assert_same_frame(table.frame, expected)
    in_spark = table.records.toPandas().sort_values(ROW).drop(columns=[ROW])
    assert_same_frame(in_spark.reset_index(drop=True), expected)


def test_blanking_is_exercised_on_the_crm_sample() -> None:
    _, stats = standardised_frame(list(crm_records()), max_shared=2)
    assert stats.get("non_identifying_email", 0) + stats.get("non_identifying_phone", 0) > 0


def test_values_other_than_text_are_read_as_their_json_lines_form(spark: SparkSession) -> None:
    records: list[dict[str, Any]] = [
        {
            "source": "erp",
            "source_id": 17,
            "given_name": "Anna",
            "family_name": "Kovács",
            "birth_date": dt.date(1980, 5, 17),
            "postal_code": 1051,
            "phone": "+36 30 123 4567",
            "updated_at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        },
        {"source": "web", "source_id": "a-1", "email": "anna@example.com", "kind": None},
    ]
    table = records_table(records)
    assert "json:source_id" in table.column_names and "source" in table.column_names
    found = SparkBackend(spark).standardise(records, ModelSpec()).frame
    expected, _ = standardised_frame(records, max_shared=25)
    assert found["birth_date"].tolist() == ["1980-05-17", None]
    assert found["postal_code"].tolist() == expected["postal_code"].tolist()
    assert found["source_id"].tolist() == ["17", "a-1"]
    assert found["updated_at"].tolist() == ["2026-01-02T03:04:05+00:00", None]


def test_the_fields_sent_are_the_customer_records_and_others_change_nothing() -> None:
    assert set(FIELDS) == set(CustomerRecord.model_fields)
    records = [dict(r) for r in crm_records()]
    plain = standardise(records)
    extra = [{**r, "notes": "vip 000", "segment": 7, "given": "zz"} for r in records]
    pd.testing.assert_frame_equal(standardise(extra), plain)
