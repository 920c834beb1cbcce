"""`SparkBackend`: the stages of a `ModelSpec` on Apache Spark.

The record table, the candidate pairs, their comparison levels and their scores live in
Spark (and, with a run directory, in Parquet between stages); the driver gets what the
`Backend` protocol hands back — the agreement-pattern counts and the model, the pairs
clustering needs (at or above the lower threshold), the clustering. Up to `driver_records`
records it also collects the table's standardised frame (the model's value frequencies,
the broadcast columns, `Resolution.frame`) and the candidates' index arrays; above it
neither reaches the driver (value frequencies counted in Spark, `spark.estimate`; pairs
compared and scored by joins). Records read by Spark (`SparkRecords`) never reach the
driver as a list.

Which code runs where:
- standardise: `identity.standardise` on pandas partitions; shared identifiers found by a
  Spark aggregation (`spark.standardise`);
- block: one self-join per rule, oversized blocks left out before joining, large blocks
  salted (`spark.block`);
- compare: `identity.compare.compare_pairs` on Arrow batches of pairs, the table's compared
  columns broadcast to the workers (up to `broadcast_records` records) or joined to each
  pair (`spark.compare`);
- estimate: the levels' agreement patterns counted in Spark (a `GROUP BY`), EM on them
  on the driver (`identity.score.estimate_from_patterns`, `spark.score`);
- score: `identity.score.score` on Arrow batches of the levels, the table's columns and
  the model broadcast (`spark.score`); the driver gets the pairs at or above the lower
  threshold, and the ones below it that speak against a cluster holding both records;
- cluster: connected components by large-star/small-star in Spark (`spark.components`),
  then `identity.cluster.cluster` on the driver for the components that need cutting
  (`spark.cluster`).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from identity.backends import (
    Candidates,
    Clustered,
    Decisions,
    Levels,
    PairLevels,
    Standardised,
)
from identity.backends.spark.block import candidate_pairs
from identity.backends.spark.checkpoint import Checkpoints, stage_log
from identity.backends.spark.cluster import cluster_on_spark
from identity.backends.spark.compare import (
    TASK_PAIRS,
    FileTable,
    SharedTable,
    compare,
    compare_broadcast,
    compared_columns,
    household_values,
    in_record_order,
    level_columns,
    packed,
)
from identity.backends.spark.components import component_labels
from identity.backends.spark.estimate import estimate_on_spark, record_kinds
from identity.backends.spark.records import SparkRecords
from identity.backends.spark.score import (
    collected_scored,
    pattern_table,
    scored_joined,
    scored_pairs,
)
from identity.backends.spark.session import spark_session
from identity.backends.spark.standardise import (
    ROW,
    blanked,
    records_table,
    shared_values,
    standardised_records,
)
from identity.blocking import BlockingReport
from identity.model import ModelSpec
from identity.score import Model, Patterns, Scored, estimate_from_patterns, score

__all__ = ["SparkBackend", "SparkCandidates", "SparkLevels", "SparkTable"]

_TASK_EDGES = 2_000_000  # edges a connected-components task starts from at most


@dataclass(frozen=True, kw_only=True)
class SparkTable(Standardised):
    """The standardised table: in Spark (`records`, `size` rows), and its frame on the
    driver when the backend collects it (`collected`; above `driver_records` the frame is
    an empty one with the table's columns and every stage reads the table in Spark).
    `household`: per record its household flags, for comparing by joins (None when the
    table is broadcast instead). `plain`: the table before the `shared` identifying
    values (few, by column) were blanked."""

    records: DataFrame
    household: DataFrame | None
    size: int
    collected: bool = True
    plain: DataFrame | None = None
    shared: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SparkCandidates(Candidates):
    """The candidate pairs in Spark (`frame`: l, r; `pairs` of them), and on the driver
    as `left`/`right` only when the table is collected there (else empty)."""

    frame: DataFrame
    pairs: int

    def count(self) -> int:
        return self.pairs


class SparkLevels(PairLevels):
    """The candidate pairs' levels in Spark (`frame`: l, r, lv0..)."""

    def __init__(self, *, pairs: int, comparisons: int, frame: DataFrame) -> None:
        super().__init__(pairs=pairs, comparisons=comparisons)
        self.frame = frame


class SparkBackend:
    """Runs a `ModelSpec` on Spark (`master`, default `local[2]`, or a given session).

    With `run_dir`, each stage's result is written there as Parquet and a re-run over the
    same input resumes after the last stage that finished (`stages.log` says which were
    computed and which resumed).

    `salt_size` > 0 splits blocks larger than it over several join tasks (see
    `spark.block`); off by default: with blocks capped at `max_block` records it only
    added a shuffle (200k records: 42 MB shuffled and 66 task seconds salted at 50, 28 MB
    and 51 s without).

    Tables of up to `broadcast_records` records are compared on a copy of their compared
    columns in each Python worker (a Spark broadcast, ~0.4 GB per worker per million
    records; read from files, up to ~1.2 GB per worker per million records while it is
    coded); larger ones by joining both records' columns to every pair. Measured at the
    default, 5M records on `local[2]`: the two Python workers peaked at 11.9 GB together, the
    JVM at 4.4 GB; on executors with less memory for Python, lower it.

    Tables of up to `driver_records` records are also collected to the driver (~1.4 GB
    per million records): the value frequencies come from that frame and the broadcast is
    made from it. Above it the driver never holds the table: value frequencies are counted
    in Spark (`spark.estimate`), pairs are compared and scored with both records' columns
    joined to them, and `Standardised.frame` (so `Resolution.frame`) is empty. Both paths
    give the same model, pairs and clusters (tests/identity/backends/spark/
    test_driver_records.py).
    """

    def __init__(
        self,
        spark: SparkSession | None = None,
        *,
        master: str = "local[2]",
        run_dir: Path | None = None,
        partitions: int | None = None,
        salt_size: int = 0,
        conf: Mapping[str, str] | None = None,
        broadcast_records: int = 5_000_000,
        driver_records: int = 1_000_000,
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
        self.driver_records = driver_records
        self.checkpoints = Checkpoints(None, "")
        self._broadcast: tuple[pd.DataFrame, SharedTable] | None = None
        self._spec: ModelSpec | None = None  # the model of the run under way
        self._scored: DataFrame | None = None  # its scored pairs, in Spark

    # -- the protocol ------------------------------------------------------------------

    def standardise(self, records: Sequence[Mapping[str, Any]], spec: ModelSpec) -> SparkTable:
        """The records standardised in Spark. `SparkRecords` (records Spark read from the
        batch contract's file) go in as they are; a list goes through Arrow and Parquet."""
        self._spec, self._scored = spec, None
        if isinstance(records, SparkRecords):
            file_records = records
            self.checkpoints = Checkpoints(
                self.root, _fingerprint(pa.table({"file": [records.fingerprint]}), spec)
            )

            def from_file() -> DataFrame:
                found = file_records.frame
                if self.partitions:
                    found = found.repartition(self.partitions)
                return standardised_records(found)

            return self._standardised_table(from_file, len(records), spec)
        arrow = records_table(records)
        self.checkpoints = Checkpoints(self.root, _fingerprint(arrow, spec))

        def standardised() -> DataFrame:
            path = self.root / "inputs" / "records.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            # row groups small enough for Spark to split the file over every core
            rows = max(1, min(100_000, len(records) // (4 * self._cores()) + 1))
            pq.write_table(arrow, path, row_group_size=rows)
            found = self.spark.read.parquet(str(path))
            if self.partitions:
                found = found.repartition(self.partitions)
            return standardised_records(found)

        return self._standardised_table(standardised, len(records), spec)

    def _standardised_table(
        self, standardised: Callable[[], DataFrame], n: int, spec: ModelSpec
    ) -> SparkTable:
        plain = self.checkpoints.frame(self.spark, "standardised", standardised)
        stats, shared = self.checkpoints.value(
            "standardise_stats", lambda: shared_values(plain, max_shared=spec.blocking.max_shared)
        )
        table = blanked(plain, shared)
        collected = n <= self.driver_records
        household = None
        if not (collected and n <= self.broadcast_records):  # compared by joins
            household = self.checkpoints.frame(
                self.spark, "household", lambda: household_values(table)
            )
        frame = _local_frame(table) if collected else _empty_frame(table)
        return SparkTable(
            frame=frame,
            stats=stats,
            records=table,
            household=household,
            size=n,
            collected=collected,
            plain=plain,
            shared=shared,
        )

    def block(self, table: Standardised, spec: ModelSpec) -> Candidates:
        spark_table = _spark(table)
        reports: dict[str, BlockingReport] = {}
        n = max(spark_table.size, 1)
        members: list[DataFrame] = []

        def pairs() -> DataFrame:
            found, report, sized = candidate_pairs(
                spark_table.records,
                spec.blocking.rules,
                n=n,
                max_block=spec.blocking.max_block,
                salt_size=self.salt_size,
            )
            reports["report"] = report
            members.append(sized)
            return found

        encoded_pairs = self.checkpoints.frame(self.spark, "pairs", pairs)
        for sized in members:
            sized.unpersist()
        report = self.checkpoints.value("blocking_report", lambda: reports["report"])
        if spark_table.collected:
            left, right = _decoded(encoded_pairs, n)
            count = int(left.size)
        else:  # the pairs stay in Spark: only their number reaches the driver
            left = right = np.empty(0, dtype=np.int32)
            count = int(encoded_pairs.count())
        report.total_pairs = count
        frame = encoded_pairs.select(
            F.expr(f"pair div {n}").alias("l"), F.expr(f"pair % {n}").alias("r")
        )
        return SparkCandidates(left=left, right=right, report=report, frame=frame, pairs=count)

    def compare(self, table: Standardised, pairs: Candidates, spec: ModelSpec) -> SparkLevels:
        """The candidate pairs' levels, compared where blocking left them in Spark and kept
        there (the "levels" checkpoint): no pair goes through the driver."""
        spark_table = _spark(table)
        candidates = _candidates(pairs)
        k = len(spec.comparisons)

        def compared() -> DataFrame:
            frame = candidates.frame.select("l", "r")
            if self._broadcasting(table):
                # a task compares all its pairs in one call (the call's fixed cost, coding
                # the table's columns, is seconds at 1M records): as few tasks as keep every
                # core busy with at most `TASK_PAIRS` pairs each
                cores = self._cores()
                wanted = cores * -(-max(candidates.count(), 1) // (cores * TASK_PAIRS))
                found = frame.rdd.getNumPartitions()
                if found < cores:
                    frame = frame.repartition(wanted)
                elif found > wanted:
                    frame = frame.coalesce(wanted)
                shared = self._table_broadcast(table, spec)
                return compare_broadcast(frame, shared, spec.comparisons, batch_pairs=TASK_PAIRS)
            with_index = frame.withColumn("i", F.lit(0).cast("long"))
            partitions = max(2, candidates.count() // 200_000)
            found_levels = compare(
                spark_table.records,
                with_index.repartition(partitions),
                spec.comparisons,
                spark_table.household,
            )
            return found_levels.drop("i")

        levels = self.checkpoints.frame(self.spark, "levels", compared)
        return SparkLevels(pairs=int(candidates.count()), comparisons=k, frame=levels)

    def patterns(
        self, table: Standardised, pairs: Candidates, levels: Levels, decisions: Decisions
    ) -> Patterns:
        """The agreement patterns counted in Spark (`spark.score.pattern_table`); the
        steward-labelled candidate pairs as rows of their own."""
        labelled: dict[tuple[int, int], bool] = {}  # the last decision on a pair wins
        for linked, is_match in ((decisions.must_link, True), (decisions.cannot_link, False)):
            for x, y in linked:
                a, b = sorted((int(x), int(y)))
                labelled[(a, b)] = is_match
        found = _kept(levels)
        return pattern_table(self.spark, found.frame, found.comparisons, labelled)

    def estimate(
        self,
        table: Standardised,
        pairs: Candidates,
        levels: Levels,
        spec: ModelSpec,
        decisions: Decisions,
    ) -> Model:
        """EM on the pattern counts (`identity.score.estimate_from_patterns`): the model
        `LocalBackend.estimate` fits on every pair, from a few thousand rows. The
        stewards' decisions are labels of the fit: with any, this stage and the later ones
        are checkpointed under names of their own."""
        self.checkpoints.scope = _decisions_scope(decisions)

        def fitted() -> Model:
            found = self.checkpoints.value(
                "patterns", lambda: self.patterns(table, pairs, levels, decisions)
            )
            training = spec.training
            spark_table = _spark(table)
            if not spark_table.collected:
                return estimate_on_spark(
                    spark_table.records,
                    record_kinds(spark_table.records, spark_table.size),
                    lambda left, right: self._levels(table, left, right, spec, "random_levels"),
                    found,
                    comparisons=spec.comparisons,
                    sessions=training.sessions,
                    random_pairs=training.random_pairs,
                    max_iterations=training.max_iterations,
                    seed=training.seed,
                )
            return estimate_from_patterns(
                table.frame,
                found,
                comparisons=spec.comparisons,
                sessions=training.sessions,
                random_pairs=training.random_pairs,
                max_iterations=training.max_iterations,
                seed=training.seed,
            )

        return self.checkpoints.value("model", fitted)

    def score(self, model: Model, table: Standardised, pairs: Candidates, levels: Levels) -> Scored:
        """Every pair weighed in Spark (`spark.score.scored_pairs`, the "scored"
        checkpoint); the driver gets the pairs clustering links or reviews (probability at
        or above the lower threshold). The pairs below it that speak against a cluster are
        fetched by `cluster` for the clusters that hold both their records."""
        found = _kept(levels)
        spec = self._model_spec()
        frame = self.scored_frame(model, table, levels)
        if frame is None:
            return score(model, table.frame, *(np.empty(0, np.int64),) * 2, _no_levels(found))
        wanted = frame.where(F.col("probability") >= spec.thresholds.lower)
        return collected_scored(wanted, found.comparisons, _spark(table).size)

    def scored_frame(self, model: Model, table: Standardised, levels: Levels) -> DataFrame | None:
        """Every candidate pair weighed in Spark and kept there (the "scored" checkpoint:
        l, r, lv.., w.., total, probability, against); None when there are no pairs."""
        found = _kept(levels)
        spec = self._model_spec()
        if found.pairs == 0:
            self._scored = None
            return None

        spark_table = _spark(table)

        def weighed() -> DataFrame:
            held = self.spark.sparkContext.broadcast(model)
            if not self._broadcasting(table):
                columns = compared_columns(spark_table.records.columns, spec.comparisons)
                return scored_joined(
                    found.frame,
                    spark_table.records,
                    columns,
                    held,
                    conflict_bits=spec.thresholds.conflict_bits,
                )
            shared = self._table_broadcast(table, spec)
            return scored_pairs(
                found.frame,
                shared,
                held,
                conflict_bits=spec.thresholds.conflict_bits,
                batch_pairs=TASK_PAIRS,
            )

        frame = self.checkpoints.frame(self.spark, "scored", weighed)
        self._scored = frame
        return frame

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

    def _model_spec(self) -> ModelSpec:
        if self._spec is None:
            raise RuntimeError("SparkBackend: standardise() starts a run; call it first")
        return self._spec

    def _cores(self) -> int:
        return max(1, int(self.spark.sparkContext.defaultParallelism))

    def worker_table(self, table: Standardised, spec: ModelSpec) -> SharedTable | None:
        """The table's compared columns in every worker, if it is small enough to be
        (`broadcast_records`); None: pairs meet their records by joins."""
        return self._table_broadcast(table, spec) if self._broadcasting(table) else None

    def _broadcasting(self, table: Standardised) -> bool:
        """Whether pairs are compared and scored on the whole table in every worker (a
        broadcast of the driver's frame, or of files Spark wrote: `_table_broadcast`)."""
        return _spark(table).size <= self.broadcast_records

    def _scored_given(
        self,
        model: Model,
        table: Standardised,
        left: np.ndarray,
        right: np.ndarray,
        levels: np.ndarray,
        stage: str,
    ) -> Scored:
        """`identity.score.score` of the pairs (left[i], right[i]) with their `levels`, in
        that order: on the driver's frame, or in Spark when the driver holds none."""
        spark_table = _spark(table)
        if spark_table.collected:
            return score(model, table.frame, left, right, levels)
        spec = self._model_spec()
        names = level_columns(spec.comparisons)
        given = pd.DataFrame({"l": left.astype(np.int64), "r": right.astype(np.int64)})
        for k, name in enumerate(names):
            given[name] = levels[:, k].astype(np.int8)

        def weighed() -> DataFrame:
            columns = compared_columns(spark_table.records.columns, spec.comparisons)
            return scored_joined(
                self._parquet(f"{stage}_pairs", given),
                spark_table.records,
                columns,
                self.spark.sparkContext.broadcast(model),
                conflict_bits=spec.thresholds.conflict_bits,
            )

        frame = self.checkpoints.frame(self.spark, stage, weighed)
        n = max(spark_table.size, 1)
        found = collected_scored(frame, len(names), n)
        at = pd.Index(found.left * n + found.right).get_indexer(
            left.astype(np.int64) * n + right.astype(np.int64)
        )
        return Scored(
            left=found.left[at],
            right=found.right[at],
            levels=found.levels[at],
            weights=found.weights[at],
            total=found.total[at],
            probability=found.probability[at],
        )

    def _table_broadcast(self, table: Standardised, spec: ModelSpec) -> SharedTable:
        """The table's compared columns in every worker, once per table: broadcast from
        the driver's frame, or — a table the driver never held — written by Spark as the
        "shared_table" checkpoint and read by each worker from there."""
        if self._broadcast is not None and self._broadcast[0] is table.frame:
            return self._broadcast[1]
        if self._broadcast is not None and not isinstance(self._broadcast[1], FileTable):
            self._broadcast[1].unpersist()
        spark_table = _spark(table)
        shared: SharedTable
        if spark_table.collected:
            columns = compared_columns(list(table.frame.columns), spec.comparisons)
            shared = self.spark.sparkContext.broadcast(packed(table.frame, columns))
        else:
            columns = compared_columns(spark_table.records.columns, spec.comparisons)
            written = self.checkpoints.frame(
                self.spark,
                "shared_table",
                lambda: spark_table.records.select(ROW, *columns),
            )
            paths = tuple(sorted(_readable(uri) for uri in written.inputFiles()))
            if not paths:
                raise RuntimeError("shared_table: Spark wrote no files for the workers")
            shared = FileTable(paths=paths, columns=tuple(columns))
        self._broadcast = (table.frame, shared)
        return shared

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
            if self._broadcasting(table):
                cores = self._cores()
                wanted = cores * -(-left.size // (cores * TASK_PAIRS))
                pairs = self._parquet(f"{stage}_pairs", order).repartition(wanted)
                shared = self._table_broadcast(table, spec)
                return compare_broadcast(pairs, shared, spec.comparisons, batch_pairs=TASK_PAIRS)
            partitions = max(2, left.size // 200_000)
            pairs = self._parquet(f"{stage}_pairs", order).repartition(partitions)
            return compare(spark_table.records, pairs, spec.comparisons, spark_table.household)

        frame = self.checkpoints.frame(self.spark, stage, compared)
        got = frame.select("i", *level_columns(spec.comparisons)).toArrow()
        out = np.empty((left.size, k), dtype=np.int8)
        position = got.column("i").to_numpy()
        for j, name in enumerate(level_columns(spec.comparisons)):
            out[position, j] = got.column(name).to_numpy()
        return out

    def _components(self, n: int, left: np.ndarray, right: np.ndarray, stage: str) -> np.ndarray:
        """Per record 0..n-1 the smallest record of its connected component, on Spark."""
        labels = np.arange(n, dtype=np.int64)
        if left.size == 0:
            return labels

        def found() -> DataFrame:
            edges = pd.DataFrame({"u": left.astype(np.int64), "v": right.astype(np.int64)})
            # a task per `_TASK_EDGES` edges (a Parquet row group each): the components
            # inside a task's edges are found there at once (`local_stars`), the
            # large-star/small-star rounds join what tasks share
            frame = self._parquet(f"{stage}_edges", edges, row_group_size=_TASK_EDGES)
            result, _rounds = component_labels(frame)
            return result

        got = self.checkpoints.frame(self.spark, stage, found).toArrow()
        labels[got.column("vertex").to_numpy()] = got.column("label").to_numpy()
        return labels

    def _parquet(
        self, name: str, frame: pd.DataFrame, *, row_group_size: int | None = None
    ) -> DataFrame:
        """A driver-side table handed to Spark through a Parquet file under the run
        directory (not inlined into the query plan, which Spark would copy and
        canonicalise with every plan built on it)."""
        path = self.root / "inputs" / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, path, row_group_size=row_group_size)
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


def _local_frame(table: DataFrame) -> pd.DataFrame:
    """The standardised table on the driver, in input order, as the embedded backend's
    frame (text columns of str or None): collected as Arrow, no per-value conversion."""
    return in_record_order(table.toArrow())


def _readable(uri: str) -> str:
    """A file Spark names as a URI, as pyarrow opens it: a local path for `file:` URIs,
    else the URI itself (hdfs://, s3://… on a cluster's shared storage)."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("", "file") else uri


def _empty_frame(table: DataFrame) -> pd.DataFrame:
    """The frame a table not collected stands for on the driver: its columns, no rows."""
    return pd.DataFrame(columns=[c for c in table.columns if c != ROW])


def _decoded(encoded_pairs: DataFrame, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs (l * n + r in Spark) on the driver, in order: as int32 when the
    record indexes fit (half the memory: 11.6M pairs at 1M records take 93 MB, not 186),
    the sorted codes released before the halves are kept."""
    encoded = encoded_pairs.toArrow().column("pair").to_numpy()
    if not encoded.flags.writeable:  # a view of Arrow's buffer: sorted in a copy
        encoded = encoded.copy()
    encoded.sort()
    kind = np.int32 if n < 2**31 else np.int64
    left = np.empty(encoded.size, dtype=kind)
    right = np.empty(encoded.size, dtype=kind)
    np.floor_divide(encoded, n, out=left, casting="unsafe")
    np.remainder(encoded, n, out=right, casting="unsafe")
    return left, right


def _candidates(pairs: Candidates) -> SparkCandidates:
    if not isinstance(pairs, SparkCandidates):
        raise TypeError(
            "SparkBackend stages need the pairs its own block() returned, "
            f"not a {type(pairs).__name__}"
        )
    return pairs


def _kept(levels: Levels) -> SparkLevels:
    if not isinstance(levels, SparkLevels):
        raise TypeError(
            "SparkBackend stages need the levels its own compare() kept in Spark, "
            f"not a {type(levels).__name__}"
        )
    return levels


def _no_levels(levels: SparkLevels) -> np.ndarray:
    return np.empty((0, levels.comparisons), dtype=np.int8)


def _spark(table: Standardised) -> SparkTable:
    if not isinstance(table, SparkTable):
        raise TypeError(
            "SparkBackend stages need the table its own standardise() returned, "
            f"not a {type(table).__name__}"
        )
    return table


# the layout of the checkpoints: a run directory of another layout is refused as stale
_LAYOUT = 3  # 2: "standardised" holds the table before shared values are blanked;
# 3: "levels" holds (l, r, lv..) without an order column, "patterns" and "scored" are new


def _decisions_scope(decisions: Decisions) -> str:
    """The checkpoint names' prefix for a run with these decisions ("" with none)."""
    previous = decisions.previous_group
    parts: list[object] = [sorted(decisions.must_link), sorted(decisions.cannot_link)]
    if previous is not None:
        parts.append(hashlib.sha256(np.ascontiguousarray(previous).tobytes()).hexdigest())
    if parts == [[], []]:
        return ""
    return "d" + hashlib.sha256(repr(parts).encode()).hexdigest()[:12] + "_"


def _fingerprint(records: pa.Table, spec: ModelSpec) -> str:
    """What a run directory's checkpoints are of: the records (the fields standardising
    reads, as `records_table` holds them) and the model's settings."""
    digest = hashlib.sha256(f"layout {_LAYOUT}".encode())
    for name, column in zip(records.column_names, records.columns, strict=True):
        digest.update(name.encode() + b"\0")
        for chunk in column.chunks:
            digest.update(str(len(chunk)).encode())
            # the bytes that hold values, not the buffers' padding
            digest.update(chunk.is_null().to_numpy(zero_copy_only=False).tobytes())
            if pa.types.is_string(chunk.type):
                offsets = np.frombuffer(chunk.buffers()[1], np.int32)[: len(chunk) + 1]
                digest.update(offsets.tobytes())
                digest.update(memoryview(chunk.buffers()[2] or b"")[: int(offsets[-1])])
            else:
                digest.update(chunk.to_numpy(zero_copy_only=False).tobytes())
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
