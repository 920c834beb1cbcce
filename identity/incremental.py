"""Incremental resolution: re-score and re-cluster only what changed records touch.

A full run leaves behind its fitted model (`identity.model_io`) and a `KeyIndex`: per record
(by an integer id the caller chooses) each blocking rule's key and each identifying value
(e-mail, phone, tax id) as a 64-bit hash — a few dozen bytes a record instead of the
standardised table. With them an incremental run

- finds the records a changed one may match (those sharing a key: `KeyIndex.neighbours`)
  without reading the others, and knows every block's size, so a block that grew past
  `max_block` is left out exactly as the full run would;
- blanks an identifying value held by more than `max_shared` records exactly as the full run
  does (`standardised_part`), from the index's value counts;
- re-clusters the affected records with the same clustering (`recluster`: the local
  backend's, with previous-group hysteresis and steward constraints).

Which records are affected, and reading and writing them, is the caller's (the hub's):
this module is pure, values in and values out.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from identity.backends import Clustered, Decisions, Standardised
from identity.backends.local import LocalBackend
from identity.blocking import BlockingRule, add_derived_keys, candidate_pairs
from identity.frame import IDENTIFYING
from identity.model import ModelSpec
from identity.score import Model, Scored, score
from identity.standardise import standardise

__all__ = [
    "KeyIndex",
    "blanked",
    "bridge_partners",
    "bridges_of",
    "bridges_replaced",
    "identifying_hashes",
    "key_hashes",
    "local_pairs",
    "recluster",
    "rescore",
    "standardised_part",
    "touching_pairs",
]

_PRIME = np.uint64(0x100000001B3)
# an `across` rule's key (`identity.blocking.BlockingRule.across`) has the top bit set and
# the record's side in bit 0: its block is the key without that bit, and only keys of one
# block on different sides make a pair. Other rules' keys have the top bit clear.
_ACROSS = np.uint64(1 << 63)
_SIDE = np.uint64(1)
_MAX_PAIRS_PER_RULE: int = (
    inspect.signature(candidate_pairs).parameters["max_pairs_per_rule"].default
)


def _column_hash(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per value a 64-bit hash of its text, and where the value is missing."""
    missing = values.isna().to_numpy()
    text = values.astype(object).where(~missing, "").astype(str).to_numpy(dtype=object)
    hashed = pd.util.hash_array(text, categorize=True).astype(np.uint64)
    return hashed, missing


def _block(keys: np.ndarray) -> np.ndarray:
    """The blocks of these keys: an `across` rule's key without its side bit."""
    block: np.ndarray = np.where((keys & _ACROSS) != 0, keys & ~_SIDE, keys)
    return block


