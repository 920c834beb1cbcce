"""The batch contract: `crmhub analyse --interactions FILE.jsonl[.gz] --as-of YYYY-MM-DD
--out DIR [--horizon-days 90] [--customers FILE.jsonl[.gz]]`.

Reads canonical `Interaction` JSON Lines whose extra key `customer_id` names the customer
(a golden id); lines that are not JSON objects are reported with their number and reason
and left out, as the engine leaves out unusable values. Writes `DIR/customers.csv` (one
row per customer, the contract's columns) and `DIR/segments.csv`.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
import pandas as pd

from analytics import CUSTOMER_COLUMNS, Analysis
from analytics.frame import COLUMNS

__all__ = ["BadLine", "read_customers", "read_interactions", "write_results"]

SEGMENT_COLUMNS = (
    "segmentation", "segment", "customers", "customers_share", "revenue_share", "profit_share",
)  # fmt: skip


@dataclass
class BadLine:
    """An input line that could not be used, with where and why."""

    line: int
    reason: str


@dataclass
class ReadResult:
    frame: pd.DataFrame
    bad: list[BadLine] = field(default_factory=list)


def _open(path: Path) -> IO[bytes]:
    """The file's bytes, gunzipped when it is gzip (by content, not by name)."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        return io.BufferedReader(gzip.GzipFile(path, "rb"))
    return path.open("rb")


def _objects(path: Path, bad: list[BadLine]) -> Iterator[dict[str, Any]]:
    with _open(path) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                bad.append(BadLine(number, f"not valid JSON ({exc})"))
                continue
            if not isinstance(obj, dict):
                bad.append(BadLine(number, "not a JSON object"))
                continue
            yield obj


def read_interactions(path: Path) -> ReadResult:
    """The interactions as columns (values as given; the engine validates them)."""
    bad: list[BadLine] = []
    columns: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    for obj in _objects(path, bad):
        for name, values in columns.items():
            value = obj.get(name)
            values.append(None if isinstance(value, dict | list) else value)
    frame = pd.DataFrame(columns, dtype=object)
    return ReadResult(frame=frame, bad=bad)


def read_customers(path: Path) -> ReadResult:
    """Known customers (`customer_id` plus attributes such as `segment`, `birth_date`)."""
    bad: list[BadLine] = []
    rows = [o for o in _objects(path, bad) if o.get("customer_id") not in (None, "")]
    frame = pd.DataFrame(rows) if rows else pd.DataFrame({"customer_id": []})
    keep = ["customer_id", *(c for c in ("segment", "birth_date") if c in frame)]
    return ReadResult(frame=frame[keep].astype(object), bad=bad)


def write_results(analysis: Analysis, out: Path) -> tuple[Path, Path]:
    """Write `customers.csv` and `segments.csv` into `out` (created if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    customers = analysis.customers[list(CUSTOMER_COLUMNS)].copy()
    customers["recency_days"] = customers["recency_days"].round(2)
    for col in ("monetary", "clv_12m"):
        customers[col] = customers[col].round(2)
    for col in ("p_alive", "churn_risk"):
        customers[col] = customers[col].round(4)
    customers = customers.sort_values("customer_id", kind="stable")
    customers_path, segments_path = out / "customers.csv", out / "segments.csv"
    customers.to_csv(customers_path, index=False, quoting=csv.QUOTE_MINIMAL)
    segments = analysis.segments[list(SEGMENT_COLUMNS)].copy()
    for col in ("customers_share", "revenue_share", "profit_share"):
        segments[col] = segments[col].round(4)
    segments.to_csv(segments_path, index=False)
    return customers_path, segments_path
