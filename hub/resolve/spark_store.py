"""A store's full resolve that stays in Spark: `crmhub resolve --engine spark` over more
live records than `identity.spark.driver_records`.

At that size the records do not pass through the driver as a list:
1. the driver exports the store's inputs a batch at a time (`hub.resolve.export`): the
   records as the batch contract's JSON Lines, their store ids, the previous crosswalk and
   the golden ids' creation order;
2. Spark reads the records as it reads a batch file (`SparkRecords`) and `run_on_spark`
   resolves them, the previous crosswalk and creation order read as tables and the
   stewards' links and overrides (few) from the driver — every stage checkpointed, so a
   failed run resumes from its last finished stage when it is run again on the same inputs;
3. the outcome goes back in one transaction from Spark's output, a batch at a time
   (`hub.resolve.persist_frames`), with the incremental state: the fitted model, the key
   index (computed in Spark, collected as a few 64-bit columns per record) and the
   bridges (the pairs between clusters).
The store ends as the in-process run leaves it: the same golden records, crosswalk, review
queue, audit entries and state (the tests compare them).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np
import orjson
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from hub.core.clock import now
from hub.core.errors import HubError
from hub.resolve.changes import held_back
from hub.resolve.engine import Engine
from hub.resolve.export import StoreExport, export_store
from hub.resolve.persist_frames import prepare, store_line, write_parts
from hub.resolve.records import (
    Pair,
    identifying_hash,
    latest_decisions,
    load_customer_records,
    load_overrides,
)
from hub.resolve.run import FULL_RUN_TABLES, ResolveSummary, full_summary, save_full_state
from hub.resolve.state import current_marks
from hub.store.database import Store
from identity.backends.spark import (
    NativeResolution,
    SparkBackend,
    SparkHistory,
    SparkRecords,
    run_on_spark,
)
from identity.backends.spark.index import bridge_frame, hash_arrays, key_index_frame
from identity.backends.spark.standardise import ROW
from identity.incremental import KeyIndex
from identity.model import ModelSpec
from identity.model_io import fingerprint, model_to_bytes
from identity.survivorship import Override

__all__ = ["EXPORT", "full_on_spark"]

EXPORT = "store-export"  # the exported inputs, under the run directory while a run needs them


def full_on_spark(
    store: Store,
    spec: ModelSpec,
    actor: str,
    reason: str,
    engine: Engine,
    progress: Callable[[str], None] | None = None,
) -> ResolveSummary:
    """Resolve the store's live records with `spec` wholly on `engine` (Spark) and write
    the outcome and the incremental state back (see the module's docstring)."""
    step = progress or (lambda _msg: None)
    folder = engine.run_dir / EXPORT
    with store.engine.connect() as conn:
        read_from = now()
        marks = current_marks(conn)  # before reading: what loads meanwhile is seen next time
        step("exporting the store's records for Spark")
        exported = export_store(conn, folder)
        decisions = latest_decisions(conn)
        overrides = load_overrides(conn)
        decided = sorted({key for pair in decisions for key in pair})
        current = {
            (str(r["source"]), str(r["source_id"])): identifying_hash(r)
            for r in (load_customer_records(conn, decided) if decided else [])
        }
        marks = replace(marks, loaded=held_back(conn, marks.loaded, read_from))
    if exported.count == 0:
        raise HubError("no live customer records to resolve — run crmhub sync first")
    links = (
        [p for p, v in decisions.items() if v == "match"],
        [p for p, v in decisions.items() if v == "no_match"],
    )
    mark = _mark(exported, spec, decisions, overrides)
    backend, stale = engine.spark_backend(mark, driver_records=0)
    try:
        result, previous, ids = _run(backend, exported, spec, links, overrides, progress)
    except stale:  # checkpoints of other inputs that the mark did not tell apart
        engine.clear_checkpoints()
        backend, _ = engine.spark_backend(mark, driver_records=0)
        result, previous, ids = _run(backend, exported, spec, links, overrides, progress)
    step("building the incremental state")
    index = _key_index(result, ids, spec)
    bridges = _bridges(result, ids, spec.thresholds.lower)
    kinds = {r["kind"]: int(r["count"]) for r in result.events.groupBy("kind").count().collect()}
    parts = prepare(result, previous, folder / "out")
    step("writing golden records, crosswalk and review queue")
    with store.transaction() as conn:
        changed = write_parts(conn, parts, current, actor)
        save_full_state(
            conn, spec, exported.count, marks, model_to_bytes(result.model), index, bridges
        )
    store.analyze(*FULL_RUN_TABLES)
    engine.finished()
    shutil.rmtree(folder, ignore_errors=True)
    return full_summary(
        records=exported.count,
        golden=int(result.stats["golden_records"]),
        kinds=kinds,
        changed=changed,
        review=int(result.stats["review_pairs"]),
        stats=result.stats,
        reason=reason,
        engine=engine,
    )


def _run(
    backend: SparkBackend,
    exported: StoreExport,
    spec: ModelSpec,
    links: tuple[Sequence[Pair], Sequence[Pair]],
    overrides: Mapping[str, Mapping[str, Override]],
    progress: Callable[[str], None] | None,
) -> tuple[NativeResolution, DataFrame | None, DataFrame]:
    """The run on the exported inputs (`links`: the stewards' must- and cannot-links);
    the previous crosswalk as a table; each record's store id by its rid (rid, record_id)."""
    spark = backend.spark
    records = SparkRecords.read(spark, exported.records, scratch=backend.root)
    if records.bad_count:
        where = "; ".join(f"line {line}: {why}" for line, why in records.bad_sample)
        raise HubError(
            f"{records.bad_count:,} exported customer records could not be read back "
            f"({where}) — the export in {exported.records.parent} is kept for a bug report"
        )
    previous = spark.read.parquet(str(exported.previous)) if exported.previous else None
    created = spark.read.parquet(str(exported.created)) if exported.created else None
    history = SparkHistory(
        previous=previous,
        created=created,
        must_link=links[0],
        cannot_link=links[1],
        overrides=overrides,
    )
    result = run_on_spark(
        records, spec, backend=backend, history=history, progress=progress, render=store_line
    )
    ids = records.key_frame.join(spark.read.parquet(str(exported.ids)), ["source", "source_id"])
    return result, previous, ids.select(ROW, "record_id")


def _key_index(result: NativeResolution, ids: DataFrame, spec: ModelSpec) -> KeyIndex:
    """The incremental state's key index, computed in Spark and collected by column."""
    rules = spec.blocking.rules
    frame = key_index_frame(result.table, rules).join(ids, ROW).drop(ROW).toArrow()
    keys, ident = hash_arrays(frame, len(rules))
    record_ids = frame.column("record_id").to_numpy().astype(np.int64)
    return KeyIndex.build(record_ids, keys, ident)


def _bridges(result: NativeResolution, ids: DataFrame, lower: float) -> np.ndarray:
    """(m x 2) store ids of the pairs at or above `lower` that ended in different clusters."""
    pairs = bridge_frame(result.pairs, result.labels, lower)
    left = ids.select(F.col(ROW).alias("l"), F.col("record_id").alias("a"))
    right = ids.select(F.col(ROW).alias("r"), F.col("record_id").alias("b"))
    found = pairs.join(left, "l").join(right, "r").select("a", "b").toArrow()
    out = np.stack([found.column("a").to_numpy(), found.column("b").to_numpy()], axis=1).astype(
        np.int64
    )
    return out.reshape(-1, 2)


def _mark(
    exported: StoreExport,
    spec: ModelSpec,
    decisions: Mapping[Pair, str],
    overrides: Mapping[str, Mapping[str, Override]],
) -> str:
    """A digest of what the run's checkpoints depend on: the exported inputs, the model,
    the stewards' decisions and overrides."""
    digest = hashlib.sha256(fingerprint(spec).encode())
    digest.update(exported.digest.encode())
    digest.update(orjson.dumps(sorted(decisions.items()), default=str))
    digest.update(
        orjson.dumps(sorted((g, sorted(f.items())) for g, f in overrides.items()), default=str)
    )
    return "native:" + digest.hexdigest()
