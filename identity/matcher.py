"""Incremental matching: one new record against existing records in milliseconds.

`Matcher` indexes a resolved population by every blocking rule's key, so matching a new
or changed record touches only the records it shares a key with, never the whole set.
`match(record)` returns the golden records it may belong to, ranked, each with the match
probability and the per-field weights that explain it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from identity.blocking import DEFAULT_RULES, BlockingRule, derived_keys
from identity.score import Model, score
from identity.standardise import standardise

__all__ = ["Candidate", "Matcher"]


@dataclass(frozen=True)
class Candidate:
    """A golden record a new record may belong to, with why."""

    golden_id: str
    probability: float
    best_member: tuple[str, str]
    weights: dict[str, float]


def _columns(rule: BlockingRule) -> tuple[str, ...]:
    """A rule's key columns, its `across` column last."""
    return rule.columns if rule.across is None else (*rule.columns, rule.across)


class Matcher:
    """An index of standardised records by blocking key, plus the model to score with."""

    def __init__(
        self,
        frame: pd.DataFrame,
        golden_ids: Sequence[str],
        model: Model,
        *,
        rules: tuple[BlockingRule, ...] = DEFAULT_RULES,
        max_block: int = 200,
    ) -> None:
        self.frame = frame.reset_index(drop=True)
        self.golden_ids = np.asarray(golden_ids, dtype=object)
        self.model = model
        self.rules = tuple(r for r in rules if all(c in frame.columns for c in _columns(r)))
        self.index: list[dict[Any, np.ndarray]] = []
        for rule in self.rules:
            # an `across` rule's records are indexed by their side too, its blocks (both
            # sides) held to max_block as a whole: a query meets the other side only
            columns = ["kind", *_columns(rule)]
            sub = self.frame[columns].dropna()
            groups = sub.groupby(columns, sort=False).indices if len(sub) else {}
            size: dict[Any, int] = {}
            if rule.across is not None:
                for key, rows in groups.items():
                    size[key[:-1]] = size.get(key[:-1], 0) + len(rows)
            self.index.append(
                {
                    key: sub.index.to_numpy()[rows]
                    for key, rows in groups.items()
                    if (size[key[:-1]] if rule.across is not None else len(rows)) <= max_block
                }
            )

    def candidates(self, row: Mapping[str, Any]) -> np.ndarray:
        """Indexes of the records sharing at least one blocking key with `row`."""
        found: list[np.ndarray] = []
        for rule, index in zip(self.rules, self.index, strict=True):
            values = [row["kind"], *(row[c] for c in _columns(rule))]
            if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in values):
                continue
            if rule.across is not None:
                values[-1] = not values[-1]  # the records on the other side
            hit = index.get(tuple(values))
            if hit is not None:
                found.append(hit)
        return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)

    def match(self, record: Mapping[str, Any], *, limit: int = 10) -> list[Candidate]:
        """Golden records `record` may belong to, most likely first."""
        row = derived_keys(standardise([record]).iloc[0].to_dict())
        rows = self.candidates(row)
        if rows.size == 0:
            return []
        new = pd.DataFrame([row], columns=self.frame.columns)
        local = pd.concat([self.frame.iloc[rows], new], ignore_index=True)
        k = rows.size
        left = np.full(k, k, dtype=np.int64)
        right = np.arange(k, dtype=np.int64)
        scored = score(self.model, local, right, left)
        names = [c.name for c in self.model.comparisons]
        best: dict[str, Candidate] = {}
        for j in np.argsort(-scored.probability, kind="stable"):
            gid = str(self.golden_ids[rows[j]])
            if gid in best:
                continue
            member = (
                str(self.frame.at[rows[j], "source"]),
                str(self.frame.at[rows[j], "source_id"]),
            )
            weights = {
                n: round(float(w), 2)
                for n, w, lv in zip(names, scored.weights[j], scored.levels[j], strict=True)
                if lv >= 0
            }
            best[gid] = Candidate(gid, float(scored.probability[j]), member, weights)
            if len(best) >= limit:
                break
        return list(best.values())