def _same_side(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair of keys of one block whether an `across` rule leaves it out."""
    same: np.ndarray = ((a & _ACROSS) != 0) & (a == b)
    return same


def _across_pairs(keys: np.ndarray, max_block: int) -> tuple[np.ndarray, np.ndarray]:
    """An `across` rule's blocks (of these keys, 0 left out) and the pairs each gives."""
    keys = keys[keys != 0]
    blocks, inverse = np.unique(keys & ~_SIDE, return_inverse=True)
    ones = np.bincount(inverse, weights=(keys & _SIDE).astype(np.float64), minlength=blocks.size)
    total = np.bincount(inverse, minlength=blocks.size)
    pairs = np.where(total <= max_block, ones.astype(np.int64) * (total - ones.astype(np.int64)), 0)
    return blocks, pairs


def key_hashes(frame: pd.DataFrame, rules: Sequence[BlockingRule]) -> np.ndarray:
    """(records x rules) uint64: each rule's key (kind and its columns) hashed, 0 when a
    column is missing (the record is in none of that rule's blocks); an `across` rule's
    key carries the record's side (see `_ACROSS`)."""
    out = np.zeros((len(frame), len(rules)), dtype=np.uint64)
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for r, rule in enumerate(rules):
        needed = (*rule.columns, rule.across) if rule.across is not None else rule.columns
        if any(c not in frame.columns for c in needed):
            continue
        h = np.zeros(len(frame), dtype=np.uint64)
        gone = np.zeros(len(frame), dtype=bool)
        for column in ("kind", *rule.columns):
            if column not in cache:
                cache[column] = _column_hash(frame[column])
            hc, missing = cache[column]
            h = (h * _PRIME) ^ hc
            gone |= missing
        h &= ~_ACROSS
        h[h == 0] = 1
        if rule.across is not None:
            sides = frame[rule.across].to_numpy(dtype=object)  # True, False or missing
            gone |= pd.isna(sides)
            side = np.array([v is True or v == "True" for v in sides.tolist()], dtype=np.uint64)
            h = (h | _ACROSS) & ~_SIDE | side
        h[gone] = 0
        out[:, r] = h
    return out


def identifying_hashes(frame: pd.DataFrame) -> np.ndarray:
    """(records x identifying columns) uint64: each e-mail, phone and tax id hashed (0 when
    missing), taken *before* values shared by too many records are blanked."""
    out = np.zeros((len(frame), len(IDENTIFYING)), dtype=np.uint64)
    for k, column in enumerate(IDENTIFYING):
        h, missing = _column_hash(frame[column])
        h[h == 0] = 1
        h[missing] = 0
        out[:, k] = h
    return out


def _expand(order: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """order[lo[i]:hi[i]] for every i, concatenated."""
    lengths = hi - lo
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    starts = np.repeat(lo - np.cumsum(lengths) + lengths, lengths)
    picked: np.ndarray = order[starts + np.arange(total)]
    return picked


def _occurrences(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """How often each of `wanted` occurs in `values` (both small)."""
    ordered = np.sort(values)
    counts: np.ndarray = np.searchsorted(ordered, wanted, "right") - np.searchsorted(
        ordered, wanted, "left"
    )
    return counts


def _without(keys: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """`keys` with one occurrence of each of `removed` taken out (0s ignored)."""
    removed = removed[removed != 0]
    if removed.size == 0:
        return keys
    ordered = np.sort(keys)
    values, counts = np.unique(removed, return_counts=True)
    lo = np.searchsorted(ordered, values, "left")
    drop = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    kept: np.ndarray = np.delete(ordered, drop)
    return kept


def _pairs_in(count: np.ndarray, max_block: int) -> np.ndarray:
    """Pairs a block of `count` records gives (none above `max_block`)."""
    kept = (count >= 2) & (count <= max_block)
    pairs: np.ndarray = np.where(kept, count * (count - 1) // 2, 0)
    return pairs


class _Column:
    """One hash column sorted once: who holds a value, and how many, by binary search."""

    def __init__(self, values: np.ndarray) -> None:
        # every user takes the holders of a value as a set (np.unique after), so the order
        # among equal values does not matter: quicksort, ~4x a stable sort's speed here
        self.order = np.argsort(values)
        self.sorted = values[self.order]

    def ranges(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo = np.searchsorted(self.sorted, wanted, "left")
        hi = np.searchsorted(self.sorted, wanted, "right")
        hi[wanted == 0] = lo[wanted == 0]  # 0 is "missing": held by nobody
        return lo, hi

    def counts(self, wanted: np.ndarray) -> np.ndarray:
        lo, hi = self.ranges(wanted)
        counts: np.ndarray = hi - lo
        return counts

    def holders(self, wanted: np.ndarray) -> np.ndarray:
        """Row numbers of the records holding any of `wanted`."""
        lo, hi = self.ranges(np.unique(wanted))
        return _expand(self.order, lo, hi)

    def runs(self) -> tuple[np.ndarray, np.ndarray]:
        """The values held (0 left out) and how many records hold each."""
        values = self.sorted[self.sorted != 0]
        if values.size == 0:
            return values, np.zeros(0, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
        return values[starts], np.diff(np.r_[starts, values.size])


@dataclass
class KeyIndex:
    """Per record (`ids`, ascending) its blocking-key hashes and identifying-value hashes."""

    ids: np.ndarray  # int64, sorted
    keys: np.ndarray  # (n x rules) uint64
    ident: np.ndarray  # (n x identifying columns) uint64

    def __post_init__(self) -> None:
        self._keys: dict[int, _Column] = {}
        self._raw: dict[int, _Column] = {}  # an `across` rule's keys with their side
        self._ident: dict[int, _Column] = {}
        self._estimates: dict[int, np.ndarray] = {}
        self._across_rules: dict[int, bool] = {}

    @classmethod
    def build(cls, ids: np.ndarray, keys: np.ndarray, ident: np.ndarray) -> KeyIndex:
        order = np.argsort(ids, kind="stable")
        return cls(ids[order].astype(np.int64), keys[order], ident[order])

    def __len__(self) -> int:
        return int(self.ids.size)

    def key_column(self, r: int) -> _Column:
        """Rule `r`'s blocks (`_block` of its keys), sorted."""
        if r not in self._keys:
            self._keys[r] = _Column(_block(self.keys[:, r]))
        return self._keys[r]

    def _across(self, r: int) -> bool:
        if r not in self._across_rules:
            self._across_rules[r] = bool((self.keys[:, r] & _ACROSS).any())
        return self._across_rules[r]

    def ident_column(self, k: int) -> _Column:
        if k not in self._ident:
            self._ident[k] = _Column(self.ident[:, k])
        return self._ident[k]

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """Row numbers of the given ids; -1 where the index does not hold one."""
        ids = np.asarray(ids, dtype=np.int64)
        if self.ids.size == 0:
            return np.full(ids.size, -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.ids, ids), self.ids.size - 1)
        return np.where(self.ids[at] == ids, at, -1).astype(np.int64)

    def replaced(
        self, gone: np.ndarray, ids: np.ndarray, keys: np.ndarray, ident: np.ndarray
    ) -> KeyIndex:
        """A new index without `gone` and with (`ids`, `keys`, `ident`) set (added or
        overwritten)."""
        drop = np.isin(self.ids, np.concatenate([np.asarray(gone, np.int64), ids]))
        return KeyIndex.build(
            np.concatenate([self.ids[~drop], ids.astype(np.int64)]),
            np.concatenate([self.keys[~drop], keys.astype(np.uint64)]),
            np.concatenate([self.ident[~drop], ident.astype(np.uint64)]),
        )

    def with_keys(self, ids: np.ndarray, keys: np.ndarray) -> KeyIndex:
        """This index with the key rows of `ids` (all held) set to `keys`; the identifying
        values, and what was sorted of them, shared."""
        rows = self.rows(ids)
        assert (rows >= 0).all(), "with_keys sets the keys of indexed records only"
        all_keys = self.keys.copy()
        all_keys[rows] = keys
        out = KeyIndex(self.ids, all_keys, self.ident)
        out._ident = self._ident
        return out

    def block_sizes(self, keys: np.ndarray) -> np.ndarray:
        """(m x rules): how many indexed records hold each of these keys."""
        out = np.zeros(keys.shape, dtype=np.int64)
        for r in range(keys.shape[1]):
            out[:, r] = self.key_column(r).counts(_block(keys[:, r]))
        return out

    def pair_estimates(self, max_block: int) -> np.ndarray:
        """Per rule the pairs its blocks of at most `max_block` records give."""
        if max_block not in self._estimates:
            self._estimates[max_block] = self._pair_estimates(max_block)
        return self._estimates[max_block]

    def _pair_estimates(self, max_block: int) -> np.ndarray:
        return np.array(
            [
                int(_across_pairs(self.keys[:, r], max_block)[1].sum())
                if self._across(r)
                else int(_pairs_in(self.key_column(r).runs()[1], max_block).sum())
                for r in range(self.keys.shape[1])
            ],
            dtype=np.int64,
        )

    def rules_used(self, max_block: int) -> np.ndarray:
        """Per rule whether the full run would use it: one whose blocks (those within
        `max_block`) would give more pairs than blocking allows is skipped."""
        used: np.ndarray = self.pair_estimates(max_block) <= _MAX_PAIRS_PER_RULE
        return used

    def shared(self, max_shared: int) -> list[np.ndarray]:
        """Per identifying column the values held by more than `max_shared` records: they
        identify nobody and are blanked."""
        out = []
        for k in range(self.ident.shape[1]):
            values, counts = self.ident_column(k).runs()
            out.append(values[counts > max_shared])
        return out

    def value_counts(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per identifying column its values and how many records hold each."""
        return [self.ident_column(k).runs() for k in range(self.ident.shape[1])]

    def crossed(
        self, column: _Column, before: np.ndarray, after: np.ndarray, limit: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Of the values in `before` (rows that left this index's predecessor) and
        `after` (rows that came), those whose holder count crossed `limit`; with their
        counts before and now."""
        touched = np.unique(np.concatenate([before, after]))
        touched = touched[touched != 0]
        now = column.counts(touched)
        then = now - _occurrences(after, touched) + _occurrences(before, touched)
        hit = (then > limit) != (now > limit)
        return touched[hit], then, now

    def shared_crossed(self, before: np.ndarray, after: np.ndarray, max_shared: int) -> np.ndarray:
        """Row numbers holding an identifying value that became, or stopped being, shared
        by more than `max_shared` records (`before`/`after`: identifying rows that left and
        came)."""
        found = [
            self.ident_column(k).holders(
                self.crossed(self.ident_column(k), before[:, k], after[:, k], max_shared)[0]
            )
            for k in range(self.ident.shape[1])
        ]
        return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)

    def blocks_crossed(
        self,
        before: np.ndarray,
        after: np.ndarray,
        max_block: int,
        estimates_before: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers in a block that grew past, or shrank back to, `max_block` records;
        and per rule whether it was used before the change (`before`/`after`: key rows
        that left and came). With `estimates_before` (the predecessor's `pair_estimates`)
        this index's own are found from the touched blocks alone, not from every block."""
        found = []
        change = np.zeros(self.keys.shape[1], dtype=np.int64)  # pairs now - pairs before
        for r in range(self.keys.shape[1]):
            column = self.key_column(r)
            was, came = _block(before[:, r]), _block(after[:, r])
            hit, then, now = self.crossed(column, was, came, max_block)
            found.append(column.holders(hit))
            if self._across(r) or bool((before[:, r] & _ACROSS).any()):
                # an across rule: the touched blocks' pairs (one side x the other) now and
                # before the change, from their keys now and the keys that left and came
                touched = np.isin(self.keys[:, r] & ~_SIDE, np.concatenate([was, came]))
                now_keys = np.where(touched, self.keys[:, r], np.uint64(0))
                then_keys = _without(
                    np.concatenate([self.keys[touched, r], before[:, r]]), after[:, r]
                )
                change[r] = int(_across_pairs(now_keys, max_block)[1].sum()) - int(
                    _across_pairs(then_keys, max_block)[1].sum()
                )
            else:
                change[r] = int(_pairs_in(now, max_block).sum()) - int(
                    _pairs_in(then, max_block).sum()
                )
        if estimates_before is not None and max_block not in self._estimates:
            self._estimates[max_block] = np.asarray(estimates_before, dtype=np.int64) + change
        used_before: np.ndarray = self.pair_estimates(max_block) - change <= _MAX_PAIRS_PER_RULE
        rows = np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
        return rows, used_before

    def known_estimates(self) -> dict[int, np.ndarray]:
        """The `pair_estimates` computed so far, by `max_block` (to keep with the index)."""
        return dict(self._estimates)

    def with_estimates(self, estimates: Mapping[int, np.ndarray]) -> KeyIndex:
        """This index (its arrays shared) told its `pair_estimates`, as `known_estimates`
        gave them."""
        out = KeyIndex(self.ids, self.keys, self.ident)
        out._estimates = {int(k): np.asarray(v, np.int64) for k, v in estimates.items()}
        return out

    def neighbours(self, keys: np.ndarray, max_block: int) -> np.ndarray:
        """Ids of the indexed records sharing a usable block with any of these key rows."""
        found: list[np.ndarray] = []
        used = self.rules_used(max_block)
        for r in range(keys.shape[1]):
            if not used[r]:
                continue
            column = self.key_column(r)
            wanted = np.unique(keys[:, r])
            wanted = wanted[(wanted != 0) & (column.counts(_block(wanted)) <= max_block)]
            if not wanted.size:
                continue
            if self._across(r):  # the holders of the block on the other side
                if r not in self._raw:
                    self._raw[r] = _Column(self.keys[:, r])
                found.append(self._raw[r].holders(wanted ^ _SIDE))
            else:
                found.append(column.holders(wanted))
        if not found:
            return np.empty(0, dtype=np.int64)
        ids: np.ndarray = self.ids[np.unique(np.concatenate(found))]
        return ids


def blanked(frame: pd.DataFrame, ident: np.ndarray, shared: Sequence[np.ndarray]) -> pd.DataFrame:
    """Standardised records (`identity.standardise.standardise`, with their
    `identifying_hashes`) as a full run has them among all records: the values in `shared`
    (`KeyIndex.shared`) blanked, derived keys added."""
    frame = frame.copy()
    for k, column in enumerate(IDENTIFYING):
        if len(shared) > k and shared[k].size:
            hit = np.isin(ident[:, k], shared[k])
            if hit.any():
                frame.loc[hit, column] = None
    return add_derived_keys(frame)


def standardised_part(
    records: Sequence[Mapping[str, Any]], shared: Sequence[np.ndarray]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Some records standardised as a full run standardises them among all records (see
    `blanked`), and their identifying hashes (before blanking), for the index."""
    frame = standardise(records)
    ident = identifying_hashes(frame)
    return blanked(frame, ident, shared), ident


def local_pairs(
    keys: np.ndarray, usable: np.ndarray, touching: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (left < right, row numbers of `keys`) that share a usable key; with
    `touching` (a bool per row) only the pairs with at least one such row."""
    m = keys.shape[0]
    parts: list[np.ndarray] = []
    for r in range(keys.shape[1]):
        rows = np.flatnonzero(usable[:, r] & (keys[:, r] != 0))
        if rows.size < 2:
            continue
        blocks = _block(keys[:, r])
        order = rows[np.argsort(blocks[rows], kind="stable")]
        sorted_keys = blocks[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        sizes = np.diff(np.r_[starts, order.size])
        for size in np.unique(sizes[sizes >= 2]).tolist():
            members = order[starts[sizes == size][:, None] + np.arange(size)]
            members.sort(axis=1)
            i, j = np.triu_indices(size, k=1)
            a, b = members[:, i].ravel(), members[:, j].ravel()
            keep = ~_same_side(keys[a, r], keys[b, r])
            parts.append(a[keep].astype(np.int64) * m + b[keep])
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    encoded = np.unique(np.concatenate(parts))
    left, right = encoded // m, encoded % m
    if touching is not None:
        keep = touching[left] | touching[right]
        left, right = left[keep], right[keep]
    return left, right


def touching_pairs(
    keys: np.ndarray, usable: np.ndarray, touching: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of `local_pairs(keys, usable, touching)`, found from the `touching` rows'
    blocks alone (no pairs among the others are generated)."""
    m = keys.shape[0]
    parts: list[np.ndarray] = []
    for r in range(keys.shape[1]):
        rows = np.flatnonzero(usable[:, r] & (keys[:, r] != 0))
        if rows.size < 2:
            continue
        column = _Column(_block(keys[rows, r]))
        mine = rows[touching[rows]]
        if mine.size == 0:
            continue
        lo, hi = column.ranges(_block(keys[mine, r]))
        partners = rows[_expand(column.order, lo, hi)]
        owners = np.repeat(mine, hi - lo)
        keep = (partners != owners) & ~_same_side(keys[owners, r], keys[partners, r])
        a, b = owners[keep], partners[keep]
        parts.append(np.minimum(a, b).astype(np.int64) * m + np.maximum(a, b))
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    encoded = np.unique(np.concatenate(parts))
    return encoded // m, encoded % m


def bridges_of(ids: np.ndarray, scored: Scored, labels: np.ndarray, lower: float) -> np.ndarray:
    """(m x 2) record ids of the pairs scoring at least `lower` that ended in different
    clusters (review pairs, links cut apart, steward-separated pairs): with the members of
    its cluster, all an unchanged record links to — so a later run need not score it."""
    across = (scored.probability >= lower) & (labels[scored.left] != labels[scored.right])
    pairs = np.stack([ids[scored.left[across]], ids[scored.right[across]]], axis=1)
    return pairs.astype(np.int64).reshape(-1, 2)


def bridge_partners(bridges: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The records a bridge joins to any of `ids`."""
    if bridges.size == 0 or ids.size == 0:
        return np.empty(0, dtype=np.int64)
    left, right = np.isin(bridges[:, 0], ids), np.isin(bridges[:, 1], ids)
    return np.unique(np.concatenate([bridges[left, 1], bridges[right, 0]]))


def bridges_replaced(bridges: np.ndarray, touched: np.ndarray, new: np.ndarray) -> np.ndarray:
    """`bridges` without those touching `touched` ids, with `new` added."""
    keep = ~(np.isin(bridges[:, 0], touched) | np.isin(bridges[:, 1], touched))
    return np.concatenate([bridges[keep], new.reshape(-1, 2)]).astype(np.int64)


def rescore(model: Model, frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> Scored:
    """The pairs scored with a stored model (no estimation)."""
    return score(model, frame.reset_index(drop=True), left, right)


def recluster(
    frame: pd.DataFrame,
    scored: Scored,
    model: Model,
    spec: ModelSpec,
    *,
    previous_group: np.ndarray,
    must_link: Sequence[tuple[int, int]] = (),
    cannot_link: Sequence[tuple[int, int]] = (),
) -> Clustered:
    """Cluster the affected records (`frame`, rows 0..m-1) from their scored pairs exactly
    as a full run clusters: pairs inside small clusters completed, previous groups kept
    down to the lower threshold, conflicts cut, steward constraints honoured."""
    table = Standardised(frame=frame.reset_index(drop=True))
    decisions = Decisions(
        must_link=list(must_link), cannot_link=list(cannot_link), previous_group=previous_group
    )
    return LocalBackend().cluster(table, scored, model, spec, decisions)
