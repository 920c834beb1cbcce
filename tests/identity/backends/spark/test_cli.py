"""`crmhub resolve --engine spark`: the batch contract on Spark, end to end."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from tests.cli import crmhub
from tests.identity.backends.spark.helpers import crm_records


def test_the_batch_contract_on_spark_writes_the_local_crosswalk(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl.gz"
    with gzip.open(source, "wb") as fh:
        for record in crm_records()[:150]:
            fh.write(orjson.dumps(record) + b"\n")
    local = crmhub(
        "resolve", "--input", str(source), "--crosswalk", "local.csv", cwd=tmp_path, inherit=True
    )
    assert local.returncode == 0, local.stderr
    spark = crmhub(
        "resolve",
        "--engine",
        "spark",
        "--spark-master",
        "local[2]",
        "--run-dir",
        "run",
        "--input",
        str(source),
        "--crosswalk",
        "spark.csv",
        "--golden",
        "golden.jsonl",
        cwd=tmp_path,
        inherit=True,
        timeout=600,
    )
    assert spark.returncode == 0, spark.stderr
    assert "resolved 150 records into" in spark.stdout
    assert (tmp_path / "spark.csv").read_text() == (tmp_path / "local.csv").read_text()
    assert (tmp_path / "golden.jsonl").read_text().count("\n") == len(
        {line.rsplit(",", 1)[1] for line in (tmp_path / "spark.csv").read_text().splitlines()[1:]}
    )
    assert (tmp_path / "run" / "pairs.parquet" / "_SUCCESS").exists()


def test_a_file_above_driver_records_runs_wholly_on_spark(tmp_path: Path) -> None:
    """Above --driver-records lines the run stays on Spark (records read by Spark, ids and
    golden records as Spark tables): the same files as the in-process run, and the same
    unusable lines reported."""
    source = tmp_path / "in.jsonl.gz"
    records = crm_records()[:150]
    with gzip.open(source, "wb") as fh:
        for number, record in enumerate(records):
            if number == 4:
                fh.write(b"{broken\n")
            if number == 9:
                fh.write(orjson.dumps({"source": "erp"}) + b"\n")
            fh.write(orjson.dumps(record) + b"\n")
        fh.write(orjson.dumps(records[3]) + b"\n")  # a repeated key
    local = crmhub(
        "resolve",
        "--input",
        str(source),
        "--crosswalk",
        "local.csv",
        "--golden",
        "local.jsonl",
        "--review",
        "local-review.csv",
        cwd=tmp_path,
        inherit=True,
    )
    assert local.returncode == 0, local.stderr
    spark = crmhub(
        "resolve",
        "--engine",
        "spark",
        "--driver-records",
        "100",
        "--input",
        str(source),
        "--crosswalk",
        "spark.csv",
        "--golden",
        "spark.jsonl",
        "--review",
        "spark-review.csv",
        cwd=tmp_path,
        inherit=True,
        timeout=900,
    )
    assert spark.returncode == 0, spark.stderr
    assert (tmp_path / "spark.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert (tmp_path / "spark.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert spark.stdout.split(") in ")[0] == local.stdout.split(") in ")[0]
    review = (tmp_path / "local-review.csv").read_bytes()
    assert (tmp_path / "spark-review.csv").read_bytes() == review
    assert review.startswith(b"left_source,left_source_id,right_source,right_source_id,")
    assert review.count(b"\n") > 1  # pairs were left for review, and written alike
    assert "3 unusable lines" in spark.stdout
    for where in (":5: not valid JSON", ":11: missing source or source_id", ":153: duplicate"):
        assert where in spark.stderr
        assert where in local.stderr


MISTAKES = [
    (["--engine", "flink"], "--engine flink: unknown engine — use one of local, spark"),
    (["--spark-master", "local[2]"], "--spark-master and --run-dir are options of --engine spark"),
    (["--driver-records", "10"], "--driver-records is an option of --engine spark"),
]


def test_engine_mistakes_are_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"source": "a", "source_id": "1"}\n')
    for options, message in MISTAKES:
        found = crmhub(
            "resolve",
            *options,
            "--input",
            "in.jsonl",
            "--crosswalk",
            "x.csv",
            cwd=tmp_path,
            inherit=True,
        )
        assert found.returncode == 2, options
        assert message in found.stderr
    store = crmhub("resolve", "--engine", "flink", cwd=tmp_path, inherit=True)
    assert store.returncode == 2  # store mode: hub.yaml is read first, and is missing here
    assert "hub.yaml: not found" in store.stderr
