"""Which batch runs stay wholly on Spark: the input's size against --driver-records."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub.resolve.spark_file import more_lines_than

CASES = [  # (lines, blank lines among them, limit, more than the limit?)
    (3, 0, 2, True),
    (3, 0, 3, False),
    (3, 2, 3, False),  # blank lines are not records
    (0, 0, 0, False),
    (1, 0, 0, True),
]


@pytest.mark.parametrize(("lines", "blank", "limit", "more"), CASES)
def test_json_lines_are_counted_up_to_the_limit(
    tmp_path: Path, lines: int, blank: int, limit: int, more: bool
) -> None:
    path = tmp_path / "in.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b'{"source": "a", "source_id": "1"}\n' * lines + b"  \n" * blank)
    assert more_lines_than(path, limit) is more


@pytest.mark.parametrize(("rows", "limit", "more"), [(3, 2, True), (3, 3, False)])
def test_parquet_rows_come_from_the_footer(
    tmp_path: Path, rows: int, limit: int, more: bool
) -> None:
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"source": ["a"] * rows, "source_id": list("123")[:rows]}), path)
    assert more_lines_than(path, limit) is more
