"""What runs a store resolve's full run: the identity engine in process, or on Apache Spark.

hub.yaml's `identity.engine` (`local` | `spark`) and `identity.spark` (master, run
directory, extra Spark settings) choose it; `crmhub resolve --engine/--spark-master/--run-dir`
override them for one run. Only full runs move: an incremental run re-scores a few blocks
with the stored model and always runs in process.

On Spark the records still come from the store through the driver (as for a local run)
and reach Spark as Parquet; the stages checkpoint under `<run_dir>/store-resolve`, so a
run that failed resumes after its last finished stage when it is run again on the same
records, decisions and previous crosswalk. Checkpoints of other data are cleared before a
run, and the run's own once its results are in the store (`stages.log` stays).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from hub.core.engines import ENGINES, EngineChoice, chosen_engine
from hub.core.errors import HubError
from identity.backends import Backend
from identity.model import ModelSpec
from identity.model_io import fingerprint
from identity.resolve import History, Resolution, run
from schemas.config import HubConfig

if TYPE_CHECKING:
    from identity.backends.spark import SparkBackend

__all__ = ["ENGINES", "STORE_RUN", "Engine", "choose_engine", "no_pyspark"]

STORE_RUN = "store-resolve"  # the store resolve's checkpoints, under the run directory
_MARK = "store-run.json"  # what those checkpoints are of


@dataclass(frozen=True, kw_only=True)
class Engine(EngineChoice):
    """The engine of a full run: `local`, or `spark` on `master` with stage checkpoints
    under `run_dir` and extra Spark settings `conf`."""

    @property
    def checkpoints(self) -> Path:
        return self.run_dir / STORE_RUN

    def run(
        self,
        records: Sequence[Mapping[str, Any]],
        spec: ModelSpec,
        history: History,
        progress: Callable[[str], None] | None = None,
    ) -> Resolution:
        """`identity.resolve.run` of `spec` over `records` on this engine."""
        if self.name == "local":
            return run(records, spec, history=history, progress=progress)
        backend, stale = self._spark_backend(records, spec, history)
        try:
            return run(records, spec, history=history, backend=backend, progress=progress)
        except stale:  # checkpoints of other records that the mark did not tell apart
            self.clear_checkpoints()
            backend, _ = self._spark_backend(records, spec, history)
            return run(records, spec, history=history, backend=backend, progress=progress)

    def finished(self) -> None:
        """The run's results are in the store: its checkpoints are of no further use."""
        if self.name == "spark":
            self.clear_checkpoints()

    def _spark_backend(
        self, records: Sequence[Mapping[str, Any]], spec: ModelSpec, history: History
    ) -> tuple[Backend, type[Exception]]:
        # the key index is built from the frame: always collected
        return self.spark_backend(_mark(records, spec, history), driver_records=len(records))

    def spark_backend(
        self, mark: str, *, driver_records: int
    ) -> tuple[SparkBackend, type[Exception]]:
        """A Spark backend checkpointing under `checkpoints`, which are cleared first when
        they are of other inputs than `mark` names; and the error a run raises on
        checkpoints the mark did not tell apart."""
        try:
            from identity.backends.spark import SparkBackend, StaleRunError
        except ImportError as exc:  # the extra is not installed
            raise no_pyspark(exc) from exc
        path = self.checkpoints / _MARK
        if not path.exists() or path.read_text(encoding="utf-8") != mark:
            self.clear_checkpoints()
            self.checkpoints.mkdir(parents=True, exist_ok=True)
            path.write_text(mark, encoding="utf-8")
        backend = SparkBackend(
            master=self.master,
            run_dir=self.checkpoints,
            conf=self.conf,
            driver_records=driver_records,
        )
        return backend, StaleRunError

    def clear_checkpoints(self) -> None:
        """Everything under the checkpoint folder but its `stages.log`."""
        if not self.checkpoints.is_dir():
            return
        for entry in self.checkpoints.iterdir():
            if entry.name == "stages.log":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def no_pyspark(exc: ImportError) -> HubError:
    """The error of a Spark run without the `spark` extra, saying what to do."""
    return HubError(
        f"identity engine spark needs pyspark ({exc}) — pip install 'crm-hub[spark]' "
        "(and a Java 17 runtime), or run with --engine local"
    )


def choose_engine(
    config: HubConfig,
    *,
    engine: str | None = None,
    spark_master: str | None = None,
    run_dir: Path | None = None,
) -> Engine:
    """The engine hub.yaml names, with the command line's choices for one run over it."""
    return chosen_engine(
        Engine,
        config,
        section="identity",
        configured=config.identity.engine,
        spark=config.identity.spark,
        engine=engine,
        spark_master=spark_master,
        run_dir=run_dir,
    )


def _mark(records: Sequence[Mapping[str, Any]], spec: ModelSpec, history: History) -> str:
    """A digest of what a full run's checkpoints depend on: the records, the model, the
    stewards' decisions and the previous crosswalk (the clustering honours both)."""
    digest = hashlib.sha256(fingerprint(spec).encode())
    for record in records:
        digest.update(orjson.dumps(record, default=str, option=orjson.OPT_SORT_KEYS))
        digest.update(b"\n")
    for part in (history.must_link, history.cannot_link):
        digest.update(orjson.dumps(sorted(part)))
    previous = sorted((history.previous or {}).items())
    digest.update(orjson.dumps(previous))
    return digest.hexdigest()
