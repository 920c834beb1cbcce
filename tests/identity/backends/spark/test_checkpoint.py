"""Checkpoints: a run killed in a stage resumes from the last finished stage's Parquet."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from identity.backends.spark import Checkpoints, SparkBackend, StaleRunError
from identity.backends.spark import backend as backend_module
from identity.model import ModelSpec
from identity.resolve import run
from tests.identity.backends.spark.helpers import crm_records

# a small table is broadcast to the compare stage: no "household" stage (joins only)
EARLIER = ["standardised", "standardise_stats", "pairs", "blocking_report"]


def test_a_run_killed_in_a_stage_resumes_without_redoing_the_earlier_ones(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = list(crm_records())[:200]
    run_dir = tmp_path / "run"

    def killed(*_args: object) -> object:
        raise RuntimeError("injected: the cluster stage dies")

    with monkeypatch.context() as patch:
        patch.setattr(backend_module, "cluster_on_spark", killed)
        with pytest.raises(RuntimeError, match="injected"):
            run(records, ModelSpec(), backend=SparkBackend(spark, run_dir=run_dir))
    first = SparkBackend(spark, run_dir=run_dir)
    # the model's EM reads the pattern counts ("patterns"), which a resumed model skips
    computed = [*EARLIER, "levels", "patterns", "model", "scored"]
    assert first.stage_log() == [(s, "computed") for s in computed]
    assert (run_dir / "levels.parquet" / "_SUCCESS").exists()
    assert (run_dir / "scored.parquet" / "_SUCCESS").exists()

    resumed = run(records, ModelSpec(), backend=first)
    log = first.stage_log()[len(computed) :]  # this run's lines
    assert log[:7] == [(s, "resumed") for s in [*EARLIER, "levels", "model", "scored"]]
    assert ("components", "computed") in log[7:]
    fresh = run(records, ModelSpec(), backend=SparkBackend(spark))
    assert resumed.crosswalk == fresh.crosswalk

    before = len(first.stage_log())
    again = SparkBackend(spark, run_dir=run_dir)  # everything finished: all read back
    assert run(records, ModelSpec(), backend=again).crosswalk == fresh.crosswalk
    assert {how for _, how in again.stage_log()[before:]} == {"resumed"}


def test_a_half_written_stage_is_recomputed(spark: SparkSession, tmp_path: Path) -> None:
    checkpoints = Checkpoints(tmp_path, "f1")
    (tmp_path / "pairs.parquet").mkdir()
    (tmp_path / "pairs.parquet" / "part-0.parquet").write_bytes(b"torn")  # no _SUCCESS
    frame = checkpoints.frame(spark, "pairs", lambda: spark.range(3))
    assert sorted(r["id"] for r in frame.collect()) == [0, 1, 2]
    assert checkpoints.stages() == [("pairs", "computed")]


def test_a_run_directory_of_other_input_is_refused(tmp_path: Path) -> None:
    Checkpoints(tmp_path, "first-input")
    with pytest.raises(StaleRunError, match=r"another input or model.*new --run-dir"):
        Checkpoints(tmp_path, "second-input")


def test_a_run_directory_of_the_previous_checkpoint_layout_is_refused(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Layout 3 keeps the levels without an order column and adds "patterns" and
    "scored": a run directory written before is stale, not misread."""
    records = list(crm_records())[:50]
    with monkeypatch.context() as patch:
        patch.setattr(backend_module, "_LAYOUT", 2)
        SparkBackend(spark, run_dir=tmp_path).standardise(records, ModelSpec())
    with pytest.raises(StaleRunError, match=r"another input or model.*new --run-dir"):
        SparkBackend(spark, run_dir=tmp_path).standardise(records, ModelSpec())
