"""The batch contract's records read by Spark: the driver never builds the list of dicts.

`SparkRecords.read(spark, path)` reads a JSON Lines file (plain or .gz, one CustomerRecord
object a line, as `hub.resolve.batch.read_records` reads it) or a Parquet file with Spark.
Each line is parsed on the workers (orjson, as the batch reader does) into the layout
`standardise.records_table` gives a list of records — `rid`, then each CustomerRecord field
— with every field as JSON text (`json:<field>`), so a value comes back exactly as the
batch reader would have held it. Lines that are not a JSON object, lack a source or
source_id, or repeat an earlier record's (source, source_id) are left out, as the batch
reader leaves them out; `rid` numbers the records kept, in file order.

Lines and records are numbered in the JVM (`numbered`: a count per partition, then each
row's place in its partition), never through a Python RDD. Repeated keys are found on the
keys alone and leave by a broadcast anti-join, so the parsed lines are neither shuffled nor
sorted (`_first_of_each_key`). A gzip file cannot be split, so
with a `scratch` directory it is first decompressed there (streamed) and every core parses
its share of the lines; the plain copy is removed once the records are parsed.

What the driver holds is the records' number (and their keys, two Arrow string columns,
once something asks for them: `identity.resolve.run` does). `SparkRecords` is a
`Sequence` of records for `identity.resolve.run`: iterating it (or indexing it in order, as
survivorship does) reads the records back from Spark a block at a time; `SparkBackend`
standardises its Spark table directly.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import orjson
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from identity.backends.spark.standardise import _JSON, FIELDS, ROW, _records

__all__ = ["SparkRecords"]

_LINE = "line"
_TABLE = "records.parquet"  # the parsed records, under `scratch`
_PLAIN = "records.jsonl"  # a gzip input decompressed, under `scratch` while it is read
_REASON = "_reason"  # why a line is left out (null: kept, or blank)
_BLOCK = 100_000  # records read back from Spark at a time
_BROADCAST_LINES = 2_000_000  # repeated lines dropped by a broadcast anti-join (see below)


class SparkRecords(Sequence[Mapping[str, Any]]):
    """Records in Spark (`frame`: rid, json:<field>…; `key_frame`: rid, source,
    source_id), their number on the driver and, when first asked for, their keys."""

    def __init__(
        self,
        frame: DataFrame,
        key_frame: DataFrame,
        size: int,
        fingerprint: str,
        *,
        bad_count: int = 0,
        bad_sample: list[tuple[int, str]] | None = None,
    ) -> None:
        self.frame = frame
        self.key_frame = key_frame
        self.size = size
        self.fingerprint = fingerprint  # of the file's bytes: what checkpoints are of
        # the lines left out (blank lines aside): how many, and the first ten as
        # (line number, reason) in the batch reader's words
        self.bad_count = bad_count
        self.bad_sample = bad_sample or []
        self._keys: pa.Table | None = None
        self._block: tuple[int, list[dict[str, Any]]] | None = None

    @property
    def keys(self) -> pa.Table:
        """(source, source_id) per rid, collected to the driver on first use (two Arrow
        columns: ~40 bytes a record; the Spark-native run never asks for them)."""
        if self._keys is None:
            keys = self.key_frame.toArrow().sort_by(ROW)
            self._keys = keys.select(["source", "source_id"])
        return self._keys

    @classmethod
    def read(cls, spark: SparkSession, path: Path, *, scratch: Path | None = None) -> SparkRecords:
        """The records of `path` (JSON Lines, optionally gzipped, or Parquet), parsed by
        Spark; with `scratch`, the parsed table is written there as Parquet (and read
        back from it), else it is persisted in Spark."""
        if scratch is not None and (scratch / _TABLE).resolve() == path.resolve():
            raise ValueError(
                f"{path}: the input is where the parsed records are kept — move it out of "
                f"{scratch} or give another run directory"
            )
        plain: Path | None = None
        if path.suffix == ".parquet":
            raw = _from_parquet(spark.read.parquet(str(path)))
        else:
            if scratch is not None and path.suffix == ".gz":
                # a gzip file is one Spark partition: one core would parse every line
                plain = _gunzipped(path, scratch / _PLAIN)
            lines = spark.read.text(str(plain or path))
            raw = _parsed(numbered(lines, _LINE).select(_LINE, "value"))
        raw = raw.persist(StorageLevel.DISK_ONLY)  # parsed once: kept, counted, reported
        kept, repeats = _first_of_each_key(raw)
        bad = (
            raw.where(F.col(_REASON).isNotNull())
            .select((F.col(_LINE) + 1).alias("line"), F.col(_REASON).alias("reason"))
            .unionByName(
                repeats.select(
                    (F.col(_LINE) + 1).alias("line"),
                    F.concat(F.lit("duplicate record "), "source", F.lit("/"), "source_id").alias(
                        "reason"
                    ),
                )
            )
        )
        bad_count = int(bad.count())
        bad_sample = [(int(r.line), str(r.reason)) for r in bad.orderBy("line").limit(10).collect()]
        ordered = kept.drop(_REASON)
        table = numbered(ordered, ROW).drop(_LINE)
        table = table.select(ROW, *(c for c in table.columns if c != ROW))
        if scratch is not None:
            target = scratch / _TABLE
            table.write.mode("overwrite").parquet(str(target))
            table = spark.read.parquet(str(target))
            kept.unpersist()  # the fallback path's sorted copy (else a no-op)
            repeats.unpersist()
            raw.unpersist()
            if plain is not None:
                plain.unlink(missing_ok=True)
        else:
            table = table.persist()
        key_frame = table.select(ROW, "source", "source_id")
        return cls(
            table.select(ROW, *(_JSON + f for f in FIELDS)),
            key_frame,
            int(key_frame.count()),
            _file_digest(path),
            bad_count=bad_count,
            bad_sample=bad_sample,
        )

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> Mapping[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Mapping[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> Mapping[str, Any] | Sequence[Mapping[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        start = index - index % _BLOCK
        if self._block is None or self._block[0] != start:
            self._block = (start, self._read(start, min(start + _BLOCK, len(self))))
        return self._block[1][index - start]

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for start in range(0, len(self), _BLOCK):
            yield from self._read(start, min(start + _BLOCK, len(self)))

    def _read(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Records start..stop-1 as the batch reader holds them (no null keys)."""
        part = self.frame.where((F.col(ROW) >= start) & (F.col(ROW) < stop)).toArrow()
        part = part.sort_by(ROW)
        return [{k: v for k, v in r.items() if v is not None} for r in _records(part)]


