"""The batch contract: `crmhub resolve --input FILE.jsonl[.gz] --crosswalk OUT.csv`.

Reads CustomerRecord JSON Lines (a missing key is null, extra keys are kept), resolves them
with unsupervised settings, and writes `source,source_id,golden_id` — one row per input
record — plus, optionally, the golden records as JSON Lines and the pairs a steward should
look at (`--review`: CSV, one row per uncertain pair with its match probability and the
level each comparison reached). No hub.yaml, no store.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from hub.core.errors import HubError
from hub.core.files import BadLine, open_bytes
from hub.resolve.run import provenance_json
from hub.store.database import json_default
from identity.model import ModelSpec, Settings
from identity.resolve import Key, Resolution, run
from identity.score import Model
from identity.survivorship import GoldenRecord

__all__ = [
    "ENGINES",
    "BadLine",
    "golden_line",
    "ordered_parts",
    "read_records",
    "resolve_records",
    "spark_engine",
    "write_crosswalk",
    "write_crosswalk_frame",
    "write_golden",
    "write_golden_frame",
    "write_review",
    "write_review_frame",
]


@dataclass
class ReadResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, JSON text) of each non-blank line; of a Parquet file, (row number,
    the row as JSON: dates and times ISO text, decimals exact text, as Spark reads it)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        number = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=65_536):
            for row in batch.to_pylist():
                number += 1
                yield number, orjson.dumps(row, default=str)
        return
    with open_bytes(path) as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line


def read_records(path: Path) -> ReadResult:
    """CustomerRecord dicts from JSON Lines (or a Parquet export: one record a row);
    unusable lines are reported, never silently lost."""
    result = ReadResult()
    seen: set[tuple[str, str]] = set()
    for number, line in _lines(path):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            result.bad.append(BadLine(number, f"not valid JSON ({exc})"))
            continue
        if not isinstance(record, dict):
            result.bad.append(BadLine(number, "not a JSON object"))
            continue
        source, source_id = record.get("source"), record.get("source_id")
        if source in (None, "") or source_id in (None, ""):
            result.bad.append(BadLine(number, "missing source or source_id"))
            continue
        key = (str(source), str(source_id))
        if key in seen:
            result.bad.append(BadLine(number, f"duplicate record {key[0]}/{key[1]}"))
            continue
        seen.add(key)
        record["source"], record["source_id"] = key
        result.records.append(_compact(record))
    return result


_SHARED = ("source", "kind", "country", "city", "postal_code")


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    """The record without null keys (a missing key is null) and with its few-valued strings
    interned: a third less memory for a million records, the same values."""
    compact = {k: v for k, v in record.items() if v is not None}
    for name in _SHARED:
        value = compact.get(name)
        if type(value) is str:
            compact[name] = sys.intern(value)
    return compact


ENGINES = ("local", "spark")  # in process (NumPy/pandas) or on Apache Spark


def resolve_records(
    records: Sequence[dict[str, Any]],
    *,
    engine: str = "local",
    spark_master: str | None = None,
    run_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    build_golden: bool = True,
) -> Resolution:
    """The batch run (unsupervised default settings) on `engine`: `local`, or `spark` on
    `spark_master` (default `local[2]`) with stage checkpoints under `run_dir` if given."""
    spec = ModelSpec.from_settings(Settings())
    if engine not in ENGINES:
        raise HubError(f"--engine {engine}: unknown engine — use one of {', '.join(ENGINES)}")
    if engine == "local":
        if spark_master is not None or run_dir is not None:
            raise HubError("--spark-master and --run-dir are options of --engine spark")
        return run(records, spec, progress=progress, build_golden=build_golden)
    backend = spark_engine().SparkBackend(master=spark_master or "local[2]", run_dir=run_dir)
    return run(records, spec, backend=backend, progress=progress, build_golden=build_golden)


def spark_engine() -> ModuleType:
    """`identity.backends.spark`, or an error saying how to install it."""
    try:
        import identity.backends.spark as engine
    except ImportError as exc:  # the extra is not installed
        raise HubError(
            f"--engine spark needs pyspark ({exc}) — pip install 'crm-hub[spark]' "
            "and a Java 17 runtime"
        ) from exc
    return engine


def write_crosswalk(resolution: Resolution, path: Path) -> None:
    """CSV `source,source_id,golden_id`, one row per input record, in input order."""
    crosswalk = resolution.crosswalk
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["source", "source_id", "golden_id"])
        for key in resolution.keys:
            out.writerow([key[0], key[1], crosswalk[key]])


def write_golden(resolution: Resolution, path: Path) -> None:
    """One JSON object per golden record: its values, per-field provenance and members."""
    with path.open("wb") as fh:
        for gid in sorted(resolution.golden):
            golden = resolution.golden[gid]
            doc = {
                "golden_id": gid,
                **golden.values,
                "provenance": provenance_json(golden),
                "members": [list(m) for m in golden.members],
            }
            fh.write(orjson.dumps(doc, default=json_default) + b"\n")


def ordered_parts(frame: Any, order: str | Sequence[str], directory: Path) -> list[Path]:
    """`frame` sorted by `order` and written by Spark as Parquet under `directory`: its
    part files, in the order of their partitions (a sort's range partitions)."""
    columns = [order] if isinstance(order, str) else list(order)
    frame.orderBy(*columns).write.mode("overwrite").parquet(str(directory))
    return sorted(directory.glob("part-*.parquet"))


_PAIR = ("left_source", "left_source_id", "right_source", "right_source_id")


def review_header(model: Model) -> list[str]:
    """The review file's columns: the pair's keys, its probability, then one column per
    comparison with the level it reached (empty where a side has no value)."""
    return [*_PAIR, "probability", *(c.name for c in model.comparisons)]


def _review_row(
    left: Key, right: Key, probability: float, levels: Sequence[int], model: Model
) -> list[str]:
    """One review row, the lower key on the left (the same row whichever side scored it)."""
    a, b = sorted([left, right])
    labels = [
        c.levels[int(lv)] if lv >= 0 else ""
        for c, lv in zip(model.comparisons, levels, strict=True)
    ]
    return [a[0], a[1], b[0], b[1], f"{probability:.4f}", *labels]


def write_review(resolution: Resolution, path: Path) -> None:
    """CSV of the pairs left for review (`review_header`), sorted by their keys."""
    scored, keys = resolution.scored, resolution.keys
    rows = [
        _review_row(
            keys[int(scored.left[i])],
            keys[int(scored.right[i])],
            float(scored.probability[i]),
            [int(lv) for lv in scored.levels[i]],
            resolution.model,
        )
        for i in resolution.clustering.review
    ]
    rows.sort(key=lambda row: row[:4])
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(review_header(resolution.model))
        out.writerows(rows)


def write_review_frame(review: Any, model: Model, path: Path, scratch: Path) -> None:
    """The native Spark run's review pairs (left_source, left_source_id, right_source,
    right_source_id, lv0…, probability) as `write_review` writes them, byte for byte: Spark
    puts the lower key on the left, sorts and writes the parts, the driver streams them."""
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    levels = [f"lv{k}" for k in range(len(model.comparisons))]
    swap = F.struct("left_source", "left_source_id") > F.struct("right_source", "right_source_id")
    sides = {
        name: F.when(swap, F.col(other)).otherwise(F.col(name))
        for name, other in zip(_PAIR, (*_PAIR[2:], *_PAIR[:2]), strict=True)
    }
    frame = review.select(*(sides[n].alias(n) for n in _PAIR), "probability", *levels)
    parts = ordered_parts(frame, _PAIR, scratch / "review.parquet")
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(review_header(model))
        for part in parts:
            for batch in pq.ParquetFile(part).iter_batches(batch_size=65_536):
                row = batch.to_pydict()
                for i in range(batch.num_rows):
                    out.writerow(
                        _review_row(
                            (row["left_source"][i], row["left_source_id"][i]),
                            (row["right_source"][i], row["right_source_id"][i]),
                            float(row["probability"][i]),
                            [int(row[lv][i]) for lv in levels],
                            model,
                        )
                    )


def write_crosswalk_frame(crosswalk: Any, path: Path, scratch: Path) -> None:
    """The native Spark run's crosswalk (rid, source, source_id, golden_id) as
    `write_crosswalk` writes it — CSV, input order, byte for byte: Spark sorts and writes
    the parts, the driver streams them into one file a batch at a time."""
    import pyarrow.parquet as pq

    parts = ordered_parts(crosswalk, "rid", scratch / "crosswalk.parquet")
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["source", "source_id", "golden_id"])
        for part in parts:
            for batch in pq.ParquetFile(part).iter_batches(
                batch_size=65_536, columns=["source", "source_id", "golden_id"]
            ):
                out.writerows(zip(*(c.to_pylist() for c in batch.columns), strict=True))


def golden_line(golden_id: str, golden: GoldenRecord) -> bytes:
    """One golden record as `write_golden` writes it (the line, without its newline)."""
    doc = {
        "golden_id": golden_id,
        **golden.values,
        "provenance": provenance_json(golden),
        "members": [list(m) for m in golden.members],
    }
    return orjson.dumps(doc, default=json_default)


def write_golden_frame(golden: Any, path: Path, scratch: Path) -> None:
    """The native Spark run's golden lines (golden_id, line, rendered by `golden_line`)
    as `write_golden` writes them: by golden id, streamed from Spark's sorted parts."""
    import pyarrow.parquet as pq

    parts = ordered_parts(golden, "golden_id", scratch / "golden.parquet")
    with path.open("wb") as fh:
        for part in parts:
            for batch in pq.ParquetFile(part).iter_batches(batch_size=8_192, columns=["line"]):
                for line in batch.column(0).to_pylist():
                    fh.write(line + b"\n")
