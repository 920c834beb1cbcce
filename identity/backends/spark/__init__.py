"""The identity engine on Apache Spark: the same `ModelSpec`, executed by `pyspark`.

`SparkBackend` implements `identity.backends.Backend`; pass it to `identity.resolve.run`
(or `crmhub resolve --engine spark`); `SparkRecords.read` reads the batch contract's JSON
Lines or Parquet with Spark, so the driver never holds the records as a list. Needs the
`spark` extra (`pip install 'crm-hub[spark]'`) and a Java 17 runtime.
"""

from __future__ import annotations

from identity.backends.spark.backend import SparkBackend, SparkTable
from identity.backends.spark.checkpoint import Checkpoints, StaleRunError
from identity.backends.spark.components import component_labels
from identity.backends.spark.records import SparkRecords
from identity.backends.spark.session import spark_session

__all__ = [
    "Checkpoints",
    "SparkBackend",
    "SparkRecords",
    "SparkTable",
    "StaleRunError",
    "component_labels",
    "spark_session",
]
