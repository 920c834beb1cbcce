"""What runs a store analysis: the analytics engine in process, or on Apache Spark.

hub.yaml's `analytics.engine` (`local` | `spark`) and `analytics.spark` (master, run
directory, extra Spark settings: the same settings as `identity.spark`) choose it;
`crmhub analyse --engine/--spark-master` override them for one run.

On Spark the interactions still come from the store through the driver, but in batches:
each batch is written to `<run_dir>/store-analyse/interactions.parquet` (one row group per
batch) and let go, so the driver never holds them all as Python objects; Spark reads that
file (no JDBC driver on the cluster). The file is removed once the run is over.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hub.core.engines import ENGINES, EngineChoice, chosen_engine
from hub.core.errors import HubError
from schemas.config import HubConfig

if TYPE_CHECKING:
    from analytics.backends.spark import SparkBackend

__all__ = ["ENGINES", "STORE_RUN", "Engine", "choose_engine"]

STORE_RUN = "store-analyse"  # the store analysis's input files, under the run directory


@dataclass(frozen=True, kw_only=True)
class Engine(EngineChoice):
    """The engine of a store analysis: `local`, or `spark` on `master` with its input files
    under `run_dir` and extra Spark settings `conf`."""

    @property
    def folder(self) -> Path:
        """Where the driver writes the interactions for Spark to read."""
        return self.run_dir / STORE_RUN

    def backend(self) -> SparkBackend:
        """The analytics engine's Spark backend on this engine's master (one session per
        process: an existing one is reused)."""
        try:
            from analytics.backends.spark import SparkBackend
            from identity.backends.spark import spark_session
        except ImportError as exc:  # the extra is not installed
            raise HubError(
                f"analytics engine spark needs pyspark ({exc}) — pip install 'crm-hub[spark]' "
                "(and a Java 17 runtime), or run with --engine local"
            ) from exc
        spark = spark_session(self.master, app_name="crm-hub analytics", conf=self.conf)
        return SparkBackend(spark)

    def clear(self) -> None:
        """Remove the input files of a run (finished, or failed: a new run rewrites them)."""
        if self.folder.is_dir():
            shutil.rmtree(self.folder)


def choose_engine(
    config: HubConfig, *, engine: str | None = None, spark_master: str | None = None
) -> Engine:
    """The engine hub.yaml's `analytics.engine` names, with the command line's choices for
    one run over it."""
    return chosen_engine(
        Engine,
        config,
        section="analytics",
        configured=config.analytics.engine,
        spark=config.analytics.spark,
        engine=engine,
        spark_master=spark_master,
        options=("--spark-master",),
    )
