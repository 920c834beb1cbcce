"""The analytics engine on Apache Spark (the `spark` extra): `SparkBackend` runs the
row-level stages of `analytics.backends.Backend` on a Spark session; `analytics.analyse`
runs unchanged on it."""

from __future__ import annotations

from analytics.backends.spark.backend import SparkBackend, SparkPrepared
from analytics.backends.spark.rows import ROWS_PER_PARTITION, read_interactions

__all__ = ["ROWS_PER_PARTITION", "SparkBackend", "SparkPrepared", "read_interactions"]
