"""Fixtures of the store-resolve tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """One Spark JVM (local[2], two shuffle partitions for small data) per test module;
    the engine's own `getOrCreate` finds it."""
    from identity.backends.spark import spark_session

    session = spark_session(
        "local[2]",
        app_name="crm-hub tests",
        conf={"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"},
    )
    yield session
    session.stop()
