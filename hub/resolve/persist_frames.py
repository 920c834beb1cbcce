"""Writing a resolution that stayed in Spark back to the store, a batch at a time.

The same writes as `hub.resolve.persist` makes for a full run — golden records created or
changed, ids merged away retired, merges, splits and retirements audited, crosswalk rows
that changed, the review queue — from a `NativeResolution`'s frames: Spark sorts each
frame and writes it as Parquet parts under a scratch folder (`prepare`, before the
store's transaction opens), and the driver streams the parts into that transaction
(`write_parts`). What differs from the previous crosswalk is found by
a join in Spark; golden records are compared with the stored ones a batch of ids at a
time. The driver holds a batch, the review queue's known pairs (as `persist` does) and
nothing per record.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
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

__all__ = ["BATCH", "Parts", "prepare", "store_line", "write_parts"]

BATCH = 2_000  # rows written (and golden records compared) at a time
_KEYS = ["source", "source_id"]
_PAIR = ("left_source", "left_source_id", "right_source", "right_source_id")


def store_line(golden_id: str, golden: GoldenRecord) -> bytes:
    """A golden record as the store holds it (its values and per-field provenance), as
    one JSON document: rendered on the executors, read back by the driver."""
    return orjson.dumps({"record": stored_values(golden), "provenance": provenance_json(golden)})


@dataclass(frozen=True)
class Parts:
    """A run's outcome as sorted Parquet parts under a scratch folder, ready to write."""

    golden: list[Path]
    events: list[Path]
    crosswalk: list[Path]
    gone: list[Path]
    review: list[Path]
    model: Model


def prepare(result: NativeResolution, previous: DataFrame | None, scratch: Path) -> Parts:
    """Let Spark sort and write everything `write_parts` writes (before the store's
    transaction opens, so that it is held only while rows are written): `result`'s golden
    records (rendered by `store_line`), its merges, splits and retirements, the crosswalk
    rows that differ from the store's `previous` crosswalk (source, source_id, golden_id;
    None: none), the rows of records gone since, and the review pairs."""
    if result.golden is None:
        raise ValueError("prepare needs the run's golden records (build_golden)")
    new = result.crosswalk.select(*_KEYS, "golden_id")
    changed, gone = new, None
    if previous is not None:
        before = previous.select(*_KEYS, F.col("golden_id").alias("_before"))
        changed = (
            new.join(before, _KEYS, "left")
            .where(F.col("_before").isNull() | (F.col("_before") != F.col("golden_id")))
            .select(*_KEYS, "golden_id")
        )
        gone = previous.select(*_KEYS).join(new.select(*_KEYS), _KEYS, "left_anti")
    events = result.events.where(F.col("kind").isin("merge", "split", "retired"))
    width = len(result.model.comparisons)
    review = result.review.select(
        *_PAIR, "probability", *(f"lv{k}" for k in range(width)), *(f"w{k}" for k in range(width))
    )
    return Parts(
        golden=ordered_parts(
            result.golden.select("golden_id", "line"), "golden_id", scratch / "golden"
        ),
        events=_parts(events_in_order(events), scratch / "events"),
        crosswalk=ordered_parts(changed, _KEYS, scratch / "crosswalk"),
        gone=[] if gone is None else ordered_parts(gone, _KEYS, scratch / "gone"),
        review=ordered_parts(review, list(_PAIR), scratch / "review"),
        model=result.model,
    )


def write_parts(conn: Connection, parts: Parts, current: Mapping[Key, str], actor: str) -> int:
    """Write the prepared outcome in `conn`'s transaction; `current` holds the
    `identifying_hash` of the records that the stewards' decided pairs name. Returns how
    many golden records were created or changed."""
    stamp = now()
    changed = 0
    for batch in _batches(parts.golden):
        ids = batch["golden_id"]
        docs = [orjson.loads(line) for line in batch["line"]]
        rows = [
            golden_row(gid, doc["record"], doc["provenance"], stamp)
            for gid, doc in zip(ids, docs, strict=True)
        ]
        changed += write_golden(conn, rows, existing_golden(conn, ids), stamp)
    write_events(conn, _events(parts.events), actor, stamp)
    for batch in _batches(parts.crosswalk):
        rows = [
            {
                "source": source,
                "source_id": source_id,
                "golden_id": gid,
                "assigned_by": "engine",
                "assigned_at": stamp,
            }
            for source, source_id, gid in zip(
                batch["source"], batch["source_id"], batch["golden_id"], strict=True
            )
        ]
        upsert(conn, crosswalk, rows, key=("source", "source_id"))
    x = crosswalk.c
    for batch in _batches(parts.gone):  # records deleted since: no longer mapped
        for source, source_id in zip(batch["source"], batch["source_id"], strict=True):
            conn.execute(crosswalk.delete().where(x.source == source, x.source_id == source_id))
    write_candidates(conn, _review(parts.review, parts.model), current, None, stamp)
    return changed


def _parts(frame: DataFrame, folder: Path) -> list[Path]:
    """An already ordered `frame` written as Parquet: its parts, in order."""
    frame.write.mode("overwrite").parquet(str(folder))
    return sorted(folder.glob("part-*.parquet"))


def _batches(parts: Sequence[Path]) -> Iterator[dict[str, list[Any]]]:
    """The parts' rows, `BATCH` at a time, as Python lists by column."""
    for part in parts:
        for batch in pq.ParquetFile(part).iter_batches(batch_size=BATCH):
            yield {name: batch.column(name).to_pylist() for name in batch.schema.names}


def _events(parts: Sequence[Path]) -> Iterator[IdEvent]:
    """The merges, splits and retirements, in `assign_ids`' order."""
    for batch in _batches(parts):
        for kind, gid, related, members in zip(
            batch["kind"], batch["golden_id"], batch["related"], batch["members"], strict=True
        ):
            yield IdEvent(
                kind=kind,
                golden_id=gid,
                related=tuple(related or ()),
                members=tuple((m["source"], m["source_id"]) for m in members or ()),
            )


def _review(parts: Sequence[Path], model: Model) -> Iterator[dict[str, Any]]:
    """The review pairs as `Resolution.review_pairs` gives them, by their keys."""
    for batch in _batches(parts):
        for i in range(len(batch["probability"])):
            reached = [
                (c, int(batch[f"lv{k}"][i]), batch[f"w{k}"][i])
                for k, c in enumerate(model.comparisons)
            ]
            yield {
                "left": (batch["left_source"][i], batch["left_source_id"][i]),
                "right": (batch["right_source"][i], batch["right_source_id"][i]),
                "probability": float(batch["probability"][i]),
                "weights": {c.name: round(float(w), 2) for c, lv, w in reached if lv >= 0},
                "levels": {c.name: c.levels[lv] for c, lv, _ in reached if lv >= 0},
            }
