"""`SparkBackend`: the stages of a `ModelSpec` on Apache Spark.

The record table, the candidate pairs and their comparison levels live in Spark (and, with
a run directory, in Parquet between stages); the driver gets what the `Backend` protocol
hands back — the pairs' arrays, the model, the clustering — and keeps the table's
standardised frame for the steps that work per cluster (ids, survivorship).

Which code runs where:
- standardise: `identity.standardise` on pandas partitions; shared identifiers found by a
  Spark aggregation (`spark.standardise`);
- block: one self-join per rule, oversized blocks left out before joining, large blocks
  salted (`spark.block`);
- compare: `identity.compare.compare_pairs` on Arrow batches of pairs, the table's compared
  columns broadcast to the workers (up to `broadcast_records` records) or joined to each
  pair (`spark.compare`);
- estimate and score: `identity.score` on the driver, from the levels;
- cluster: connected components by large-star/small-star in Spark (`spark.components`),
  then `identity.cluster.cluster` on the driver for the components that need cutting
  (`spark.cluster`).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark import Broadcast
from pyspark.sql import DataFrame, SparkSession

from identity.backends import Candidates, Clustered, Decisions, Standardised
from identity.backends.local import LocalBackend
from identity.backends.spark.block import candidate_pairs
from identity.backends.spark.checkpoint import Checkpoints, stage_log
from identity.backends.spark.cluster import cluster_on_spark
from identity.backends.spark.compare import (
    Packed,
    compare,
    compare_broadcast,
    compared_columns,
    household_values,
    level_columns,
    packed,
)
from identity.backends.spark.components import component_labels
from identity.backends.spark.session import spark_session, to_pandas
from identity.backends.spark.standardise import ROW, records_frame, standardised_frame
from identity.blocking import BlockingReport
from identity.model import ModelSpec
from identity.score import Model, Scored

__all__ = ["SparkBackend", "SparkCandidates", "SparkTable"]


@dataclass(frozen=True, kw_only=True)
class SparkTable(Standardised):
    """The standardised table: in Spark (`records`), and its frame on the driver.
    `household`: per record its household flags, for comparing by joins (None when the
    table is broadcast instead)."""

    records: DataFrame
    household: DataFrame | None


@dataclass(frozen=True, kw_only=True)
class SparkCandidates(Candidates):
    """The candidate pairs on the driver, and the same pairs in Spark (`frame`: l, r)."""

    frame: DataFrame


class SparkBackend:
    """Runs a `ModelSpec` on Spark (`master`, default `local[2]`, or a given session).

    With `run_dir`, each stage's result is written there as Parquet and a re-run over the
    same input resumes after the last stage that finished (`stages.log` says which were
    computed and which resumed).

    Tables of up to `broadcast_records` records are compared on a copy of their compared
    columns in each Python worker (a Spark broadcast, ~0.4 GB per worker per million
    records); larger ones by joining both records' columns to every pair.
    """

    def __init__(
        self,
        spark: SparkSession | None = None,
        *,
        master: str = "local[2]",
        run_dir: Path | None = None,
        partitions: int | None = None,
        salt_size: int = 50,
        conf: Mapping[str, str] | None = None,
        broadcast_records: int = 5_000_000,
    ) -> None:
        self.spark = spark or spark_session(master, conf=conf)
        self.run_dir = run_dir
        # without a run directory, stages still go through Parquet (a scratch directory):
        # a stage's plan then starts from files, not from the whole lineage before it
        self._scratch = None if run_dir else tempfile.TemporaryDirectory(prefix="crmhub-spark-")
        self.root = run_dir or Path(self._scratch.name if self._scratch else ".")
        self.partitions = partitions
        self.salt_size = salt_size
        self.broadcast_records = broadcast_records
        self.checkpoints = Checkpoints(None, "")
        self._broadcast: tuple[pd.DataFrame, Broadcast[Packed]] | None = None

    # -- the protocol ------------------------------------------------------------------

    def standardise(self, records: Sequence[Mapping[str, Any]], spec: ModelSpec) -> SparkTable:
        self.checkpoints = Checkpoints(self.root, _fingerprint(records, spec))
        partitions = self.partitions or max(2, len(records) // 50_000)
        found: dict[str, dict[str, int]] = {}
        unblanked: list[DataFrame] = []

        def standardised() -> DataFrame:
            docs = self._parquet("records", records_frame(records))
            frame, stats, plain = standardised_frame(
                docs.repartition(partitions, ROW),
                max_shared=spec.blocking.max_shared,
            )
            found["stats"] = stats
            unblanked.append(plain)
            return frame

        table = self.checkpoints.frame(self.spark, "standardised", standardised)
        stats = self.checkpoints.value("standardise_stats", lambda: found["stats"])
        for plain in unblanked:
            plain.unpersist()
        household = None
        if len(records) > self.broadcast_records:
            household = self.checkpoints.frame(
                self.spark, "household", lambda: household_values(table)
            )
        local = to_pandas(table).sort_values(ROW).drop(columns=[ROW]).reset_index(drop=True)
        local = local.astype(object).where(local.notna(), None)
        return SparkTable(frame=local, stats=stats, records=table, household=household)

    def block(self, table: Standardised, spec: ModelSpec) -> Candidates:
        spark_table = _spark(table)
        reports: dict[str, BlockingReport] = {}

        def pairs() -> DataFrame:
            found, report = candidate_pairs(
                spark_table.records,
                spec.blocking.rules,
                max_block=spec.blocking.max_block,
                salt_size=self.salt_size,
            )
            reports["report"] = report
            return found

        frame = self.checkpoints.frame(self.spark, "pairs", pairs)
        report = self.checkpoints.value("blocking_report", lambda: reports["report"])
        got = to_pandas(frame)
        n = len(table.frame)
        encoded = np.sort(got["l"].to_numpy(np.int64) * max(n, 1) + got["r"].to_numpy(np.int64))
        report.total_pairs = int(encoded.size)
        return SparkCandidates(
            left=encoded // max(n, 1), right=encoded % max(n, 1), report=report, frame=frame
        )

    def compare(self, table: Standardised, pairs: Candidates, spec: ModelSpec) -> np.ndarray:
        if isinstance(pairs, SparkCandidates) and self._broadcasting(table):
            return self._levels_in_place(table, pairs, spec)
        return self._levels(table, pairs.left, pairs.right, spec, "levels")

    def estimate(
        self,
        table: Standardised,
        pairs: Candidates,
        levels: np.ndarray,
        spec: ModelSpec,
        decisions: Decisions,
    ) -> Model:
        def fitted() -> Model:
            return LocalBackend().estimate(table, pairs, levels, spec, decisions)

        return self.checkpoints.value("model", fitted)

    def score(
        self, model: Model, table: Standardised, pairs: Candidates, levels: np.ndarray
    ) -> Scored:
        return LocalBackend().score(model, table, pairs, levels)

    def cluster(
        self,
        table: Standardised,
        scored: Scored,
        model: Model,
        spec: ModelSpec,
        decisions: Decisions,
    ) -> Clustered:
        return cluster_on_spark(self, table, scored, model, spec, decisions)

    # -- used by the stages ------------------------------------------------------------

    def _broadcasting(self, table: Standardised) -> bool:
        return len(table.frame) <= self.broadcast_records

    def _table_broadcast(self, table: Standardised, spec: ModelSpec) -> Broadcast[Packed]:
        """The table's compared columns, broadcast once per table."""
        if self._broadcast is not None and self._broadcast[0] is table.frame:
            return self._broadcast[1]
        if self._broadcast is not None:
            self._broadcast[1].unpersist()
        columns = compared_columns(list(table.frame.columns), spec.comparisons)
        shared = self.spark.sparkContext.broadcast(packed(table.frame, columns))
        self._broadcast = (table.frame, shared)
        return shared

    def _levels_in_place(
        self, table: Standardised, pairs: SparkCandidates, spec: ModelSpec
    ) -> np.ndarray:
        """The levels of the candidate pairs, compared where blocking left them in Spark
        (no pair goes back through the driver), in the candidates' order."""
        k, n = len(spec.comparisons), max(len(table.frame), 1)
        if pairs.left.size == 0:
            return np.empty((0, k), dtype=np.int8)

        def compared() -> DataFrame:
            frame = pairs.frame.select("l", "r")
            wanted = 2 * self.spark.sparkContext.defaultParallelism
            if frame.rdd.getNumPartitions() < wanted:
                frame = frame.repartition(wanted)
            return compare_broadcast(frame, self._table_broadcast(table, spec), spec.comparisons)

        frame = self.checkpoints.frame(self.spark, "levels", compared)
        got = to_pandas(frame.select("l", "r", *level_columns(spec.comparisons)))
        known = pairs.left.astype(np.int64) * n + pairs.right.astype(np.int64)
        found = got["l"].to_numpy(np.int64) * n + got["r"].to_numpy(np.int64)
        order = None if bool(np.all(known[1:] > known[:-1])) else np.argsort(known)
        ranked = known if order is None else known[order]
        position = np.minimum(np.searchsorted(ranked, found), ranked.size - 1)
        if found.size != known.size or not np.array_equal(ranked[position], found):
            raise RuntimeError(
                f"compare: {found.size:,} pairs came back for {known.size:,} candidates — "
                "the pairs checkpoint does not match this run's blocking; delete the run "
                "directory and run again"
            )
        if order is not None:
            position = order[position]
        out = np.empty((known.size, k), dtype=np.int8)
        for j, name in enumerate(level_columns(spec.comparisons)):
            out[position, j] = got[name].to_numpy(np.int8)
        return out

    def _levels(
        self,
        table: Standardised,
        left: np.ndarray,
        right: np.ndarray,
        spec: ModelSpec,
        stage: str,
    ) -> np.ndarray:
        """The levels of pairs (left[i], right[i]) in that order, compared on Spark."""
        spark_table = _spark(table)
        k = len(spec.comparisons)
        if left.size == 0:
            return np.empty((0, k), dtype=np.int8)

        def compared() -> DataFrame:
            order = pd.DataFrame(
                {
                    "l": left.astype(np.int64),
                    "r": right.astype(np.int64),
                    "i": np.arange(left.size, dtype=np.int64),
                }
            )
            partitions = max(2, left.size // 200_000)
            pairs = self._parquet(f"{stage}_pairs", order).repartition(partitions)
            if self._broadcasting(table):
                shared = self._table_broadcast(table, spec)
                return compare_broadcast(pairs, shared, spec.comparisons)
            return compare(spark_table.records, pairs, spec.comparisons, spark_table.household)

        frame = self.checkpoints.frame(self.spark, stage, compared)
        got = to_pandas(frame.select("i", *level_columns(spec.comparisons)))
        out = np.empty((left.size, k), dtype=np.int8)
        position = got["i"].to_numpy(np.int64)
        for j, name in enumerate(level_columns(spec.comparisons)):
            out[position, j] = got[name].to_numpy(np.int8)
        return out

    def _components(self, n: int, left: np.ndarray, right: np.ndarray, stage: str) -> np.ndarray:
        """Per record 0..n-1 the smallest record of its connected component, on Spark."""
        labels = np.arange(n, dtype=np.int64)
        if left.size == 0:
            return labels

        def found() -> DataFrame:
            edges = pd.DataFrame({"u": left.astype(np.int64), "v": right.astype(np.int64)})
            partitions = max(2, left.size // 500_000)
            frame = self._parquet(f"{stage}_edges", edges).repartition(partitions)
            result, _rounds = component_labels(frame)
            return result

        got = to_pandas(self.checkpoints.frame(self.spark, stage, found))
        labels[got["vertex"].to_numpy(np.int64)] = got["label"].to_numpy(np.int64)
        return labels

    def _parquet(self, name: str, frame: pd.DataFrame) -> DataFrame:
        """A driver-side table handed to Spark through a Parquet file under the run
        directory (not inlined into the query plan, which Spark would copy and
        canonicalise with every plan built on it)."""
        path = self.root / "inputs" / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
        return self.spark.read.parquet(str(path))

    def stage_log(self) -> list[tuple[str, str]]:
        """(stage, computed|resumed) of every run in the run directory, in order (without
        one: of this backend's last run)."""
        if self.run_dir is not None:
            return stage_log(self.run_dir)
        return self.checkpoints.stages()

    def stage_times(self) -> dict[str, Any]:
        """Seconds per stage of the last run."""
        return self.checkpoints.times()


def _spark(table: Standardised) -> SparkTable:
    if not isinstance(table, SparkTable):
        raise TypeError(
            "SparkBackend stages need the table its own standardise() returned, "
            f"not a {type(table).__name__}"
        )
    return table


def _fingerprint(records: Sequence[Mapping[str, Any]], spec: ModelSpec) -> str:
    """What a run directory's checkpoints are of: the records and the model's settings."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(orjson.dumps(record, default=str, option=orjson.OPT_SORT_KEYS))
        digest.update(b"\n")
    model = {
        "comparisons": [(c.name, c.columns, c.levels, c.role.value) for c in spec.comparisons],
        "blocking": [(r.name, r.columns) for r in spec.blocking.rules],
        "max_block": spec.blocking.max_block,
        "max_shared": spec.blocking.max_shared,
        "complete": spec.blocking.complete_clusters_up_to,
        "training": repr(spec.training),
        "thresholds": repr(spec.thresholds),
    }
    digest.update(orjson.dumps(model, default=str))
    return digest.hexdigest()[:16]
