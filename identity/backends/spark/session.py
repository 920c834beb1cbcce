"""The Spark session the backend runs on: loopback only, quiet logs, Arrow batches.

`local[2]` in tests and on one machine; a `spark://host:7077` standalone master or any
`spark-submit` target in production (there `spark.driver.host` must be an address the
executors can reach: pass it in `conf`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import cast

import pandas as pd
from pyspark.sql import DataFrame, SparkSession

__all__ = ["DEFAULTS", "spark_session", "to_pandas"]

# Everything a run on one machine needs and nothing that opens a port beyond loopback.
DEFAULTS: dict[str, str] = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    # one pandas batch is compared at once: large enough to amortise the call, small
    # enough that a batch of pairs and its records stay a few MB
    "spark.sql.execution.arrow.maxRecordsPerBatch": "20000",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.driver.memory": "2g",
    "spark.python.worker.reuse": "true",
}


def spark_session(
    master: str = "local[2]",
    *,
    app_name: str = "crm-hub identity",
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """The session for `master` (an existing one is reused: one JVM per process)."""
    builder = SparkSession.builder.master(master).appName(app_name)
    # the Python workers run this interpreter (its pandas, pyarrow and identity package)
    # unless `conf` names the executors' own (`spark.pyspark.python`)
    settings = {**DEFAULTS, "spark.pyspark.python": sys.executable, **(conf or {})}
    os.environ.setdefault("PYSPARK_PYTHON", settings["spark.pyspark.python"])
    os.environ.setdefault("SPARK_LOCAL_IP", settings["spark.driver.bindAddress"])
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def to_pandas(frame: DataFrame) -> pd.DataFrame:
    """`frame` on the driver as pandas (through Arrow)."""
    return cast(pd.DataFrame, frame.toPandas())
