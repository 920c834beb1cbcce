"""The batch contract: `crmhub analyse --interactions FILE.jsonl[.gz] --as-of YYYY-MM-DD
--out DIR [--horizon-days 90] [--customers FILE.jsonl[.gz]]`.

Reads canonical `Interaction` JSON Lines whose extra key `customer_id` names the customer
(a golden id); lines that are not JSON objects are reported with their number and reason
and left out, as the engine leaves out unusable values. Writes `DIR/customers.csv` (one
row per customer, the contract's columns) and `DIR/segments.csv`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from analytics import CUSTOMER_COLUMNS, Analysis
from analytics.frame import COLUMNS
from hub.core.files import BadLine, open_bytes

__all__ = ["BadLine", "read_customers", "read_interactions", "write_results"]

BLOCK_BYTES = 64 << 20
NUMBERS = frozenset({"amount", "margin", "days_late"})
DATES = frozenset({"occurred_at", "renewal_at"})
SEGMENT_COLUMNS = (
    "segmentation", "segment", "customers", "customers_share", "revenue_share", "profit_share",
)  # fmt: skip


@dataclass
class ReadResult:
    frame: pd.DataFrame
    bad: list[BadLine] = field(default_factory=list)


def _objects(path: Path, bad: list[BadLine]) -> Iterator[dict[str, Any]]:
    with open_bytes(path) as fh:
        yield from _parse(fh, 1, bad)


def _parse(lines: Iterable[bytes], first: int, bad: list[BadLine]) -> Iterator[dict[str, Any]]:
    """JSON objects from `lines` (numbered from `first`); the others go to `bad`."""
    for number, line in enumerate(lines, start=first):
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


def _slow_block(block: bytes, first: int, bad: list[BadLine]) -> pd.DataFrame:
    """A block line by line with orjson: every line's problem reported with its number."""
    columns: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    for obj in _parse(block.split(b"\n"), first, bad):
        for name, values in columns.items():
            value = obj.get(name)
            values.append(None if isinstance(value, dict | list) else value)
    return pd.DataFrame(columns, dtype=object)


def _blocks(path: Path) -> Iterator[tuple[bytes, int, int]]:
    """The file in blocks of whole lines, each with the number of its first line and its
    number of lines."""
    first = 1
    with open_bytes(path) as fh:
        rest = b""
        while chunk := fh.read(BLOCK_BYTES):
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            if not cut:
                rest = chunk
                continue
            block, rest = chunk[:cut], chunk[cut:]
            lines = block.count(b"\n")
            yield block, first, lines
            first += lines
        if rest:
            yield rest + b"\n", first, 1


def _fast_block(block: bytes, lines: int) -> Any | None:
    """A block through pyarrow's JSON reader as an Arrow table, or None when any line
    needs a closer look (not JSON, not an object, a value of another type than usual)."""
    import pyarrow as pa
    import pyarrow.json as pj

    schema = pa.schema([(c, pa.float64() if c in NUMBERS else pa.string()) for c in COLUMNS])
    try:
        table = pj.read_json(
            pa.BufferReader(block),
            read_options=pj.ReadOptions(block_size=4 << 20, use_threads=True),
            parse_options=pj.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != lines:
        return None  # blank lines or a line that is not an object: count them properly
    return table


def _to_pandas(tables: list[Any]) -> pd.DataFrame:
    """One frame from the blocks' tables. Text columns other than dates arrive as
    categoricals (Arrow dictionary-encodes them): ten million rows hold a few thousand
    distinct statuses, channels or categories, and a million customer ids, so the frame
    keeps one small code per row instead of one string per row."""
    import pyarrow as pa

    table = pa.concat_tables(tables)
    tables.clear()
    for name in table.column_names:
        if name not in NUMBERS and name not in DATES:
            where = table.column_names.index(name)
            table = table.set_column(where, name, table.column(name).dictionary_encode())
    return table.to_pandas(
        types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get, self_destruct=True
    )


def read_interactions(path: Path) -> ReadResult:
    """The interactions as columns (values as given; the engine validates them).

    The file is read in blocks of about 64 MB; with pyarrow installed each block goes
    through its JSON reader (typed columns, many times faster than line by line) and only
    a block with a bad line is read again line by line with orjson, so that every bad line
    is still reported with its number and reason."""
    bad: list[BadLine] = []
    try:
        import pyarrow  # noqa: F401

        fast = True
    except ImportError:  # pragma: no cover - pyarrow comes with pandas' usual extras
        fast = False
    tables: list[Any] = []
    frames: list[pd.DataFrame] = []  # blocks read line by line
    for block, first, lines in _blocks(path):
        table = _fast_block(block, lines) if fast else None
        if table is None:
            frames.append(_slow_block(block, first, bad))
        else:
            tables.append(table)
    if not frames:
        frame = _to_pandas(tables) if tables else _slow_block(b"", 1, bad)
        return ReadResult(frame=frame, bad=bad)
    # Some blocks had bad lines: all as plain objects (the engine does not depend on the
    # order of the rows, so the typed blocks simply follow).
    if tables:
        frames.append(_to_pandas(tables).astype(object))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
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
