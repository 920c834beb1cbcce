"""The batch contract wholly on Spark: `crmhub resolve --engine spark --input` on a file
too large for the driver.

Above `driver_records` input lines the records are read by Spark (`SparkRecords`), the
run goes through `run_on_spark` (clusters, stable ids, golden records and review pairs as
DataFrames) and the crosswalk and golden records are written from Spark's sorted Parquet
parts a batch at a time, so the driver holds no per-record structure. The files are the
ones the in-process run writes, byte for byte; unusable lines are counted and reported in
the batch reader's words. At or below `driver_records` lines the list path
(`hub.resolve.batch.resolve_records`) stays: it is faster while the records fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hub.core.errors import HubError
from hub.core.files import BadLine, open_bytes
from hub.resolve.batch import (
    spark_engine,
    write_crosswalk_frame,
    write_golden_frame,
    write_review_frame,
)
from identity.model import ModelSpec, Settings

__all__ = ["DRIVER_RECORDS", "FileRun", "more_lines_than", "resolve_file_on_spark"]

DRIVER_RECORDS = 1_000_000  # input lines above which the whole run stays on Spark


@dataclass(frozen=True)
class FileRun:
    """What a run on Spark reports: its counts, and the unusable lines (how many, and
    the first ten with where and why)."""

    stats: dict[str, int]
    bad_count: int
    bad: list[BadLine] = field(default_factory=list)


def more_lines_than(path: Path, limit: int) -> bool:
    """Whether `path` has more than `limit` non-blank lines (reads at most limit + 1), or
    a Parquet file more than `limit` rows (from its footer)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return bool(pq.ParquetFile(path).metadata.num_rows > limit)
    seen = 0
    with open_bytes(path) as fh:
        for line in fh:
            if line.strip():
                seen += 1
                if seen > limit:
                    return True
    return False


def resolve_file_on_spark(
    path: Path,
    crosswalk: Path,
    golden: Path | None,
    *,
    review: Path | None = None,
    spark_master: str | None = None,
    run_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> FileRun:
    """Resolve the CustomerRecord JSON Lines (or Parquet) `path` on Spark end to end and write the
    batch contract's crosswalk (golden records when `golden` is given, the pairs for review
    when `review` is)."""
    spark = spark_engine()
    step = progress or (lambda _msg: None)
    backend = spark.SparkBackend(
        master=spark_master or "local[2]", run_dir=run_dir, driver_records=0
    )
    step(f"reading {path} with Spark")
    records = spark.SparkRecords.read(backend.spark, path, scratch=backend.root)
    if len(records) == 0:
        raise HubError(f"{path}: no usable CustomerRecord line — nothing to resolve")
    result = spark.run_on_spark(
        records,
        ModelSpec.from_settings(Settings()),
        backend=backend,
        progress=progress,
        build_golden=golden is not None,
    )
    step(f"writing {crosswalk}")
    write_crosswalk_frame(result.crosswalk, crosswalk, backend.root / "out")
    if golden is not None and result.golden is not None:
        step(f"writing {golden}")
        write_golden_frame(result.golden, golden, backend.root / "out")
    if review is not None:
        step(f"writing {review}")
        write_review_frame(result.review, result.model, review, backend.root / "out")
    return FileRun(
        stats=result.stats,
        bad_count=records.bad_count,
        bad=[BadLine(line, reason) for line, reason in records.bad_sample],
    )
