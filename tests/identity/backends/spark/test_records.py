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
from identity.backends.spark import records as records_module
from identity.backends.spark.records import numbered
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


def test_spark_reads_a_parquet_export_as_the_batch_reader_does(
    spark: SparkSession, tmp_path: Path
) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [dict(r) for r in crm_records()]
    fields = sorted({k for r in records for k in r})
    rows: list[dict[str, object]] = [{k: r.get(k) for k in fields} for r in records]
    for row in rows:
        if row["birth_date"]:
            row["birth_date"] = dt.date.fromisoformat(str(row["birth_date"]))
    rows.insert(4, {**rows[0], "source_id": None})  # no key: left out, reported
    schema = pa.schema([(k, pa.date32() if k == "birth_date" else pa.string()) for k in fields])
    path = tmp_path / "records.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=50)
    with pytest.raises(ValueError, match="the input is where the parsed records are kept"):
        SparkRecords.read(spark, path, scratch=tmp_path)  # would overwrite its own input
    expected = read_records(path)
    found = SparkRecords.read(spark, path, scratch=tmp_path / "run")
    assert list(found) == expected.records
    assert (
        found.bad_sample
        == [(bad.line, bad.reason) for bad in expected.bad]
        == [(5, "missing source or source_id")]
    )


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


def test_a_gzip_file_is_read_by_every_core_as_the_batch_reader_reads_it(
    spark: SparkSession, tmp_path: Path
) -> None:
    """A gzip input is decompressed into the run directory so that Spark splits it: here
    into many small partitions, whose line numbers and record order stay the file's."""
    path = _write(tmp_path / "records.jsonl.gz")
    expected = read_records(path)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "4096")
    try:
        assert spark.read.text(str(path)).rdd.getNumPartitions() == 1
        found = SparkRecords.read(spark, path, scratch=tmp_path / "run")
        assert found.frame.rdd.getNumPartitions() > 1
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert list(found) == expected.records
    assert found.bad_sample == [(bad.line, bad.reason) for bad in expected.bad]
    assert not (tmp_path / "run" / "records.jsonl").exists()  # removed once parsed


@pytest.mark.parametrize("broadcast", [True, False], ids=["repeats broadcast", "repeats shuffled"])
def test_repeated_keys_keep_their_first_line_in_file_order_across_partitions(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broadcast: bool
) -> None:
    """Repeats leave without a sort of the kept lines (a broadcast anti-join), or, past
    `_BROADCAST_LINES`, by a shuffle and a sort: either way the batch reader's records,
    line numbers and reasons."""
    records = list(crm_records())
    lines = [orjson.dumps(r, default=str) for r in records]
    lines.insert(6, orjson.dumps({**records[0], "given_name": "Close Repeat"}, default=str))
    for copy in ("Second", "Third"):  # every 7th record twice more, far from the first
        lines += [
            orjson.dumps({**r, "given_name": f"{copy} Copy"}, default=str) for r in records[::7]
        ]
    path = tmp_path / "records.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    expected = read_records(path)
    if not broadcast:
        monkeypatch.setattr(records_module, "_BROADCAST_LINES", 0)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "4096")
    try:
        found = SparkRecords.read(spark, path, scratch=tmp_path / "run")
        assert found.frame.rdd.getNumPartitions() > 3
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert list(found) == expected.records
    assert found.bad_count == len(expected.bad) == 1 + 2 * len(records[::7])
    assert found.bad_sample == [(bad.line, bad.reason) for bad in expected.bad][:10]


@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_rows_are_numbered_in_order_across_partitions(spark: SparkSession, partitions: int) -> None:
    frame = spark.range(0, 1000, numPartitions=partitions).where("id % 3 != 1")
    rows = numbered(frame, "n").orderBy("id").collect()
    assert [r.n for r in rows] == list(range(len(rows)))
    assert [r.id for r in rows] == [i for i in range(1000) if i % 3 != 1]
    empty = numbered(spark.range(0, 0, numPartitions=2), "n")
    assert empty.count() == 0
