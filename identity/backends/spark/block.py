"""Block on Spark: all rules' blocks in one table, their pairs from one salted self-join.

As locally (`identity.blocking.candidate_pairs`): a rule keys on `kind` and its columns,
records missing any of them take no part, blocks above `max_block` records are left out
with a warning, and a rule that would give more than `max_pairs_per_rule` pairs is left
out whole. Block sizes are counted first (one aggregation for every rule; only a row per
rule reaches the driver), so no oversized block is ever joined. Large blocks are salted:
the left side of the self-join takes one of `s` salts (its record number modulo `s`), the
right side is copied to every salt, so one block's pairs spread over `s` tasks and each
pair is still made exactly once.
"""

from __future__ import annotations

import logging
import operator
from functools import reduce

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from identity.backends.spark.standardise import ROW
from identity.blocking import BlockingReport, BlockingRule

__all__ = ["block_members", "candidate_pairs"]

log = logging.getLogger(__name__)


def block_members(records: DataFrame, rules: tuple[BlockingRule, ...]) -> DataFrame:
    """(rule, key, rid): each record's block under each rule it has every column of; `rule`
    is the rule's position in `rules`. Rules naming a column the table lacks are skipped."""
    available = set(records.columns)
    parts = []
    for number, rule in enumerate(rules):
        columns = ("kind", *rule.columns)
        if any(c not in available for c in columns):
            continue
        cols = [F.col(f"`{c}`") for c in columns]
        present = reduce(operator.and_, (c.isNotNull() for c in cols))
        # one string key per block: the values joined by a unit separator (no value holds it)
        parts.append(
            records.where(present).select(
                F.lit(number).alias("rule"), F.concat_ws("\u001f", *cols).alias("key"), ROW
            )
        )
    if not parts:
        return records.sparkSession.createDataFrame([], f"rule int, key string, {ROW} long")
    return reduce(DataFrame.unionAll, parts)


def candidate_pairs(
    records: DataFrame,
    rules: tuple[BlockingRule, ...],
    *,
    max_block: int,
    salt_size: int = 50,
    max_pairs_per_rule: int = 50_000_000,
) -> tuple[DataFrame, BlockingReport]:
    """The union of the rules' pairs as a DataFrame (l, r) with l < r, and the report."""
    report = BlockingReport()
    members = block_members(records, rules)
    sizes = members.groupBy("rule", "key").agg(F.count(F.lit(1)).alias("size"))
    fits = (F.col("size") >= 2) & (F.col("size") <= max_block)
    too_big = F.col("size") > max_block
    summary = {
        int(row["rule"]): row
        for row in sizes.groupBy("rule")
        .agg(
            F.sum(F.when(fits, F.col("size") * (F.col("size") - 1) / 2)).alias("pairs"),
            F.sum(F.when(too_big, 1)).alias("big_blocks"),
            F.sum(F.when(too_big, F.col("size"))).alias("big_records"),
        )
        .collect()
    }
    taken: list[int] = []
    for number, rule in enumerate(rules):
        if number not in summary:  # a column the table lacks, or nobody has them all
            if all(c in records.columns for c in rule.columns):
                report.pairs_per_rule[rule.name] = 0
            continue
        row = summary[number]
        estimate = int(row["pairs"] or 0)
        if report.skip_oversized_rule(rule.name, estimate, max_pairs_per_rule):
            continue
        report.pairs_per_rule[rule.name] = estimate
        if row["big_blocks"]:
            report.oversized.append((rule.name, int(row["big_blocks"]), int(row["big_records"])))
        taken.append(number)
    for message in report.warnings():
        log.warning(message)
    kept = sizes.where(fits & F.col("rule").isin(taken)).select(
        "rule",
        "key",
        F.greatest(F.lit(1), F.ceil(F.col("size") / F.lit(salt_size))).alias("salts"),
    )
    inside = members.join(kept, ["rule", "key"])  # oversized and single blocks drop out
    left = inside.select(
        "rule", "key", F.col(ROW).alias("l"), F.pmod(F.col(ROW), F.col("salts")).alias("salt")
    )
    right = inside.select(
        "rule",
        "key",
        F.col(ROW).alias("r"),
        F.explode(F.sequence(F.lit(0), F.col("salts") - 1)).alias("salt"),
    )
    pairs = left.join(right, ["rule", "key", "salt"]).where(F.col("l") < F.col("r"))
    return pairs.select("l", "r").distinct(), report
