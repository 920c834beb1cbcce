"""Records read by Spark from the batch contract's file: the records the batch reader reads,
and the resolution of the list, without the driver building the list."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest
from pyspark.sql import SparkSession

from hub.resolve.batch import read_records
from identity.backends.spark import SparkBackend, SparkRecords
from identity.model import ModelSpec
from identity.resolve import run
from tests.identity.backends.spark.helpers import crm_records


def _write(path: Path) -> Path:
    """The CRM sample as JSON Lines, with what the batch reader leaves out: a broken line,
    an array, a record without source_id, and a repeat of an earlier record's key."""
    records = list(crm_records())
    lines = [orjson.dumps(r, default=str) for r in records]
    lines.insert(3, b"{not json")
    lines.insert(7, b"[1, 2]")
    lines.insert(11, orjson.dumps({"source": "erp", "given_name": "No Id"}))
    lines.insert(13, b"   ")  # blank: skipped, not reported
    lines.append(orjson.dumps({**records[5], "given_name": "A Repeat"}, default=str))
    with gzip.open(path, "wb") as fh:
        fh.write(b"\n".join(lines) + b"\n")
    return path


def test_spark_reads_the_records_the_batch_reader_reads(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = _write(tmp_path / "records.jsonl.gz")
    expected = read_records(path).records
    found = SparkRecords.read(spark, path)
    assert len(found) == len(expected)
    assert list(found) == expected
    assert found[len(found) - 1] == expected[-1]
    assert found[2] == expected[2]  # out of order: another block read


def test_spark_reports_the_lines_the_batch_reader_reports(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = _write(tmp_path / "records.jsonl.gz")
    expected = [(bad.line, bad.reason) for bad in read_records(path).bad]
    found = SparkRecords.read(spark, path, scratch=tmp_path)
    assert [reason.split(" ")[0] for _line, reason in expected] == [
        "not",
        "not",
        "missing",
        "duplicate",
    ]
    assert found.bad_sample == expected
    assert found.bad_count == len(expected)


def test_a_file_read_by_spark_resolves_as_the_list_does(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = _write(tmp_path / "records.jsonl.gz")
    records = read_records(path).records
    spec = ModelSpec()
    expected = run(records, spec, backend=SparkBackend(spark))
    found = run(SparkRecords.read(spark, path), spec, backend=SparkBackend(spark))
    assert found.crosswalk == expected.crosswalk
    assert found.stats == expected.stats
    assert found.golden == expected.golden


def test_an_index_out_of_range_is_an_error(spark: SparkSession, tmp_path: Path) -> None:
    found = SparkRecords.read(spark, _write(tmp_path / "records.jsonl.gz"))
    with pytest.raises(IndexError):
        found[len(found)]