def numbered(frame: DataFrame, column: str) -> DataFrame:
    """`frame` with `column` numbering its rows 0, 1, … in the frame's order (partition by
    partition), all in the JVM: a count per partition gives each its first number.

    The frame must give the same partitions each time it is computed (a file scan, or a
    persisted frame), as `monotonically_increasing_id` assumes."""
    part, at = "_numbered_part", "_numbered_at"
    marked = frame.withColumn(part, F.spark_partition_id()).withColumn(
        at, F.monotonically_increasing_id()
    )
    counts = sorted(
        (int(row[part]), int(row["count"])) for row in marked.groupBy(part).count().collect()
    )
    firsts: list[tuple[int, int]] = []
    total = 0
    for index, count in counts:
        firsts.append((index, total))
        total += count
    starts = frame.sparkSession.createDataFrame(firsts or [(0, 0)], f"{part} int, _first long")
    # monotonically_increasing_id puts the partition in the upper 31 bits, the row below
    within = F.col(at) - F.shiftleft(F.col(part).cast("long"), 33)
    return (
        marked.join(F.broadcast(starts), part)
        .withColumn(column, F.col("_first") + within)
        .drop(part, at, "_first")
    )


def _first_of_each_key(raw: DataFrame) -> tuple[DataFrame, DataFrame]:
    """The parsed lines kept (the first line of each (source, source_id), in line order)
    and the repeats (every later line of a key: line, source, source_id; persisted).

    Repeats are found on the keys alone (a narrow aggregate), and as a rule are few: they
    leave the kept lines by a broadcast anti-join, which keeps each partition's rows where
    they are — the lines stay in file order and need no sort. Past `_BROADCAST_LINES`
    repeats the anti-join shuffles, and a sort restores the order."""
    keyed = raw.where(F.col("source").isNotNull() & F.col("source_id").isNotNull())
    lines = keyed.select("source", "source_id", _LINE)
    firsts = (
        lines.groupBy("source", "source_id")
        .agg(F.min(_LINE).alias("_first"), F.count(F.lit(1)).alias("_n"))
        .where(F.col("_n") > 1)
        .drop("_n")
    )
    repeats = (
        lines.join(firsts, ["source", "source_id"])
        .where(F.col(_LINE) > F.col("_first"))
        .select(_LINE, "source", "source_id")
        .persist(StorageLevel.DISK_ONLY)
    )
    dropped = repeats.select(_LINE)
    if int(repeats.count()) <= _BROADCAST_LINES:
        return keyed.join(F.broadcast(dropped), _LINE, "left_anti"), repeats
    ordered = keyed.join(dropped, _LINE, "left_anti").orderBy(_LINE)
    return ordered.persist(StorageLevel.DISK_ONLY), repeats


