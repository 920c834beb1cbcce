"""Block on Spark: every rule's keys in one pass, one shuffle, one self-join.

As locally (`identity.blocking.candidate_pairs`): a rule keys on `kind` and its columns,
records missing any of them take no part, blocks above `max_block` records are left out
with a warning, and a rule that would give more than `max_pairs_per_rule` pairs is left
out whole.

How: one `explode` gives each record's (rule, key) for every rule it has the columns of —
the key a 64-bit hash of the rule and its values (`xxhash64`), so the shuffle moves 20
bytes a record and rule, not the values. One shuffle by (rule, key) counts each block
(a window), persisted; the per-rule summary the driver needs (pairs, oversized blocks) is
read from it, and the self-join on (rule, key) runs on the same partitioning with no
further shuffle, oversized and single blocks dropped before it. Pairs found by several
rules are made unique once, as one encoded number (`l * n + r`).

A rule with `across` (a column of True/False) pairs only the records of a block on
different sides, as locally: the side rides along with each member, the self-join keeps the
pairs whose sides differ, and the rule's pairs are counted per member as the block's
records on the other side.

Salting (`salt_size`): a block larger than `salt_size` records is split over
⌈size / salt_size⌉ salts — the left side takes one (its record number modulo the salts),
the right side is copied to each — so one block's pairs spread over several tasks. With
`max_block` at its default (200, ~20,000 pairs a block) no block is large enough to need
it, and Spark's adaptive skew-join handling covers the rest, so it is off unless asked for
(`salt_size` > 0 and below `max_block`): it costs a second shuffle of the members.

A collision of two blocks' 64-bit keys within one rule (~n²/2⁶⁵: 3·10⁻⁸ at a million keys)
would join them; its pairs would be compared and scored like any other candidate pair.
"""

from __future__ import annotations

import logging
import operator
from functools import reduce

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from identity.backends.spark.standardise import ROW
from identity.blocking import BlockingReport, BlockingRule

__all__ = ["block_members", "candidate_pairs"]

log = logging.getLogger(__name__)


def _across(rule: BlockingRule) -> str | None:
    """The column of True/False whose two sides a rule pairs across, if any."""
    across: str | None = getattr(rule, "across", None)
    return across


def block_members(records: DataFrame, rules: tuple[BlockingRule, ...]) -> DataFrame:
    """(rule, key, side, rid): each record's block under each rule it has every column of;
    `rule` is the rule's position in `rules`, `key` a hash of the rule and the block's
    values, `side` the record's `across` value for a rule that pairs across one (else
    null). Rules naming a column the table lacks are skipped. One pass over the records."""
    available = set(records.columns)
    entries: list[Column] = []
    for number, rule in enumerate(rules):
        across = _across(rule)
        columns = ("kind", *rule.columns, *((across,) if across else ()))
        if any(c not in available for c in columns):
            continue
        cols = [F.col(f"`{c}`") for c in columns]
        present = reduce(operator.and_, (c.isNotNull() for c in cols))
        values = cols[:-1] if across else cols
        key = F.struct(
            F.lit(number).alias("rule"),
            F.xxhash64(F.lit(number), *values).alias("key"),
            (cols[-1] if across else F.lit(None).cast("string")).alias("side"),
        )
        entries.append(F.when(present, key))
    if not entries:
        schema = f"rule int, key long, side string, {ROW} long"
        return records.sparkSession.createDataFrame([], schema)
    kept = F.filter(F.array(*entries), lambda entry: entry.isNotNull())
    return records.select(ROW, F.explode(kept).alias("m")).select(
        F.col("m.rule").alias("rule"), F.col("m.key").alias("key"), F.col("m.side"), ROW
    )


def candidate_pairs(
    records: DataFrame,
    rules: tuple[BlockingRule, ...],
    *,
    n: int,
    max_block: int,
    salt_size: int = 0,
    max_pairs_per_rule: int = 50_000_000,
) -> tuple[DataFrame, BlockingReport, DataFrame]:
    """The union of the rules' pairs as a DataFrame of one column, `pair` = l * n + r with
    l < r (each pair once), the report, and the persisted block members it was read from
    (unpersist them once the pairs are written)."""
    report = BlockingReport()
    block = Window.partitionBy("rule", "key")
    side = Window.partitionBy("rule", "key", "side")  # the same partitioning: no shuffle
    sized = (
        block_members(records, rules)
        .withColumn("size", F.count(F.lit(1)).over(block))
        .withColumn("same", F.count(F.lit(1)).over(side))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    fits = (F.col("size") >= 2) & (F.col("size") <= max_block)
    too_big = F.col("size") > max_block
    # per member: its ordered pairs in the block (s - 1; across sides, the other side's)
    partners = F.when(F.col("side").isNull(), F.col("size") - 1).otherwise(
        F.col("size") - F.col("same")
    )
    summary = {
        int(row["rule"]): row
        for row in sized.groupBy("rule")
        .agg(
            F.sum(F.when(fits, partners)).alias("ordered"),
            F.sum(F.when(too_big, 1.0 / F.col("size"))).alias("big_blocks"),
            F.sum(F.when(too_big, 1)).alias("big_records"),
        )
        .collect()
    }
    taken: list[int] = []
    for number, rule in enumerate(rules):
        if number not in summary:  # a column the table lacks, or nobody has them all
            across = _across(rule)
            needed = (*rule.columns, *([across] if across else []))
            if all(c in records.columns for c in needed):
                report.pairs_per_rule[rule.name] = 0
            continue
        row = summary[number]
        estimate = int(row["ordered"] or 0) // 2
        if report.skip_oversized_rule(rule.name, estimate, max_pairs_per_rule):
            continue
        report.pairs_per_rule[rule.name] = estimate
        if row["big_records"]:
            blocks = round(float(row["big_blocks"]))
            report.oversized.append((rule.name, blocks, int(row["big_records"])))
        taken.append(number)
    for message in report.warnings():
        log.warning(message)
    inside = sized.where(fits & F.col("rule").isin(taken))  # oversized and single blocks out
    if 0 < salt_size < max_block:
        salts = F.greatest(F.lit(1), F.ceil(F.col("size") / F.lit(salt_size)))
        left = inside.select(
            "rule",
            "key",
            F.col("side").alias("ls"),
            F.col(ROW).alias("l"),
            F.pmod(F.col(ROW), salts).alias("salt"),
        )
        right = inside.select(
            "rule",
            "key",
            F.col("side").alias("rs"),
            F.col(ROW).alias("r"),
            F.explode(F.sequence(F.lit(0), salts - 1)).alias("salt"),
        )
        joined = left.join(right, ["rule", "key", "salt"])
    else:  # both sides keep the window's partitioning by (rule, key): no shuffle
        left = inside.select("rule", "key", F.col("side").alias("ls"), F.col(ROW).alias("l"))
        right = inside.select("rule", "key", F.col("side").alias("rs"), F.col(ROW).alias("r"))
        joined = left.join(right, ["rule", "key"])
    across_sides = F.col("ls").isNull() | (F.col("ls") != F.col("rs"))
    pairs = joined.where((F.col("l") < F.col("r")) & across_sides).select(
        (F.col("l") * F.lit(max(n, 1)) + F.col("r")).alias("pair")
    )
    return pairs.distinct(), report, sized
