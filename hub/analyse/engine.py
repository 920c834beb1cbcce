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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hub.core.errors import HubError
from schemas.config import HubConfig, resolve_env

if TYPE_CHECKING:
    from analytics.backends.spark import SparkBackend

__all__ = ["ENGINES", "STORE_RUN", "Engine", "choose_engine"]

ENGINES = ("local", "spark")
STORE_RUN = "store-analyse"  # the store analysis's input files, under the run directory


@dataclass(frozen=True, kw_only=True)
class Engine:
    """The engine of a store analysis: `local`, or `spark` on `master` with its input files
    under `run_dir` and extra Spark settings `conf`."""

    name: str = "local"
    master: str = "local[2]"
    run_dir: Path = Path(".crmhub/spark")
    conf: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"Spark, {self.master}" if self.name == "spark" else "in process"

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
    settings = config.analytics
    name = engine if engine is not None else settings.engine
    if name not in ENGINES:
        raise HubError(f"--engine {name}: unknown engine — use one of {', '.join(ENGINES)}")
    if name == "local":
        if spark_master is not None:
            raise HubError(
                "--spark-master is an option of --engine spark "
                f"(hub.yaml's analytics.engine is {settings.engine})"
            )
        return Engine()
    where = "analytics.spark"
    master = str(resolve_env(spark_master or settings.spark.master, f"{where}.master"))
    conf = resolve_env(dict(settings.spark.conf), f"{where}.conf")
    folder = settings.spark.run_dir  # relative to hub.yaml's folder
    return Engine(
        name="spark",
        master=master,
        run_dir=folder if folder.is_absolute() else Path(config.base_dir) / folder,
        conf=conf,
    )
