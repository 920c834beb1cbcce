"""The Spark backend gives the embedded backend's answer: same pairs, levels, clusters, ids."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

from identity.backends import Backend
from identity.backends.local import LocalBackend
from identity.backends.spark import SparkBackend
from identity.model import Blocking, ModelSpec
from identity.resolve import History, Resolution, run
from tests.identity.backends.spark.helpers import (
    clusters,
    crm_records,
    febrl3_records,
    febrl4_records,
    pairwise_f1,
)

DATASETS: dict[str, Callable[[], tuple[dict[str, Any], ...]]] = {
    "crm": crm_records,
    "febrl3": febrl3_records,
    "febrl4": febrl4_records,
}


def test_the_spark_backend_satisfies_the_protocol(spark: SparkSession) -> None:
    assert isinstance(SparkBackend(spark), Backend)


def assert_same_answer(local: Resolution, spark: Resolution) -> None:
    assert spark.stats == local.stats
    assert spark.blocking.pairs_per_rule == local.blocking.pairs_per_rule
    # Spark hands clustering the pairs at or above the lower threshold, those below it that
    # speak against a cluster holding both records, and the pairs clusters added: each
    # with the embedded backend's levels and weights
    n = len(local.keys)
    mine = pd.Index(local.scored.left * n + local.scored.right)
    at = mine.get_indexer(spark.scored.left * n + spark.scored.right)
    assert (at >= 0).all()
    assert np.array_equal(spark.scored.levels, local.scored.levels[at])
    np.testing.assert_allclose(spark.scored.weights, local.scored.weights[at], atol=1e-5)
    np.testing.assert_allclose(spark.scored.probability, local.scored.probability[at])
    strong = np.flatnonzero(local.scored.probability >= 0.70)
    assert np.isin(strong, at).all()
    assert spark.review_pairs() == local.review_pairs()
    assert pairwise_f1(local.crosswalk, spark.crosswalk) >= 0.999
    # golden ids identical where the clusters are identical
    mine, theirs = clusters(local.crosswalk), clusters(spark.crosswalk)
    shared = {members for members in mine.values()} & {m for m in theirs.values()}
    assert len(shared) >= 0.999 * len(mine)
    for gid, members in mine.items():
        if members in shared:
            assert all(spark.crosswalk[k] == gid for k in members)


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_the_crosswalk_equals_the_embedded_backends(spark: SparkSession, dataset: str) -> None:
    records = list(DATASETS[dataset]())
    local = run(records, ModelSpec())
    on_spark = run(records, ModelSpec(), backend=SparkBackend(spark))
    assert local.stats["merged_records"] > 50  # the data hold duplicates to find
    assert_same_answer(local, on_spark)


def test_steward_must_and_cannot_links_are_honoured(spark: SparkSession) -> None:
    records = list(crm_records())
    plain = run(records, ModelSpec())
    keys = plain.keys
    by_gid: dict[str, list[tuple[str, str]]] = {}
    for key in keys:
        by_gid.setdefault(plain.crosswalk[key], []).append(key)
    merged = next(members for members in by_gid.values() if len(members) == 2)
    singles = [members[0] for members in by_gid.values() if len(members) == 1]
    history = History(must_link=[(singles[0], singles[1])], cannot_link=[tuple(merged)])  # type: ignore[list-item]
    local = run(records, ModelSpec(), history=history)
    on_spark = run(records, ModelSpec(), history=history, backend=SparkBackend(spark))
    assert on_spark.crosswalk[singles[0]] == on_spark.crosswalk[singles[1]]
    assert on_spark.crosswalk[merged[0]] != on_spark.crosswalk[merged[1]]
    assert on_spark.crosswalk == local.crosswalk


def test_salted_blocking_gives_the_local_pairs_and_skips_oversized_blocks(
    spark: SparkSession, caplog: pytest.LogCaptureFixture
) -> None:
    records = list(crm_records())
    spec = ModelSpec(blocking=Blocking(max_block=2))  # blocks of 3+ records now too large
    local = LocalBackend()
    table = local.standardise(records, spec)
    expected = local.block(table, spec)
    backend = SparkBackend(spark, salt_size=1)  # every block salted: a salt per record
    with caplog.at_level(logging.WARNING, logger="identity.backends.spark.block"):
        found = backend.block(backend.standardise(records, spec), spec)
    assert np.array_equal(found.left, expected.left)
    assert np.array_equal(found.right, expected.right)
    assert found.report.pairs_per_rule == expected.report.pairs_per_rule
    assert sorted(found.report.oversized) == sorted(expected.report.oversized)
    assert expected.report.oversized  # the case is exercised
    assert any("skipped as too large" in r.getMessage() for r in caplog.records)


def test_the_e_mail_spells_a_name_rules_pair_mailboxes_with_names_only(
    spark: SparkSession,
) -> None:
    """An `across` rule on Spark: the mailboxes spelling a name meet every record of that
    name, two records of the name never meet through it, nor two mailboxes; as locally."""
    named = [{"given_name": "Sean", "family_name": "Pratt"} for _ in range(4)]
    mailboxes = [{"email": f"sean.pratt{k}@example{k}.com"} for k in range(3)]
    records = [
        {"source": "s", "source_id": str(i), **r}
        for i, r in enumerate([*named, *mailboxes, *named[:1]])  # the last: another S. Pratt
    ]
    spec = ModelSpec(
        blocking=Blocking(rules=tuple(r for r in ModelSpec().blocking.rules if r.across))
    )
    local = LocalBackend()
    expected = local.block(local.standardise(records, spec), spec)
    backend = SparkBackend(spark, salt_size=2)  # the block salted over two tasks
    found = backend.block(backend.standardise(records, spec), spec)
    assert np.array_equal(found.left, expected.left)
    assert np.array_equal(found.right, expected.right)
    assert found.report.pairs_per_rule == expected.report.pairs_per_rule
    pairs = set(zip(expected.left.tolist(), expected.right.tolist(), strict=True))
    assert pairs == {(n, m) for n in (0, 1, 2, 3, 7) for m in (4, 5, 6) if n < m} | {
        (m, 7) for m in (4, 5, 6)
    }
