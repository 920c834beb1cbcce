"""The Spark tests of the analytics engine run on the identity tests' one session
(local[2], one JVM per pytest process): the fixture is that one, not a second."""

from __future__ import annotations

from tests.identity.backends.spark.conftest import spark

__all__ = ["spark"]
