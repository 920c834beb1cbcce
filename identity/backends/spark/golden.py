"""Survivorship on the executors: one golden record per golden id, built where its
members are.

`golden_frame` groups the records (as `SparkRecords` holds them: rid, json:<field>…) by
their golden id (`applyInPandas`) and calls `identity.survivorship.survive` unchanged on
each group — the same source priority, rules and steward overrides as the embedded run
(`identity.resolve._golden`). Each golden record leaves its task as one line of bytes,
made by `render(golden_id, golden_record)` (the batch contract's JSON line, by default a
JSON object of its values, provenance and members), so the driver never holds them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import orjson
import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from identity.backends.spark.standardise import ROW, _records
from identity.model import ModelSpec
from identity.survivorship import GoldenRecord, Override, survive

__all__ = ["Render", "golden_frame", "json_line", "lines_in_order"]

Render = Callable[[str, GoldenRecord], bytes]
"""A golden record as the line written for it."""


def json_line(golden_id: str, golden: GoldenRecord) -> bytes:
    """The golden record as one JSON object: id, values, per-field provenance, members."""
    doc = {
        "golden_id": golden_id,
        **golden.values,
        "provenance": {
            f: {"source": p.source, "source_id": p.source_id, "rule": p.rule}
            for f, p in golden.provenance.items()
        },
        "members": [list(m) for m in golden.members],
    }
    return orjson.dumps(doc, default=str)


def golden_frame(
    records: DataFrame,
    crosswalk: DataFrame,
    spec: ModelSpec,
    *,
    overrides: Mapping[str, Mapping[str, Override]] | None = None,
    render: Render = json_line,
) -> DataFrame:
    """(golden_id, line): per golden id of `crosswalk` (rid, golden_id) its golden record
    from the `records` (rid, json:<field>…) it holds, rendered."""
    rules = spec.survivorship
    priority = tuple(rules.source_priority)
    chains = dict(rules.rules) or None
    steward = {gid: dict(fields) for gid, fields in (overrides or {}).items()}
    joined = records.join(crosswalk.select(ROW, "golden_id"), ROW)
    names = [c for c in joined.columns if c != "golden_id"]

    def survived(group: pd.DataFrame) -> pd.DataFrame:
        gid = str(group["golden_id"].iloc[0])
        table = pa.Table.from_pandas(group[names].sort_values(ROW), preserve_index=False)
        members = [{k: v for k, v in r.items() if v is not None} for r in _records(table)]
        golden = survive(
            members, source_priority=priority, rules=chains, overrides=steward.get(gid)
        )
        return pd.DataFrame({"golden_id": [gid], "line": [render(gid, golden)]})

    return joined.groupBy("golden_id").applyInPandas(survived, "golden_id string, line binary")


def lines_in_order(frame: DataFrame) -> DataFrame:
    """The golden lines by golden id, as the batch contract writes them."""
    return frame.orderBy(F.col("golden_id"))
