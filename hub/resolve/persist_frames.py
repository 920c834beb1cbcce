"""Writing a resolution that stayed in Spark back to the store, a batch at a time.

The same writes as `hub.resolve.persist` makes for a full run — golden records created or
changed, ids merged away retired, merges, splits and retirements audited, crosswalk rows
that changed, the review queue — from a `NativeResolution`'s frames: Spark sorts each
frame and writes it as Parquet parts under a scratch folder, and the driver streams the
parts into the caller's transaction. What differs from the previous crosswalk is found by
a join in Spark; golden records are compared with the stored ones a batch of ids at a
time. The driver holds a batch, the review queue's known pairs (as `persist` does) and
nothing per record.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from sqlalchemy.engine import Connection

from hub.core.clock import now
from hub.resolve.batch import ordered_parts
from hub.resolve.persist import (
    existing_golden,
    golden_row,
    provenance_json,
    stored_values,
    write_candidates,
    write_events,
    write_golden,
)
from hub.store.tables import crosswalk
from hub.store.upsert import upsert
from identity.backends.spark import NativeResolution
from identity.backends.spark.ids import events_in_order
from identity.ids import IdEvent
from identity.resolve import Key
from identity.score import Model
from identity.survivorship import GoldenRecord

__all__ = ["BATCH", "persist_frames", "store_line"]

BATCH = 2_000  # rows written (and golden records compared) at a time
_KEYS = ["source", "source_id"]


def store_line(golden_id: str, golden: GoldenRecord) -> bytes:
    """A golden record as the store holds it (its values and per-field provenance), as
    one JSON document: rendered on the executors, read back by the driver."""
    return orjson.dumps({"record": stored_values(golden), "provenance": provenance_json(golden)})


def persist_frames(
    conn: Connection,
    result: NativeResolution,
    previous: DataFrame | None,
    current: Mapping[Key, str],
    actor: str,
    scratch: Path,
) -> int:
    """Write `result` (its golden records rendered by `store_line`) over the store's
    `previous` crosswalk (source, source_id, golden_id; None: none) in `conn`'s
    transaction; `current` holds the `identifying_hash` of the records that the stewards'
    decided pairs name. Returns how many golden records were created or changed."""
    if result.golden is None:
        raise ValueError("persist_frames needs the run's golden records (build_golden)")
    stamp = now()
    changed = 0
    for batch in _batches(result.golden, ["golden_id"], scratch / "golden", ["golden_id", "line"]):
        ids = batch["golden_id"]
        docs = [orjson.loads(line) for line in batch["line"]]
        rows = [
            golden_row(gid, doc["record"], doc["provenance"], stamp)
            for gid, doc in zip(ids, docs, strict=True)
        ]
        changed += write_golden(conn, rows, existing_golden(conn, ids), stamp)
    write_events(conn, _events(result.events, scratch / "events"), actor, stamp)
    _write_crosswalk(conn, result.crosswalk, previous, scratch, stamp)
    write_candidates(conn, _review(result.review, result.model, scratch), current, None, stamp)
    return changed


def _batches(
    frame: DataFrame, order: Sequence[str], folder: Path, columns: Sequence[str]
) -> Iterator[dict[str, list[Any]]]:
    """`frame`'s `columns` sorted by `order`, `BATCH` rows at a time, as Python lists."""
    for part in ordered_parts(frame.select(*columns), list(order), folder):
        for batch in pq.ParquetFile(part).iter_batches(batch_size=BATCH, columns=list(columns)):
            yield {name: batch.column(name).to_pylist() for name in columns}


def _events(events: DataFrame, folder: Path) -> Iterator[IdEvent]:
    """The merges, splits and retirements, in `assign_ids`' order."""
    wanted = events.where(F.col("kind").isin("merge", "split", "retired"))
    folder.mkdir(parents=True, exist_ok=True)
    events_in_order(wanted).write.mode("overwrite").parquet(str(folder))
    for part in sorted(folder.glob("part-*.parquet")):
        for batch in pq.ParquetFile(part).iter_batches(batch_size=BATCH):
            for row in batch.to_pylist():
                yield IdEvent(
                    kind=row["kind"],
                    golden_id=row["golden_id"],
                    related=tuple(row["related"] or ()),
                    members=tuple((m["source"], m["source_id"]) for m in row["members"] or ()),
                )


def _write_crosswalk(
    conn: Connection, frame: DataFrame, previous: DataFrame | None, scratch: Path, stamp: Any
) -> None:
    """Upsert the crosswalk rows whose golden id changed (or that are new); delete the
    rows of records deleted since the previous run."""
    new = frame.select(*_KEYS, "golden_id")
    changed = new
    if previous is not None:
        before = previous.select(*_KEYS, F.col("golden_id").alias("_before"))
        changed = (
            new.join(before, _KEYS, "left")
            .where(F.col("_before").isNull() | (F.col("_before") != F.col("golden_id")))
            .select(*_KEYS, "golden_id")
        )
    columns = [*_KEYS, "golden_id"]
    for batch in _batches(changed, _KEYS, scratch / "crosswalk", columns):
        rows = [
            {
                "source": source,
                "source_id": source_id,
                "golden_id": gid,
                "assigned_by": "engine",
                "assigned_at": stamp,
            }
            for source, source_id, gid in zip(*(batch[c] for c in columns), strict=True)
        ]
        upsert(conn, crosswalk, rows, key=("source", "source_id"))
    if previous is None:
        return
    x = crosswalk.c
    gone = previous.select(*_KEYS).join(new.select(*_KEYS), _KEYS, "left_anti")
    for batch in _batches(gone, _KEYS, scratch / "gone", _KEYS):
        for source, source_id in zip(batch["source"], batch["source_id"], strict=True):
            conn.execute(crosswalk.delete().where(x.source == source, x.source_id == source_id))


def _review(review: DataFrame, model: Model, scratch: Path) -> Iterator[dict[str, Any]]:
    """The review pairs as `Resolution.review_pairs` gives them, by their keys."""
    width = len(model.comparisons)
    levels = [f"lv{k}" for k in range(width)]
    weights = [f"w{k}" for k in range(width)]
    keys = ["left_source", "left_source_id", "right_source", "right_source_id"]
    columns = [*keys, "probability", *levels, *weights]
    for batch in _batches(review, keys, scratch / "review", columns):
        for i in range(len(batch["probability"])):
            reached = [
                (c, int(batch[lv][i]), batch[w][i])
                for c, lv, w in zip(model.comparisons, levels, weights, strict=True)
            ]
            yield {
                "left": (batch["left_source"][i], batch["left_source_id"][i]),
                "right": (batch["right_source"][i], batch["right_source_id"][i]),
                "probability": float(batch["probability"][i]),
                "weights": {c.name: round(float(w), 2) for c, lv, w in reached if lv >= 0},
                "levels": {c.name: c.levels[lv] for c, lv, _ in reached if lv >= 0},
            }
