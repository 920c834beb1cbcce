"""One Spark session (local[2], one JVM) for every Spark test: start-up stays out of the
tests' hot loop. Few shuffle partitions: the test data are small."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from identity.backends.spark import spark_session


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = spark_session(
        "local[2]",
        app_name="crm-hub tests",
        conf={"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"},
    )
    yield session
    session.stop()
