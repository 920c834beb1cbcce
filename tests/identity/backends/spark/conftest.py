"""The Spark session (local[2], one JVM a process) every Spark test works in: start-up stays
out of the tests' hot loop. Few shuffle partitions: the test data are small."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from identity.backends.spark import spark_session

_CONF = {"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"}


@pytest.fixture
def spark() -> SparkSession:
    """The process's session, asked for again by each test: an engine run in process (the
    `analyse` CLI, a hub module's own fixture) stops the session it finds when it is done,
    and a later test then starts a new one instead of holding the stopped one (which test
    runs after which depends on how pytest-xdist spreads the files)."""
    return spark_session("local[2]", app_name="crm-hub tests", conf=_CONF)
