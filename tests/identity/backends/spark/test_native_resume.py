"""The native run's stages after scoring are checkpointed too: a run killed after the
clusters resumes there, and a history (stewards' decisions, a previous crosswalk) changes
what the model's and the later stages are of, so they are never read from another run's."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from pyspark.sql import SparkSession

from identity.backends.spark import SparkBackend, SparkHistory, SparkRecords, run_on_spark
from identity.backends.spark import native as native_module
from identity.backends.spark.checkpoint import stage_log
from identity.model import ModelSpec
from tests.identity.backends.spark.helpers import crm_records


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r, default=str) + b"\n" for r in crm_records()))
    return path


def _run(spark: SparkSession, path: Path, run_dir: Path | None, **options: object) -> object:
    backend = SparkBackend(spark, run_dir=run_dir, driver_records=0)
    return run_on_spark(SparkRecords.read(spark, path), ModelSpec(), backend=backend, **options)  # type: ignore[arg-type]


def _crosswalk(found: object) -> dict[tuple[str, str], str]:
    rows = found.crosswalk.collect()  # type: ignore[attr-defined]
    return {(r.source, r.source_id): r.golden_id for r in rows}


def _golden(found: object) -> dict[str, bytes]:
    return {r.golden_id: bytes(r.line) for r in found.golden.collect()}  # type: ignore[attr-defined]


def test_a_run_killed_in_survivorship_resumes_after_the_ids(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path)
    run_dir = tmp_path / "run"

    def killed(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("injected: survivorship dies")

    with monkeypatch.context() as patch:
        patch.setattr(native_module, "golden_frame", killed)
        with pytest.raises(RuntimeError, match="injected"):
            _run(spark, path, run_dir)
    first = stage_log(run_dir)
    done = {stage for stage, how in first if how == "computed"}
    assert {"scored", "native_labels", "native_review", "native_cut"} <= done
    assert {"native_crosswalk", "native_events"} <= done
    assert not any(stage.startswith("native_golden") for stage in done)

    resumed = _run(spark, path, run_dir)
    log = stage_log(run_dir)[len(first) :]  # this run's lines
    how = dict(log)
    for stage in ("scored", "native_labels", "native_review", "native_cut", "native_crosswalk"):
        assert how[stage] == "resumed", stage
    assert "native_draft" not in how  # the clusters were not recomputed
    assert [h for s, h in log if s.startswith("native_golden")] == ["computed"]
    fresh = _run(spark, path, None)
    assert _crosswalk(resumed) == _crosswalk(fresh)
    assert _golden(resumed) == _golden(fresh)
    assert resumed.stats == fresh.stats  # type: ignore[attr-defined]


def test_another_history_is_not_read_from_the_first_runs_stages(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = _file(tmp_path)
    run_dir = tmp_path / "run"
    plain = _run(spark, path, run_dir)
    crosswalk = _crosswalk(plain)
    by_gid: dict[str, list[tuple[str, str]]] = {}
    for key, gid in crosswalk.items():
        by_gid.setdefault(gid, []).append(key)
    merged = next(keys for keys in by_gid.values() if len(keys) > 1)
    before = len(stage_log(run_dir))
    split = _run(
        spark,
        path,
        run_dir,
        history=SparkHistory(cannot_link=[(merged[0], merged[1])]),
    )
    log = stage_log(run_dir)[before:]
    how = dict(log)
    assert how["levels"] == "resumed"  # what the decisions do not change is read back
    # the decisions are labels of the model's fit: it and what follows are their own
    assert how.get("model") is None
    for stage in ("model", "scored", "native_labels"):
        assert [h for s, h in log if s.endswith("_" + stage)] == ["computed"], stage
    found = _crosswalk(split)
    assert found[merged[0]] != found[merged[1]]