def _gunzipped(path: Path, target: Path) -> Path:
    """`path` decompressed to `target` (streamed: the driver holds one chunk), so Spark
    splits it across its cores."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "rb") as source, target.open("wb") as out:
        shutil.copyfileobj(source, out, length=1 << 24)
    return target


def _parsed(lines: DataFrame) -> DataFrame:
    """(line, source, source_id, json:<field>…) of each line that is a JSON object; source
    and source_id null where the line is unusable (dropped by the caller)."""
    names = [_JSON + f for f in FIELDS]
    schema = pa.schema(
        [(_LINE, pa.int64()), ("source", pa.string()), ("source_id", pa.string())]
        + [(n, pa.string()) for n in names]
        + [(_REASON, pa.string())]
    )

    def parse(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            out: dict[str, list[Any]] = {name: [] for name in schema.names}
            for number, text in zip(
                batch.column(_LINE).to_pylist(), batch.column("value").to_pylist(), strict=True
            ):
                record, reason = _record(text)
                out[_LINE].append(number)
                source, source_id = _key(record)
                if reason is None and record is not None and source is None:
                    reason = "missing source or source_id"
                out[_REASON].append(reason)
                out["source"].append(source)
                out["source_id"].append(source_id)
                for field, name in zip(FIELDS, names, strict=True):
                    value = None if record is None else record.get(field)
                    if field in ("source", "source_id") and source is not None:
                        value = source if field == "source" else source_id
                    out[name].append(
                        None if value is None else orjson.dumps(value, default=str).decode()
                    )
            yield pa.RecordBatch.from_pydict(out, schema=schema)

    ddl = ", ".join(f"`{f.name}` {'long' if f.name == _LINE else 'string'}" for f in schema)
    return lines.mapInArrow(parse, ddl)


def _from_parquet(frame: DataFrame) -> DataFrame:
    """A Parquet export's records in the parsed layout: each field as JSON text."""
    numbered = frame.rdd.zipWithIndex().map(lambda pair: (pair[1], orjson_row(pair[0])))
    lines = frame.sparkSession.createDataFrame(numbered, f"{_LINE} long, value string")
    return _parsed(lines)


def orjson_row(row: Any) -> str:
    """A Spark row as a JSON object (what a JSON Lines line of it would be)."""
    return orjson.dumps(row.asDict(recursive=True), default=str).decode()


def _record(text: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The line's record, or why it has none (None for a blank line: skipped, as the
    batch reader skips it)."""
    if text is None or not text.strip():
        return None, None
    try:
        record = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc})"
    if not isinstance(record, dict):
        return None, "not a JSON object"
    return record, None


def _key(record: dict[str, Any] | None) -> tuple[str | None, str | None]:
    if record is None:
        return None, None
    source, source_id = record.get("source"), record.get("source_id")
    if source in (None, "") or source_id in (None, ""):
        return None, None
    return str(source), str(source_id)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()
