"""Checkpoints between stages: each stage's result as Parquet under a run directory.

A run directory belongs to one input and one model (`fingerprint`); a stage whose Parquet
is complete (Spark's `_SUCCESS` marker) is read back instead of recomputed, so a run that
failed in a later stage resumes there. `stages.log` says, one line per stage and run,
whether it was computed or resumed — what an operator (and the tests) read to know.
"""

from __future__ import annotations

import json
import pickle
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pyspark.sql import DataFrame, SparkSession

__all__ = ["Checkpoints", "StaleRunError", "stage_log"]

T = TypeVar("T")


def stage_log(root: Path) -> list[tuple[str, str]]:
    """(stage, computed|resumed) of every run in the run directory `root`, in order."""
    path = root / "stages.log"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(s, h) for s, h, _ in (line.split("\t") for line in lines)]


class StaleRunError(RuntimeError):
    """The run directory holds checkpoints of another input or model."""


class Checkpoints:
    """Parquet (and small driver-side values) per stage under `root`; `None` root: no
    checkpoints, every stage is computed (and still logged in memory)."""

    def __init__(self, root: Path | None, fingerprint: str) -> None:
        self.root = root
        self.log: list[tuple[str, str, float]] = []  # (stage, computed|resumed, seconds)
        # what the later stages are of besides the input and the model (the stewards'
        # decisions the model learns from): prefixed to their names once set
        self.scope = ""
        if root is None:
            return
        root.mkdir(parents=True, exist_ok=True)
        manifest = root / "manifest.json"
        if manifest.exists():
            found = json.loads(manifest.read_text()).get("fingerprint")
            if found != fingerprint:
                raise StaleRunError(
                    f"{root}: checkpoints of another input or model (fingerprint {found}, "
                    f"this run {fingerprint}) — give a new --run-dir or delete this one"
                )
        else:
            manifest.write_text(json.dumps({"fingerprint": fingerprint}))

    def frame(self, spark: SparkSession, stage: str, compute: Callable[[], DataFrame]) -> DataFrame:
        """The stage's DataFrame: read from its checkpoint, else computed and written.
        Spark's jobs from here to the next stage carry the stage's name (their description
        in the event log and the UI)."""
        started = time.monotonic()
        stage = self.scope + stage
        spark.sparkContext.setJobDescription(stage)
        if self.root is None:
            out = compute().persist()
            out.count()  # computed here, so that the stage's time is its own
            self._note(stage, "computed", started)
            return out
        path = self._parquet(stage)
        if (path / "_SUCCESS").exists():
            out = spark.read.parquet(str(path))
            self._note(stage, "resumed", started)
            return out
        if path.exists():  # a stage killed while writing: its partial output is void
            shutil.rmtree(path)
        compute().write.parquet(str(path))
        self._note(stage, "computed", started)
        return spark.read.parquet(str(path))

    def value(self, stage: str, compute: Callable[[], T]) -> T:
        """A small driver-side result (a model, a report): pickled, else computed."""
        started = time.monotonic()
        stage = self.scope + stage
        if self.root is None:
            result = compute()
            self._note(stage, "computed", started)
            return result
        path = self._pickle(stage)
        if path.exists():
            with path.open("rb") as fh:
                loaded: T = pickle.load(fh)  # noqa: S301 — written by `value` below
            self._note(stage, "resumed", started)
            return loaded
        result = compute()
        partial = path.with_suffix(".partial")
        with partial.open("wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(path)  # whole or absent: a kill mid-write leaves no half file
        self._note(stage, "computed", started)
        return result

    def done(self, stage: str) -> bool:
        """Whether `stage` finished in an earlier run in this directory (so `frame` or
        `value` will read it back)."""
        if self.root is None:
            return False
        stage = self.scope + stage
        return (self._parquet(stage) / "_SUCCESS").exists() or self._pickle(stage).exists()

    def _parquet(self, stage: str) -> Path:
        assert self.root is not None
        return self.root / f"{stage}.parquet"

    def _pickle(self, stage: str) -> Path:
        assert self.root is not None
        return self.root / f"{stage}.pickle"

    def _note(self, stage: str, how: str, started: float) -> None:
        seconds = time.monotonic() - started
        self.log.append((stage, how, seconds))
        if self.root is not None:
            with (self.root / "stages.log").open("a", encoding="utf-8") as fh:
                fh.write(f"{stage}\t{how}\t{seconds:.2f}\n")

    def stages(self) -> list[tuple[str, str]]:
        """The stages of every run in this directory, in order: (stage, computed|resumed)."""
        if self.root is None:
            return [(s, h) for s, h, _ in self.log]
        return stage_log(self.root)

    def times(self) -> dict[str, Any]:
        """Seconds per stage of this run."""
        return {stage: round(seconds, 2) for stage, _, seconds in self.log}
