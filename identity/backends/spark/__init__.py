"""The identity engine on Apache Spark: the same `ModelSpec`, executed by `pyspark`.

`SparkBackend` implements `identity.backends.Backend`; pass it to `identity.resolve.run`
(or `crmhub resolve --engine spark`); `SparkRecords.read` reads the batch contract's JSON
Lines or Parquet with Spark, so the driver never holds the records as a list, and
`run_on_spark` runs the model on them with clusters, stable ids, golden records and review
pairs as DataFrames, so it holds no per-record structure either. Needs the
`spark` extra (`pip install 'crm-hub[spark]'`) and a Java 17 runtime.
"""

from __future__ import annotations

from identity.backends.spark.backend import SparkBackend, SparkTable
from identity.backends.spark.checkpoint import Checkpoints, StaleRunError
from identity.backends.spark.components import component_labels
from identity.backends.spark.native import NativeResolution, SparkHistory, run_on_spark
from identity.backends.spark.records import SparkRecords
from identity.backends.spark.session import spark_session

__all__ = [
    "Checkpoints",
    "NativeResolution",
    "SparkBackend",
    "SparkHistory",
    "SparkRecords",
    "SparkTable",
    "StaleRunError",
    "component_labels",
    "run_on_spark",
    "spark_session",
]
